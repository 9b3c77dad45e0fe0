import type { AuditEvent } from '../audit/event.js';

export interface Digest {
  since: string;
  until: string;
  events: number;
  decisions: { allow: number; deny: number; review: number };
  topReasons: Array<{ code: string; count: number }>;
  topDeniedAgents: Array<{ agent: string; denies: number }>;
  topTools: Array<{ tool: string; calls: number }>;
  approvals: { requested: number; granted: number; denied: number; expired: number };
  alerts: Array<{ rule: string; count: number }>;
  quarantines: Array<{ agent: string; at: string; reason: string }>;
  agentChanges: number;
  newAgents: string[];
}

const TOP = 10;

function top<K extends string>(m: Map<string, number>, key: K): Array<Record<K, string> & { count: number }> {
  return [...m]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP)
    .map(([k, count]) => ({ [key]: k, count }) as Record<K, string> & { count: number });
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/**
 * The weekly security digest: what was decided, who was denied most and why, approvals, alerts and quarantines
 * over a period. Pure over the events (pass `queryLog(dir, { since, until })`), so the CLI
 * (`gatehouse audit digest --since 7d`) and the console build the same thing.
 */
export function buildDigest(events: readonly AuditEvent[], period: { since: number; until: number }): Digest {
  const decisions = { allow: 0, deny: 0, review: 0 };
  const reasons = new Map<string, number>();
  const denied = new Map<string, number>();
  const tools = new Map<string, number>();
  const alerts = new Map<string, number>();
  const approvals = { requested: 0, granted: 0, denied: 0, expired: 0 };
  const quarantines: Digest['quarantines'] = [];
  const newAgents: string[] = [];
  let agentChanges = 0;
  for (const e of events) {
    switch (e.type) {
      case 'decision':
        if (!e.decision) break;
        decisions[e.decision] += 1;
        if (typeof e.action?.tool === 'string') bump(tools, e.action.tool);
        if (e.decision !== 'allow') for (const r of e.reasons ?? []) bump(reasons, r.code);
        if (e.decision === 'deny' && e.agent) bump(denied, e.agent);
        break;
      case 'approval.requested':
        approvals.requested += 1;
        break;
      case 'approval.granted':
        approvals.granted += 1;
        break;
      case 'approval.denied':
        approvals.denied += 1;
        break;
      case 'approval.expired':
        approvals.expired += 1;
        break;
      case 'monitor.alert':
        bump(alerts, String(e.data?.rule ?? 'unknown'));
        break;
      case 'response.quarantined':
        quarantines.push({ agent: e.agent ?? '', at: e.ts, reason: String(e.data?.reason ?? '').slice(0, 300) });
        break;
      case 'identity.agent_registered':
        if (e.agent) newAgents.push(e.agent);
        agentChanges += 1;
        break;
      default:
        if (e.type.startsWith('identity.agent_')) agentChanges += 1;
    }
  }
  return {
    since: new Date(period.since).toISOString(),
    until: new Date(period.until).toISOString(),
    events: events.length,
    decisions,
    topReasons: top(reasons, 'code'),
    topDeniedAgents: top(denied, 'agent').map(({ agent, count }) => ({ agent, denies: count })),
    topTools: top(tools, 'tool').map(({ tool, count }) => ({ tool, calls: count })),
    approvals,
    alerts: top(alerts, 'rule'),
    quarantines,
    agentChanges,
    newAgents,
  };
}

/** The digest as Markdown; values from the log are escaped so an agent or tool name cannot forge structure. */
export function digestMarkdown(d: Digest): string {
  const md = (s: string) => s.replace(/[\\`*_[\]|<>]/g, '\\$&').replace(/\r?\n/g, ' ');
  const list = <T>(xs: T[], f: (x: T) => string) => (xs.length === 0 ? ['- none'] : xs.map((x) => `- ${f(x)}`));
  return [
    `# Gatehouse security digest`,
    '',
    `${d.since} to ${d.until}: ${d.events} audit events.`,
    '',
    `Decisions: ${d.decisions.allow} allowed, ${d.decisions.deny} denied, ${d.decisions.review} sent for review.`,
    '',
    '## Top deny and review reasons',
    ...list(d.topReasons, (r) => `${md(r.code)}: ${r.count}`),
    '',
    '## Most denied agents',
    ...list(d.topDeniedAgents, (a) => `${md(a.agent)}: ${a.denies}`),
    '',
    '## Approvals',
    `- requested ${d.approvals.requested}, granted ${d.approvals.granted}, denied ${d.approvals.denied}, expired ${d.approvals.expired}`,
    '',
    '## Alerts',
    ...list(d.alerts, (a) => `${md(a.rule)}: ${a.count}`),
    '',
    '## Quarantines',
    ...list(d.quarantines, (q) => `${md(q.at)} ${md(q.agent)}: ${md(q.reason)}`),
    '',
    `Agent changes: ${d.agentChanges}; new agents: ${d.newAgents.length === 0 ? 'none' : d.newAgents.map(md).join(', ')}.`,
    '',
  ].join('\n');
}
