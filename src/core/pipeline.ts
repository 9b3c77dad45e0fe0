import type { Action, ActionKind } from './action.js';
import type { Clock } from './clock.js';
import { type Facts, type Fold, foldVerdicts, type Verdict } from './decision.js';
import { describeError } from './errors.js';
import type { SessionState } from './session.js';

/** What the caller presented to prove who it is. The in-process library and local CLI act as the host. */
export type Credentials =
  | { kind: 'host'; operator?: string }
  | { kind: 'bearer'; token: string; proof?: string }
  | { kind: 'certificate'; pem: string };

/** What a stage sees. Everything is read-only: a stage influences the rest only through its verdict. */
export interface StageContext {
  /** The action as patched by the stages before this one. */
  readonly action: Action;
  /** The action as the agent sent it. */
  readonly original: Action;
  /** SHA-256 of the canonical original action (agent, session, tool, args, content): what approvals bind to. */
  readonly actionHash: string;
  readonly session: SessionState;
  readonly clock: Clock;
  readonly credentials: Credentials;
  readonly facts: Readonly<Facts>;
  readonly prior: readonly Verdict[];
}

/** One step of the decision pipeline. */
export interface Stage {
  readonly name: string;
  /** Action kinds this stage judges; other kinds pass it by. Absent means all kinds. */
  readonly kinds?: readonly ActionKind[];
  run(ctx: StageContext): Verdict | Promise<Verdict>;
}

export interface PipelineResult extends Fold {
  verdicts: Verdict[];
  facts: Facts;
  action: Action;
}

/**
 * Runs stages in order, hands each the facts and patches of the ones before, and folds their verdicts.
 * The first deny ends the run: later stages would only judge an action that will not happen.
 * A stage that throws or returns something that is not a verdict is a deny with `internal.error` (fail closed).
 */
export class Pipeline {
  constructor(readonly stages: readonly Stage[]) {}

  async run(input: Omit<StageContext, 'action' | 'facts' | 'prior'> & { facts?: Facts }): Promise<PipelineResult> {
    const verdicts: Verdict[] = [];
    let facts: Facts = { ...input.facts };
    let action = input.original;
    for (const stage of this.stages) {
      if (stage.kinds && !stage.kinds.includes(action.kind)) continue;
      let verdict: Verdict;
      try {
        verdict = await stage.run({ ...input, action, facts, prior: verdicts });
        if (!isVerdict(verdict)) throw new Error('returned a value that is not a verdict');
      } catch (err) {
        verdict = {
          stage: stage.name,
          effect: 'deny',
          risk: 10,
          reasons: [{ code: 'internal.error', message: `stage ${stage.name} failed: ${describeError(err)}` }],
        };
      }
      verdicts.push(verdict);
      if (verdict.facts) facts = { ...facts, ...verdict.facts };
      if (verdict.patch) action = { ...action, ...verdict.patch };
      if (verdict.effect === 'deny') break;
    }
    return { ...foldVerdicts(verdicts), verdicts, facts, action };
  }
}

function isVerdict(v: unknown): v is Verdict {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.stage === 'string' &&
    (o.effect === 'allow' || o.effect === 'deny' || o.effect === 'review') &&
    typeof o.risk === 'number' &&
    Number.isFinite(o.risk) &&
    Array.isArray(o.reasons)
  );
}
