import type { ApprovalRecord } from './store.js';

/** The public view of an approval request (what humans review). */
export function approvalView(r: ApprovalRecord): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    agent: r.agent,
    session: r.session,
    tool: r.tool,
    args: r.action.args ?? null,
    ...(r.action.content !== undefined ? { contentLength: r.action.content.length } : {}),
    hash: r.hash,
    tier: r.tier,
    reasons: r.reasons,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    decidedAt: r.decidedAt === null ? null : new Date(r.decidedAt).toISOString(),
    approver: r.approver,
    reason: r.decisionReason,
    usedAt: r.usedAt === null ? null : new Date(r.usedAt).toISOString(),
    policyEpoch: r.epoch,
    dryRun: r.dryRun,
  };
}
