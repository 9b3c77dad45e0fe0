import type { AuditEvent } from './event.js';
import type { VerifyResult } from './verify.js';

export type Framework = 'soc2' | 'iso27001' | 'gdpr' | 'hipaa' | 'pci';
export const FRAMEWORKS: readonly Framework[] = ['soc2', 'iso27001', 'gdpr', 'hipaa', 'pci'];

type EvidenceKind =
  | 'identity_lifecycle'
  | 'access_decisions'
  | 'human_approvals'
  | 'grants'
  | 'policy_changes'
  | 'detections'
  | 'data_protection'
  | 'containment'
  | 'incident_response'
  | 'operator_access'
  | 'tool_integrity'
  | 'log_integrity'
  | 'time_source';

/** Status changes that are a response to an incident, not routine lifecycle. */
const INCIDENT_STATUSES = new Set(['quarantined', 'compromised', 'revoked', 'suspended']);

const EVIDENCE: Record<EvidenceKind, { title: string; matches: (e: AuditEvent) => boolean }> = {
  identity_lifecycle: {
    title: 'Agent identity lifecycle: registration, keys, certificates, tokens, revocation',
    matches: (e) => e.type.startsWith('identity.'),
  },
  access_decisions: {
    title: 'Per-action authorization decisions with reasons and policy epoch',
    matches: (e) => e.type === 'decision',
  },
  human_approvals: {
    title: 'Human approvals bound to exact arguments',
    matches: (e) => e.type.startsWith('approval.'),
  },
  grants: {
    title: 'Runtime grants, delegation and revocation',
    matches: (e) => e.type.startsWith('grant.') || e.type.startsWith('policy.grant'),
  },
  policy_changes: {
    title: 'Policy and configuration changes (epochs)',
    matches: (e) => e.type.startsWith('policy.') && !e.type.startsWith('policy.grant'),
  },
  detections: {
    title: 'Detections: injection findings, denials, anomalies',
    matches: (e) =>
      e.type.startsWith('monitor.') ||
      e.type.startsWith('screen.') ||
      (e.type === 'decision' && (e.reasons ?? []).some((r) => r.code.startsWith('screen.'))),
  },
  data_protection: {
    title: 'Secret and PII redaction, exfiltration blocks, credential use by handle',
    matches: (e) =>
      e.type.startsWith('redact.') ||
      e.type.startsWith('credentials.') ||
      (e.reasons ?? []).some((r) => r.code.startsWith('redact.')),
  },
  containment: { title: 'Sandboxed execution and egress control', matches: (e) => e.type.startsWith('sandbox.') },
  incident_response: {
    title: 'Incident response: quarantines, restores, alert actions, agents suspended, revoked or marked compromised',
    matches: (e) =>
      e.type.startsWith('response.') ||
      e.type === 'monitor.alert' ||
      e.type === 'identity.refresh_reuse_detected' ||
      (e.type === 'identity.agent_status_changed' &&
        INCIDENT_STATUSES.has(String((e.data as { to?: unknown } | undefined)?.to))),
  },
  operator_access: {
    title: 'Operator accounts for the admin API and dashboard: added, revoked',
    matches: (e) => e.type.startsWith('operator.'),
  },
  tool_integrity: {
    title: 'Tool definition integrity: MCP pins, rug pulls, poisoned or shadowed tools',
    // Pin bookkeeping, and the tool_listing decisions that judged a change, poisoning or shadowing (the MCP
    // proxy's decisions go through decide() and are recorded as decisions).
    matches: (e) =>
      e.type.startsWith('mcp.pin.') ||
      (e.type === 'decision' &&
        (e.action as { kind?: unknown } | undefined)?.kind === 'tool_listing' &&
        (e.reasons ?? []).some((r) => /^mcp\.(pin|tool\.poisoned|tool\.shadowed|shadowing)\b/.test(r.code))),
  },
  log_integrity: { title: 'Tamper-evident log: hash chain and signed checkpoint verified', matches: () => false },
  time_source: {
    title:
      "Timestamp on every record (UTC, ISO 8601); clock synchronization itself is the host's (NTP evidence comes from elsewhere)",
    matches: (e) => typeof e.ts === 'string',
  },
};

