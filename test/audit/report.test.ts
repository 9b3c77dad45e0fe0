import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditEventInput } from '../../src/audit/event.js';
import { buildReport, type ComplianceReport } from '../../src/audit/report.js';
import type { VerifyResult } from '../../src/audit/verify.js';

const verified: VerifyResult = {
  ok: true,
  status: 'ok',
  events: 3,
  lastSeq: 3,
  lastHash: 'x'.repeat(64),
  unanchored: 0,
  unsigned: 0,
  unsignedFound: [],
  witnesses: [],
  message: 'ok',
};

const events = (inputs: AuditEventInput[]): AuditEvent[] =>
  inputs.map((e, i) => ({ ...e, seq: i + 1, ts: '2026-12-01T10:00:00.000Z', prev: '', hash: '' }));

const report = (framework: 'soc2' | 'pci' | 'iso27001', inputs: AuditEventInput[]) =>
  buildReport(framework, events(inputs), verified, {}, new Date());
const control = (r: ComplianceReport, id: string) => r.controls.find((c) => c.id === id)!;
const kind = (r: ComplianceReport, id: string, k: string) => control(r, id).evidence.find((e) => e.kind === k)!;

describe('compliance report evidence', () => {
  it('does not count an agent registration as incident response', () => {
    const r = report('soc2', [{ type: 'identity.agent_registered', agent: 'a' }]);
    expect(control(r, 'CC7.4').status).toBe('no_evidence');
    expect(control(r, 'CC6.2').status).toBe('evidence');
  });

  it('counts quarantines, alerts and incident status changes, but not a resume, as incident response', () => {
    const r = report('soc2', [
      { type: 'response.quarantined', agent: 'a' },
      { type: 'monitor.alert', agent: 'a' },
      { type: 'identity.agent_status_changed', agent: 'a', data: { from: 'active', to: 'compromised' } },
      { type: 'identity.agent_status_changed', agent: 'a', data: { from: 'suspended', to: 'active' } },
    ]);
    expect(control(r, 'CC7.4').status).toBe('evidence');
    expect(kind(r, 'CC7.4', 'incident_response').events).toBe(3);
  });

  it('counts a runtime grant as a grant, not also as a policy change', () => {
    const r = report('pci', [{ type: 'policy.grant_created', agent: 'a' }, { type: 'policy.loaded' }]);
    expect(kind(r, '7.2', 'grants').events).toBe(1);
    expect(kind(r, '7.2', 'policy_changes').events).toBe(1);
  });

  it('maps operator accounts and MCP pin events, and marks clock synchronization as partial', () => {
    const listing = (code: string) => ({
      type: 'decision',
      action: { kind: 'tool_listing', tool: 'fix.calc' },
      decision: 'deny' as const,
      reasons: [{ code, message: '' }],
    });
    const r = report('iso27001', [
      { type: 'operator.added', actor: 'host' },
      { type: 'mcp.pin.accepted' },
      listing('mcp.pin.violation'),
      listing('mcp.tool.poisoned'),
      listing('mcp.tool.not_visible'),
    ]);
    expect(kind(r, 'A.8.2', 'operator_access').events).toBe(1);
    // The pin acceptance and the two listing decisions on the tool's integrity; visibility is not integrity.
    expect(kind(r, 'A.8.32', 'tool_integrity').events).toBe(3);
    expect(control(r, 'A.8.17').partial).toMatch(/NTP/);
    expect(control(r, 'A.5.16').partial).toBeUndefined();
  });
});
