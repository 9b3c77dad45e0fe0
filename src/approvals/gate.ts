import type { ToolConfig } from '../config/sections/tools.js';
import type { Action } from '../core/action.js';
import { foldVerdicts, type Reason, type Verdict } from '../core/decision.js';
import { COMMIT_OK } from '../core/effects.js';
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
 * The approval gate, the last judge. When the verdicts of every other stage fold to `review`, it looks for an
 * approval bound to this exact action (same SHA-256 of the canonical action): an approved, unused, unexpired one
 * satisfies the review and is consumed (single use) when the decision commits; a denied or expired one denies.
 * Otherwise the decision is `review` and, when it commits, a pending request is opened (within the
 * approval-fatigue caps) and the decision carries its id as `approvalRequest`. Judging opens and consumes nothing.
 */
export function createGateStage(opts: GateOptions): Stage {
  const { approvals } = opts;
  return {
    name: STAGE,
    async run(ctx: StageContext): Promise<Verdict> {
      const fold = foldVerdicts(ctx.prior);
      if (fold.effect !== 'review') return { stage: STAGE, effect: 'allow', risk: 0, reasons: [] };
      const epoch = ctx.facts.policyEpoch ?? 0;
      const found = await approvals.lookup(ctx.actionHash);
      switch (found.kind) {
        case 'approved': {
          const rec = found.record;
          // Flagged: an approved high-risk action is recorded durably before it runs.
          return {
            stage: STAGE,
            effect: 'allow',
            risk: 0,
            flag: true,
            approval: {
              id: rec.id,
              approver: rec.approver ?? 'unknown',
              ...(rec.decisionReason ? { reason: rec.decisionReason } : {}),
            },
            reasons: [
              {
                code: 'approval.granted',
                message: `approved by ${rec.approver} for exactly these arguments (single use)`,
                ruleId: rec.id,
              },
            ],
            effects: [
              {
                kind: 'approval.consume',
                on: ['allow'],
                summary: `use approval ${rec.id} (single use)`,
                commit: async () =>
                  (await approvals.consume(rec.id))
                    ? COMMIT_OK
                    : {
                        ok: false,
                        reason: {
                          code: 'approval.already_used',
                          message: `approval ${rec.id} was used or expired while this call was judged`,
                          ruleId: rec.id,
                        },
                      },
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
            effects: [
              {
                kind: 'approval.expire',
                on: ['deny'],
                summary: `record that approval ${found.record.id} expired`,
                commit: async () => {
                  await approvals.expire(found.record.id);
                  return COMMIT_OK;
                },
              },
            ],
            reasons: [
              {
                code: 'approval.expired',
                message: `approval ${found.record.id} expired before it was ${found.record.decidedAt ? 'used' : 'decided'}; ask again`,
                ruleId: found.record.id,
              },
            ],
          };
        case 'tampered':
          return {
            stage: STAGE,
            effect: 'deny',
            risk: 10,
            reasons: [
              {
                code: 'approval.tampered',
                message: `approval ${found.record.id} is marked approved in the store without a valid integrity tag: it was not granted through Gatehouse`,
                ruleId: found.record.id,
              },
            ],
          };
        case 'pending':
          return review(found.record.id, 'a request for this exact action is already waiting');
        case 'none':
          break;
      }
      const cap = await approvals.fatigue(ctx.action.agent);
      if (cap) return { stage: STAGE, effect: 'deny', risk: 0, reasons: [cap] };
      const tool = ctx.action.tool ? opts.tools[ctx.action.tool] : undefined;
      const dryRunTool = tool?.destructive && tool.dry_run ? tool.dry_run : undefined;
      const other = await approvals.approvedForOtherArguments(ctx.action, ctx.actionHash);
      const reasons: Reason[] = [];
      if (other) {
        reasons.push({
          code: 'approval.arguments_changed',
          message: `approval ${other.id} covers other arguments of ${other.tool ?? other.action.kind}; these need their own approval`,
          ruleId: other.id,
        });
      }
      reasons.push({ code: 'approval.required', message: 'a human must approve this exact action' });
      const original = ctx.original;
      const hash = ctx.actionHash;
      return {
        stage: STAGE,
        effect: 'review',
        risk: 0,
        reasons,
        effects: [
          {
            kind: 'approval.request',
            on: ['review'],
            summary: `open an approval request for ${original.tool ?? original.kind}${dryRunTool ? ` with a dry run of ${dryRunTool}` : ''}`,
            commit: async () => {
              const rec = await approvals.request({
                action: original,
                hash,
                tier: fold.tier,
                reasons: fold.reasons,
                epoch,
                ...(dryRunTool ? { dryRunTool } : {}),
              });
              const runner = approvals.dryRunner;
              if (dryRunTool && runner) {
                await runDry(
                  approvals,
                  rec.id,
                  runner,
                  { ...original, tool: dryRunTool },
                  opts.dryRunTimeoutMs ?? 10_000,
                );
              }
              return { ok: true, facts: { approvalRequest: rec.id } };
            },
          },
        ],
      };
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
    await approvals.attachDryRun(id, { result });
  } catch (err) {
    await approvals.attachDryRun(id, { error: (err as Error).message });
  } finally {
    clearTimeout(timer);
  }
}
