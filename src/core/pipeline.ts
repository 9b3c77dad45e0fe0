import { performance } from 'node:perf_hooks';
import type { Action, ActionKind } from './action.js';
import type { Clock } from './clock.js';
import { type Facts, type Fold, foldVerdicts, type Reason, type Verdict } from './decision.js';
import type { EffectKind, Outcome, PendingEffect } from './effects.js';
import { describeError, GatehouseError, StoreUnavailableError } from './errors.js';
import type { SessionState } from './session.js';
import type { SessionCodec } from './session-record.js';

/** What the caller presented to prove who it is. The in-process library and local CLI act as the host. */
export type Credentials =
  | { kind: 'host'; operator?: string }
  | { kind: 'bearer'; token: string; proof?: string }
  | { kind: 'certificate'; pem: string };

/**
 * What a stage sees. It is read-only in fact: the session refuses writes while stages judge and the facts are frozen. A stage
 * influences the rest only through its verdict (facts, patch) and changes state only through `effects`.
 */
export interface StageContext {
  /** The action as patched by the stages before this one. */
  readonly action: Action;
  /** The action as the agent sent it. */
  readonly original: Action;
  /** SHA-256 of the canonical original action (agent, session, tool, args, content): what approvals bind to. */
  readonly actionHash: string;
  /** Read while judging; changes only inside an effect's commit (writes while judging throw). */
  readonly session: SessionState;
  readonly clock: Clock;
  readonly credentials: Credentials;
  readonly facts: Readonly<Facts>;
  readonly prior: readonly Verdict[];
}

/** One step of the decision pipeline: a judge. */
export interface Stage {
  readonly name: string;
  /** Action kinds this stage judges; other kinds pass it by. Absent means all kinds. */
  readonly kinds?: readonly ActionKind[];
  /** How the state this stage keeps in `session.stageState` is stored and merged across gateways. */
  readonly sessionCodecs?: readonly SessionCodec[];
  run(ctx: StageContext): Verdict | Promise<Verdict>;
}

/** An effect as reported with the decision: what it would do and whether it was committed. */
export interface EffectRecord {
  stage: string;
  kind: EffectKind;
  summary: string;
  committed: boolean;
}

/** How long one stage judged: `start` is a `performance.now()` reading, so spans can be placed after the fact. */
export interface StageTiming {
  stage: string;
  start: number;
  ms: number;
}

export interface PipelineResult extends Fold {
  verdicts: Verdict[];
  facts: Facts;
  action: Action;
  effects: EffectRecord[];
  /** Per stage run, in order; stages skipped for the action kind or after a deny are absent. */
  timings: StageTiming[];
  /** Time spent committing effects (0 for explain). */
  commitMs: number;
}

export interface RunInput extends Omit<StageContext, 'action' | 'facts' | 'prior'> {
  facts?: Facts;
  /** Commit the effects the final decision allows (decide, the default), or only report them (explain, replay). */
  commit?: boolean;
  /**
   * Stores what the commit step changed in the session (merged into what other gateways committed), before the
   * approval is used or requested. A failure turns the decision into a deny with the error's code.
   */
  storeSession?: (session: SessionState) => Promise<void>;
}

/**
 * Conflict-prone effects commit first, cheapest to undo first; then the session's changes, applied to this
 * decision's copy and stored in one write (which can fail when the store is down); the approval, which cannot be
 * given back to the operator once used, is consumed last, and a request opened only after all of that held.
 */
const COMMIT_ORDER: Record<EffectKind, number> = {
  'nonce.use': 0,
  'limit.charge': 1,
  'grant.charge': 2,
  'transfer.spend': 3,
  'session.screen': 4,
  'session.provenance': 5,
  'session.label': 6,
  'approval.consume': 7,
  'approval.request': 8,
  'approval.expire': 8,
};
const SESSION_STORED_BEFORE = COMMIT_ORDER['approval.consume'];

/**
 * Judge, fold, commit. Runs the stages in order (each sees the facts and patches of the ones before), folds their
 * verdicts, and then commits exactly the effects whose `on` names the final outcome. The first deny ends the
 * judging: later stages would only judge an action that will not happen. A stage that throws or returns something
 * that is not a verdict is a deny with `internal.error` (fail closed); so is an effect whose commit throws. An
 * effect that finds the state moved since judging (a concurrent call took the last unit or the approval) turns
 * the decision into a deny, and the effects already committed are undone.
 */
export class Pipeline {
  constructor(readonly stages: readonly Stage[]) {}

