import type { Facts, Reason } from './decision.js';

/** The final outcome of a decision, which decides which pending effects are committed. */
export type Outcome = 'allow' | 'review' | 'deny';

/** What a stage would change if the decision lets it. Effects are judged first and committed last, in one step. */
export type EffectKind =
  | 'limit.charge'
  | 'grant.charge'
  | 'approval.consume'
  | 'approval.request'
  | 'approval.expire'
  | 'session.label'
  | 'session.screen'
  | 'session.provenance'
  | 'nonce.use'
  | 'transfer.spend';

/** The result of committing one effect: a conflict (state moved since judging) turns the decision into a deny. */
export type CommitResult = { ok: true; facts?: Facts } | { ok: false; reason: Reason };

/**
 * One effect a stage would have. A stage never changes shared state while judging; it returns effects, and the
 * pipeline commits exactly those whose `on` contains the final outcome, after the fold and the approval gate.
 * `explain` and `replay` judge the same way and commit nothing.
 */
export interface PendingEffect {
  readonly kind: EffectKind;
  /** The final outcomes under which this effect is committed. */
  readonly on: readonly Outcome[];
  /** What it would do, for explanations; never a secret value. */
  readonly summary: string;
  /** Applies it atomically (check and set). `ok: false` when a concurrent decision took what this one judged free. */
  commit(): CommitResult | Promise<CommitResult>;
  /** Reverts a committed effect when a later effect of the same commit step conflicts. */
  undo?(): void | Promise<void>;
}

export const COMMIT_OK: CommitResult = { ok: true };