interface Control {
  id: string;
  title: string;
  evidence: EvidenceKind[];
  /** What the log cannot show for this control: the auditor needs evidence from elsewhere too. */
  partial?: string;
}

const CLOCK_SYNC = 'the log shows timestamps, not that the host clock was synchronized: add NTP/chrony evidence';

/** Control ids as known from the standards; confirm against the licensed texts before publishing a report. */
const CATALOG: Record<Framework, { name: string; controls: Control[] }> = {
  soc2: {
    name: 'SOC 2 (Trust Services Criteria 2017)',
    controls: [
      { id: 'CC6.1', title: 'Logical access security', evidence: ['identity_lifecycle', 'access_decisions'] },
      {
        id: 'CC6.2',
        title: 'Registration and authorization of users',
        evidence: ['identity_lifecycle', 'operator_access'],
      },
      {
        id: 'CC6.3',
        title: 'Role-based access, least privilege, removal',
        evidence: ['access_decisions', 'grants', 'identity_lifecycle'],
      },
      { id: 'CC6.7', title: 'Restriction of data transmission', evidence: ['data_protection', 'containment'] },
      {
        id: 'CC7.2',
        title: 'Monitoring of system components for anomalies',
        evidence: ['detections', 'log_integrity', 'time_source'],
      },
      { id: 'CC7.3', title: 'Evaluation of security events', evidence: ['detections', 'human_approvals'] },
      { id: 'CC7.1', title: 'Detection of configuration changes', evidence: ['tool_integrity', 'policy_changes'] },
      { id: 'CC7.4', title: 'Response to security incidents', evidence: ['incident_response'] },
      { id: 'CC8.1', title: 'Change management', evidence: ['policy_changes', 'tool_integrity'] },
    ],
  },
  iso27001: {
    name: 'ISO/IEC 27001:2022 Annex A',
    controls: [
      { id: 'A.5.15', title: 'Access control', evidence: ['access_decisions', 'policy_changes'] },
      { id: 'A.5.16', title: 'Identity management', evidence: ['identity_lifecycle'] },
      { id: 'A.5.17', title: 'Authentication information', evidence: ['identity_lifecycle'] },
      { id: 'A.5.18', title: 'Access rights', evidence: ['grants', 'access_decisions'] },
      { id: 'A.5.26', title: 'Response to information security incidents', evidence: ['incident_response'] },
      { id: 'A.5.28', title: 'Collection of evidence', evidence: ['log_integrity'] },
      { id: 'A.5.33', title: 'Protection of records', evidence: ['log_integrity'] },
      { id: 'A.5.34', title: 'Privacy and protection of PII', evidence: ['data_protection'] },
      {
        id: 'A.8.2',
        title: 'Privileged access rights',
        evidence: ['operator_access', 'human_approvals', 'access_decisions'],
      },
      { id: 'A.8.5', title: 'Secure authentication', evidence: ['identity_lifecycle'] },
      { id: 'A.8.15', title: 'Logging', evidence: ['log_integrity', 'access_decisions'] },
      { id: 'A.8.16', title: 'Monitoring activities', evidence: ['detections'] },
      { id: 'A.8.17', title: 'Clock synchronization', evidence: ['time_source'], partial: CLOCK_SYNC },
      { id: 'A.8.32', title: 'Change management', evidence: ['policy_changes', 'tool_integrity'] },
    ],
  },
  hipaa: {
    name: 'HIPAA Security Rule (45 CFR 164)',
    controls: [
      {
        id: '164.308(a)(1)(ii)(D)',
        title: 'Information system activity review',
        evidence: ['detections', 'access_decisions'],
      },
      { id: '164.308(a)(6)(ii)', title: 'Security incident response and reporting', evidence: ['incident_response'] },
      { id: '164.312(a)(1)', title: 'Access control', evidence: ['access_decisions'] },
      { id: '164.312(a)(2)(i)', title: 'Unique user identification', evidence: ['identity_lifecycle'] },
      { id: '164.312(b)', title: 'Audit controls', evidence: ['log_integrity', 'access_decisions'] },
      { id: '164.312(c)(1)', title: 'Integrity', evidence: ['log_integrity'] },
      { id: '164.312(d)', title: 'Person or entity authentication', evidence: ['identity_lifecycle'] },
      { id: '164.312(e)(1)', title: 'Transmission security', evidence: ['data_protection', 'containment'] },
    ],
  },
  pci: {
    name: 'PCI DSS v4.0',
    controls: [
      {
        id: '7.2',
        title: 'Access is assigned and managed by need to know',
        evidence: ['access_decisions', 'policy_changes', 'grants'],
      },
      { id: '8.2', title: 'Identification of users and accounts', evidence: ['identity_lifecycle'] },
      { id: '8.3', title: 'Strong authentication', evidence: ['identity_lifecycle'] },
      { id: '8.6', title: 'System and application accounts', evidence: ['identity_lifecycle'] },
      {
        id: '10.2.1',
        title: 'Audit logs capture events',
        evidence: ['access_decisions', 'identity_lifecycle', 'policy_changes'],
      },
      {
        id: '10.2.2',
        title: 'Audit log records contain required details',
        evidence: ['access_decisions', 'time_source'],
      },
      { id: '10.3.2', title: 'Audit logs protected from modification', evidence: ['log_integrity'] },
      { id: '10.3.4', title: 'File integrity monitoring on audit logs', evidence: ['log_integrity'] },
      { id: '10.4', title: 'Audit logs reviewed to identify anomalies', evidence: ['detections'] },
      { id: '10.6', title: 'Time synchronization', evidence: ['time_source'], partial: CLOCK_SYNC },
      { id: '10.7', title: 'Failures of critical security controls detected', evidence: ['detections', 'containment'] },
      {
        id: '12.10',
        title: 'Suspected and confirmed security incidents are responded to',
        evidence: ['incident_response'],
      },
    ],
  },
  gdpr: {
    name: 'GDPR',
    controls: [
      { id: 'Art. 5(1)(f)', title: 'Integrity and confidentiality', evidence: ['log_integrity', 'data_protection'] },
      { id: 'Art. 5(2)', title: 'Accountability', evidence: ['log_integrity', 'access_decisions'] },
      {
        id: 'Art. 25',
        title: 'Data protection by design and by default',
        evidence: ['access_decisions', 'data_protection'],
      },
      { id: 'Art. 30', title: 'Records of processing activities', evidence: ['access_decisions'] },
      {
        id: 'Art. 32',
        title: 'Security of processing',
        evidence: ['identity_lifecycle', 'access_decisions', 'log_integrity', 'containment'],
      },
      {
        id: 'Art. 33',
        title: 'Notification of a personal data breach (scope)',
        evidence: ['detections', 'incident_response'],
        partial: 'the log helps scope a breach; the notification itself is outside Gatehouse',
      },
    ],
  },
};