  async run(input: RunInput): Promise<PipelineResult> {
    const verdicts: Verdict[] = [];
    let facts: Facts = { ...input.facts };
    let action = input.original;
    const base = {
      original: input.original,
      actionHash: input.actionHash,
      session: input.session,
      clock: input.clock,
      credentials: input.credentials,
    };
    const timings: StageTiming[] = [];
    for (const stage of this.stages) {
      if (stage.kinds && !stage.kinds.includes(action.kind)) continue;
      let verdict: Verdict;
      const start = performance.now();
      try {
        verdict = await stage.run({ ...base, action, facts: Object.freeze({ ...facts }), prior: verdicts });
        if (!isVerdict(verdict)) throw new Error('returned a value that is not a verdict');
      } catch (err) {
        verdict = internalError(stage.name, `stage ${stage.name} failed: ${describeError(err)}`, err);
      }
      timings.push({ stage: stage.name, start, ms: performance.now() - start });
      verdicts.push(verdict);
      if (verdict.facts) facts = { ...facts, ...verdict.facts };
      if (verdict.patch) action = { ...action, ...verdict.patch };
      if (verdict.effect === 'deny') break;
    }
    let fold = foldVerdicts(verdicts);
    const pending = verdicts.flatMap((v) => (v.effects ?? []).map((effect): Pending => ({ stage: v.stage, effect })));
    pending.sort((a, b) => COMMIT_ORDER[a.effect.kind] - COMMIT_ORDER[b.effect.kind]);
    const records: EffectRecord[] = pending.map((p) => ({
      stage: p.stage,
      kind: p.effect.kind,
      summary: p.effect.summary,
      committed: false,
    }));
    if (input.commit === false) return { ...fold, verdicts, facts, action, effects: records, timings, commitMs: 0 };

    const commitStart = performance.now();
    const outcome: Outcome = fold.effect;
    const before = input.session.checkpoint();
    const conflict = await commitAll(input.session, pending, records, outcome, input.storeSession);
    if (conflict) {
      // The judged outcome no longer holds; what a deny commits (flags, accumulated risk) still lands, and
      // nothing else this decision wrote to its copy of the session.
      input.session.restore(before);
      const denial: Verdict = { stage: conflict.stage, effect: 'deny', risk: 0, reasons: [conflict.reason] };
      verdicts.push(denial);
      fold = foldVerdicts(verdicts);
      await commitAll(input.session, pending, records, 'deny', input.storeSession);
    } else {
      for (const [i, p] of pending.entries()) if (records[i]!.committed && p.facts) facts = { ...facts, ...p.facts };
    }
    const commitMs = performance.now() - commitStart;
    return { ...fold, verdicts, facts, action, effects: records, timings, commitMs };
  }
}

interface Pending {
  stage: string;
  effect: PendingEffect;
  facts?: Facts;
}

async function commitAll(
  session: SessionState,
  pending: Pending[],
  records: EffectRecord[],
  outcome: Outcome,
  storeSession: ((session: SessionState) => Promise<void>) | undefined,
): Promise<{ stage: string; reason: Reason } | undefined> {
  const done: number[] = [];
  let stored = storeSession === undefined;
  // One step past the last effect, so the session is stored even when no approval effect follows.
  for (let i = 0; i <= pending.length; i++) {
    const p = pending[i];
    let storing = false;
    let reason: Reason | undefined;
    try {
      if (!stored && (p === undefined || COMMIT_ORDER[p.effect.kind] >= SESSION_STORED_BEFORE)) {
        stored = storing = true;
        await storeSession!(session);
        storing = false;
      }
      if (p === undefined) break;
      if (records[i]!.committed || !p.effect.on.includes(outcome)) continue;
      const r = await session.writing(() => p.effect.commit());
      if (r.ok) {
        records[i]!.committed = true;
        if (r.facts) p.facts = r.facts;
        done.push(i);
        continue;
      }
      reason = r.reason;
    } catch (err) {
      const what = storing || p === undefined ? 'the session' : p.effect.kind;
      reason = { code: failureCode(err), message: `committing ${what} failed: ${describeError(err)}` };
    }
    for (const j of done.reverse()) {
      try {
        await session.writing(async () => pending[j]!.effect.undo?.());
      } catch {
        // An undo that fails leaves a unit spent: the safe side of a limit.
      }
      records[j]!.committed = false;
    }
    return { stage: storing || p === undefined ? 'session' : p.stage, reason };
  }
  return undefined;
}

function internalError(stage: string, message: string, err: unknown): Verdict {
  return { stage, effect: 'deny', risk: 10, reasons: [{ code: failureCode(err), message }] };
}

/**
 * A shared store that cannot be reached is an outage to alert on, not a bug: it keeps its own stable code, and so
 * does a stored session that cannot be used (`session.*`).
 */
function failureCode(err: unknown): string {
  if (err instanceof StoreUnavailableError) return 'store.unavailable';
  if (err instanceof GatehouseError && err.code.startsWith('session.')) return err.code;
  return 'internal.error';
}

function isVerdict(v: unknown): v is Verdict {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.stage === 'string' &&
    (o.effect === 'allow' || o.effect === 'deny' || o.effect === 'review') &&
    typeof o.risk === 'number' &&
    Number.isFinite(o.risk) &&
    Array.isArray(o.reasons) &&
    (o.effects === undefined || Array.isArray(o.effects))
  );
}
