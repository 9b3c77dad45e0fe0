import type { Action } from './action.js';
import type { PendingEffect } from './effects.js';

export type Effect = 'allow' | 'deny' | 'review';
export type Tier = 'low' | 'medium' | 'high';

/** Why a stage decided what it did. `code` is stable (`screen.override.ignore_previous`), `message` is for humans. */
export interface Reason {
  code: string;
  message: string;
  ruleId?: string;
  /** A short excerpt or description of what matched; never a secret value. */
  evidence?: string;
}

/** An approval that satisfies the review verdicts of this very action. */
export interface ApprovalRef {
  id: string;
  approver: string;
  reason?: string;
}

/** Who is acting, as established by the authenticate stage (or the host, in process). */
export interface Principal {
  agent: string;
  roles: string[];
  method: 'host' | 'token' | 'certificate';
  tokenId?: string;
  generation?: number;
  /** True when the caller proved possession of its key for this very request. */
  proofOfPossession?: boolean;
}

/**
 * Facts a stage establishes for the stages after it. Data flows one way: a stage reads the facts
 * of the stages before it from the context, never their internals.
 */
export interface Facts {
  principal?: Principal;
  /** Injection score of the action's content (0..10), from the screen stage. */
  screenScore?: number;
  /**
   * Set by the screen stage for a `tool_listing` whose content reached `review_at`: its grade under the source's
   * thresholds and the finding categories (`override`, `exfiltration`, …), which the catalogue judges.
   */
  screenAlert?: { level: 'review' | 'block'; categories: readonly string[] };
  /** Policy epoch the authorization stage decided under. */
  policyEpoch?: number;
  /** Tool definition tier from the catalogue. */
  toolTier?: Tier;
  /** Sandbox profile the tool runs in, if any. */
  sandboxProfile?: string;
  /** How far the agent's behaviour in the current window is above its own baseline (max z-score, 0..10). */
  anomalyScore?: number;
  /** Id of the pending approval request the gate created for a `review` decision. */
  approvalRequest?: string;
}

/** Changes a stage makes to the action for the stages after it and for the caller (redaction). */
export interface ActionPatch {
  content?: string;
  args?: Record<string, unknown>;
}

/** One stage's judgement. */
export interface Verdict {
  stage: string;
  effect: Effect;
  /** 0..10 */
  risk: number;
  reasons: Reason[];
  /** A tier this stage assigns or raises to; the decision's tier is the highest. */
  tier?: Tier;
  /** Allowed, but worth a look: recorded in the audit log as flagged. */
  flag?: boolean;
  facts?: Facts;
  patch?: ActionPatch;
  approval?: ApprovalRef;
  /** What this stage would change; committed only if the final decision allows it (see `core/effects.ts`). */
  effects?: PendingEffect[];
}

/** The fold of all verdicts: what the caller acts on. */
export interface Decision {
  id: string;
  effect: Effect;
  tier: Tier;
  risk: number;
  flagged: boolean;
  reasons: Reason[];
  verdicts: Verdict[];
  approval?: ApprovalRef;
  /** Id of the pending approval request when `effect` is `review`. */
  approvalRequest?: string;
  policyEpoch: number;
  /** Sequence number of the audit event recording this decision. */
  auditSeq: number;
  /** The action after every stage's patches (redacted content and arguments). */
  action: Action;
}

const TIER_RANK: Record<Tier, number> = { low: 0, medium: 1, high: 2 };

export function maxTier(a: Tier, b: Tier): Tier {
  return TIER_RANK[a] >= TIER_RANK[b] ? a : b;
}

export function tierRank(t: Tier): number {
  return TIER_RANK[t];
}

export interface Fold {
  effect: Effect;
  tier: Tier;
  risk: number;
  flagged: boolean;
  reasons: Reason[];
  approval?: ApprovalRef;
}

/**
 * Folds verdicts: any deny wins; else a high tier or any review asks a human, unless a verdict carries
 * an approval bound to this action; else allow. Medium tier allows and flags.
 */
export function foldVerdicts(verdicts: readonly Verdict[]): Fold {
  let tier: Tier = 'low';
  let risk = 0;
  let deny = false;
  let review = false;
  let flagged = false;
  let approval: ApprovalRef | undefined;
  const reasons: Reason[] = [];
  for (const v of verdicts) {
    if (v.tier) tier = maxTier(tier, v.tier);
    risk = Math.max(risk, v.risk);
    if (v.effect === 'deny') deny = true;
    else if (v.effect === 'review') review = true;
    if (v.flag) flagged = true;
    if (v.approval) approval = v.approval;
    reasons.push(...v.reasons);
  }
  if (tier === 'high') review = true;
  if (tier === 'medium') flagged = true;
  const effect: Effect = deny ? 'deny' : review && !approval ? 'review' : 'allow';
  return { effect, tier, risk: Math.min(10, risk), flagged, reasons, ...(approval && !deny ? { approval } : {}) };
}