export interface ComplianceReport {
  framework: Framework;
  name: string;
  generatedAt: string;
  period: { since: string | null; until: string | null };
  integrity: {
    ok: boolean;
    status: string;
    events: number;
    checkpointSigned: boolean;
    signatureValid: boolean | null;
    message: string;
  };
  summary: {
    events: number;
    decisions: Record<string, number>;
    agents: number;
    controlsWithEvidence: number;
    controls: number;
  };
  controls: {
    id: string;
    title: string;
    status: 'evidence' | 'no_evidence';
    evidence: { kind: string; title: string; events: number; sampleSeqs: number[] }[];
    /** Set when the log alone cannot evidence the control. */
    partial?: string;
  }[];
  disclaimer: string;
}

/** Builds a compliance report for a framework from the audit events of a period and the chain verification. */
export function buildReport(
  framework: Framework,
  events: readonly AuditEvent[],
  integrity: VerifyResult,
  period: { since?: number; until?: number },
  now: Date,
): ComplianceReport {
  const cat = CATALOG[framework];
  const decisions: Record<string, number> = {};
  const agents = new Set<string>();
  for (const e of events) {
    if (e.type === 'decision' && e.decision) decisions[e.decision] = (decisions[e.decision] ?? 0) + 1;
    if (e.agent) agents.add(e.agent);
  }
  const evidenceFor = (kind: EvidenceKind) => {
    if (kind === 'log_integrity') {
      return {
        kind,
        title: EVIDENCE[kind].title,
        events: integrity.ok ? integrity.events : 0,
        sampleSeqs: integrity.ok ? [integrity.lastSeq] : [],
      };
    }
    const matching = events.filter(EVIDENCE[kind].matches);
    return {
      kind,
      title: EVIDENCE[kind].title,
      events: matching.length,
      sampleSeqs: matching.slice(-3).map((e) => e.seq),
    };
  };
  const controls = cat.controls.map((c) => {
    const evidence = c.evidence.map(evidenceFor);
    return {
      id: c.id,
      title: c.title,
      status: evidence.some((x) => x.events > 0) ? ('evidence' as const) : ('no_evidence' as const),
      evidence,
      ...(c.partial ? { partial: c.partial } : {}),
    };
  });
  return {
    framework,
    name: cat.name,
    generatedAt: now.toISOString(),
    period: {
      since: period.since !== undefined ? new Date(period.since).toISOString() : null,
      until: period.until !== undefined ? new Date(period.until).toISOString() : null,
    },
    integrity: {
      ok: integrity.ok,
      status: integrity.status,
      events: integrity.events,
      checkpointSigned: integrity.checkpoint?.signed ?? false,
      signatureValid: integrity.checkpoint?.signatureValid ?? null,
      message: integrity.message,
    },
    summary: {
      events: events.length,
      decisions,
      agents: agents.size,
      controlsWithEvidence: controls.filter((c) => c.status === 'evidence').length,
      controls: controls.length,
    },
    controls,
    disclaimer:
      'Evidence gathered automatically from the Gatehouse audit log. Control identifiers follow the standards as published; confirm the mapping with your auditor.',
  };
}

