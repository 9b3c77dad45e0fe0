import type { ToolConfig } from '../config/sections/tools.js';
import type { Action } from '../core/action.js';
import { foldVerdicts, type Verdict } from '../core/decision.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import type { Approvals, DryRunner } from './store.js';

const STAGE = 'gate';

export interface GateOptions {
  approvals: Approvals;
  tools: Record<string, ToolConfig>;
  /** Longest wait for a dry run before the request is returned anyway. */
  dryRunTimeoutMs?: number;
}

/**
 * The approval gate. When the verdicts so far would fold to `review`, it looks for an approval bound to this
 * exact action (same SHA-256 of the canonical action): an approved, unused, unexpired one is consumed (single
 * use) and satisfies the review; a denied one denies; an expired one denies. Otherwise it opens (or reuses) a
 * pending request, within the approval-fatigue caps, and the decision carries its id as `approvalRequest`.
 */
export function createGateStage(opts: GateOptions): Stage {
  const { approvals } = opts;
  return {
    name: STAGE,
    async run(ctx: StageContext): Promise<Verdict> {
      const fold = foldVerdicts(ctx.prior);
      if (fold.effect !== 'review') return { stage: STAGE, effect: 'allow', risk: 0, reasons: [] };
      const epoch = ctx.facts.policyEpoch ?? 0;
      const found = approvals.lookup(ctx.actionHash);
      switch (found.kind) {
        case 'approved': {
          const used = approvals.consume(found.record.id);
          if (!used) break;
          // Flagged: an approved high-risk action is recorded durably before it runs.
          return {
            stage: STAGE,
            effect: 'allow',
            risk: 0,
            flag: true,
            approval: {
              id: used.id,
              approver: used.approver ?? 'unknown',
              ...(used.decisionReason ? { reason: used.decisionReason } : {}),
            },
            reasons: [
              {
                code: 'approval.granted',
                message: `approved by ${used.approver} for exactly these arguments (single use)`,
                ruleId: used.id,
              },
            ],
          };
        }
        case 'denied':
          return {
            stage: STAGE,
            effect: 'deny',
            risk: 0,
            reasons: [
              {
                code: 'approval.denied',
                message: `denied by ${found.record.approver}${found.record.decisionReason ? `: ${found.record.decisionReason}` : ''}`,
                ruleId: found.record.id,
              },
            ],
          };
        case 'expired':
          return {
            stage: STAGE,
            effect: 'deny',
            risk: 0,
            reasons: [
              {
                code: 'approval.expired',
                message: `approval ${found.record.id} expired before it was ${found.record.status === 'expired' && found.record.decidedAt ? 'used' : 'decided'}; ask again`,
                ruleId: found.record.id,
              },
            ],
          };
        case 'pending':
          return review(found.record.id, 'a request for this exact action is already waiting');
        case 'none':
          break;
      }
      const cap = approvals.fatigue(ctx.action.agent);
      if (cap) return { stage: STAGE, effect: 'deny', risk: 0, reasons: [cap] };
      const tool = ctx.action.tool ? opts.tools[ctx.action.tool] : undefined;
      const dryRunTool = tool?.destructive && tool.dry_run ? tool.dry_run : undefined;
      const rec = await approvals.request({
        action: ctx.original,
        hash: ctx.actionHash,
        tier: fold.tier,
        reasons: fold.reasons,
        epoch,
        ...(dryRunTool ? { dryRunTool } : {}),
      });
      const runner = approvals.dryRunner;
      if (dryRunTool && runner) {
        await runDry(approvals, rec.id, runner, { ...ctx.original, tool: dryRunTool }, opts.dryRunTimeoutMs ?? 10_000);
      }
      const other = approvals.approvedForOtherArguments(ctx.action, ctx.actionHash);
      const verdict = review(rec.id, 'a human must approve this exact action');
      if (other) {
        verdict.reasons.unshift({
          code: 'approval.arguments_changed',
          message: `approval ${other.id} covers other arguments of ${other.tool ?? other.action.kind}; these need their own approval`,
          ruleId: other.id,
        });
      }
      return verdict;
    },
  };
}

function review(id: string, why: string): Verdict {
  return {
    stage: STAGE,
    effect: 'review',
    risk: 0,
    reasons: [{ code: 'approval.required', message: `${why}: approval request ${id}`, ruleId: id }],
    facts: { approvalRequest: id },
  };
}

async function runDry(
  approvals: Approvals,
  id: string,
  runner: DryRunner,
  action: Action,
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      runner(action),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`dry run took longer than ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    approvals.attachDryRun(id, { result });
  } catch (err) {
    approvals.attachDryRun(id, { error: (err as Error).message });
  } finally {
    clearTimeout(timer);
  }
}