/** The report as Markdown, for people. */
export function reportMarkdown(r: ComplianceReport): string {
  const lines = [
    `# ${r.name}: evidence from the Gatehouse audit log`,
    '',
    `Generated ${r.generatedAt}; period ${r.period.since ?? 'start'} to ${r.period.until ?? 'now'}.`,
    '',
    `**Log integrity:** ${r.integrity.ok ? 'verified' : `FAILED (${r.integrity.status})`}: ${r.integrity.message}; checkpoint ${
      r.integrity.checkpointSigned
        ? `signed${r.integrity.signatureValid === true ? ' and signature valid' : ''}`
        : 'unsigned'
    }.`,
    '',
    `Events in period: ${r.summary.events}; decisions: ${
      Object.entries(r.summary.decisions)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'none'
    }; agents: ${r.summary.agents}; controls with evidence: ${r.summary.controlsWithEvidence} of ${r.summary.controls}.`,
    '',
    '| control | title | status | evidence |',
    '|---|---|---|---|',
    ...r.controls.map(
      (c) =>
        `| ${c.id} | ${c.title} | ${c.status === 'evidence' ? 'evidence' : '**no evidence**'} | ${c.evidence
          .map((e) => `${e.kind}: ${e.events}${e.sampleSeqs.length ? ` (seq ${e.sampleSeqs.join(', ')})` : ''}`)
          .join('; ')}${c.partial ? ` (partial: ${c.partial})` : ''} |`,
    ),
    '',
    `_${r.disclaimer}_`,
    '',
  ];
  return lines.join('\n');
}
