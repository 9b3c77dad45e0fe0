import { z } from 'zod';
import { GatehouseError } from './errors.js';
import type { LabelEntry, SessionData, TrustLabel } from './session.js';

/**
 * How one stage's session state (`session.stageState.get(key)`) is stored and combined. A stage that keeps
 * state registers one for its key; core calls it by key and never knows the type. `merge` must be a join
 * (commutative, associative, idempotent, never losing what either side holds within the stage's bounds): two
 * gateways that commit on one session concurrently both land.
 */
export interface SessionCodec<T = unknown> {
  readonly key: string;
  /** A JSON-safe form of the state. */
  encode(value: T): unknown;
  /** Parses a stored form, validating it; throws on anything that is not a state this codec wrote. */
  decode(json: unknown): T;
  merge(a: T, b: T): T;
}

/** A stored session record that cannot be used: a deny with this code, never a silently empty session. */
export class SessionRecordError extends GatehouseError {
  constructor(code: 'session.corrupt' | 'session.no_codec', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const LABELS = ['untrusted_input', 'untrusted_instructions', 'private_data', 'secret_seen', 'flagged'] as const;

const RecordSchema = z
  .object({
    v: z.literal(1),
    createdAt: z.number().finite(),
    labels: z.partialRecord(
      z.enum(LABELS),
      z.object({ cause: z.string().max(200).optional(), at: z.number().finite() }).strict(),
    ),
    injection: z.object({ score: z.number().min(0).max(10), at: z.number().finite() }).strict(),
    counters: z.record(z.string().max(200), z.number().finite()),
    state: z.record(z.string().max(100), z.unknown()),
  })
  .strict();

/**
 * The codecs of every stage that keeps session state, and what core itself merges: labels are a union (the
 * earliest cause kept), the injection risk is the greater after decay (both decay by the same factor, so the
 * comparison holds at any later time), counters are added as deltas by the store. `halfLifeMs` is the
 * screening half-life the injection risk decays with.
 */
export class SessionCodecs {
  private readonly byKey = new Map<string, SessionCodec>();

  constructor(
    codecs: readonly SessionCodec[],
    private readonly halfLifeMs: number,
  ) {
    for (const c of codecs) {
      if (this.byKey.has(c.key)) throw new Error(`two session codecs for ${c.key}`);
      this.byKey.set(c.key, c);
    }
  }

  /** The stored text of a session's state (counters as they stand; the store adds deltas itself). */
  encode(data: SessionData): string {
    const state: Record<string, unknown> = {};
    for (const [key, value] of [...data.state].sort((x, y) => (x[0] < y[0] ? -1 : 1)))
      state[key] = this.codec(key).encode(value);
    const labels: Partial<Record<TrustLabel, LabelEntry>> = {};
    for (const l of LABELS) {
      const e = data.labels.get(l);
      if (e) labels[l] = e.cause === undefined ? { at: e.at } : { cause: e.cause, at: e.at };
    }
    return JSON.stringify({
      v: 1,
      createdAt: data.createdAt,
      labels,
      injection: data.injection,
      counters: Object.fromEntries([...data.counters].sort((x, y) => (x[0] < y[0] ? -1 : 1))),
      state,
    });
  }

  /** Parses a stored record; `session.corrupt` when it is not one, `session.no_codec` for a state no stage reads. */
  decode(text: string, where: string): SessionData {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SessionRecordError('session.corrupt', `the stored state of ${where} is not JSON`, { cause: err });
    }
    const r = RecordSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new SessionRecordError(
        'session.corrupt',
        `the stored state of ${where} is invalid at ${issue.path.map(String).join('.') || 'the top'}: ${issue.message}`,
      );
    }
    const state = new Map<string, unknown>();
    for (const [key, value] of Object.entries(r.data.state)) {
      try {
        state.set(key, this.codec(key).decode(value));
      } catch (err) {
        if (err instanceof SessionRecordError) throw err;
        throw new SessionRecordError('session.corrupt', `the stored ${key} state of ${where} is invalid`, {
          cause: err,
        });
      }
    }
    const labels = new Map<TrustLabel, LabelEntry>();
    for (const l of LABELS) {
      const e = r.data.labels[l];
      if (e) labels.set(l, e.cause === undefined ? { at: e.at } : { cause: e.cause, at: e.at });
    }
    return {
      createdAt: r.data.createdAt,
      labels,
      injection: r.data.injection,
      counters: new Map(Object.entries(r.data.counters)),
      state,
    };
  }

  /**
   * The join of two states of one session. Counters are taken from `a` plus `deltas` (the changes `b`'s
   * decision made), since counts add and a join cannot.
   */
  merge(a: SessionData, b: SessionData, deltas: ReadonlyMap<string, number> = new Map()): SessionData {
    const labels = new Map(a.labels);
    for (const [l, e] of b.labels) {
      const had = labels.get(l);
      labels.set(l, had ? firstCause(had, e) : e);
    }
    const state = new Map(a.state);
    for (const [key, value] of b.state) {
      const had = state.get(key);
      state.set(key, had === undefined ? value : this.codec(key).merge(had, value));
    }
    const counters = new Map(a.counters);
    for (const [name, by] of deltas) counters.set(name, (counters.get(name) ?? 0) + by);
    return {
      createdAt: Math.min(a.createdAt, b.createdAt),
      labels,
      injection: greaterAfterDecay(a.injection, b.injection, this.halfLifeMs),
      counters,
      state,
    };
  }

  private codec(key: string): SessionCodec {
    const c = this.byKey.get(key);
    if (!c) throw new SessionRecordError('session.no_codec', `no stage registered a session codec for ${key}`);
    return c;
  }
}

/** The earlier cause, then the smaller text: a total order, so the choice is the same in any merge order. */
function firstCause(a: LabelEntry, b: LabelEntry): LabelEntry {
  if (a.cause === undefined) return b.cause === undefined ? (b.at < a.at ? b : a) : b;
  if (b.cause === undefined) return a;
  if (a.at !== b.at) return a.at < b.at ? a : b;
  return a.cause <= b.cause ? a : b;
}

function greaterAfterDecay(
  a: Readonly<{ score: number; at: number }>,
  b: Readonly<{ score: number; at: number }>,
  halfLifeMs: number,
): { score: number; at: number } {
  const at = Math.max(a.at, b.at);
  const decay = (x: { score: number; at: number }) =>
    x.at === at ? x.score : x.score <= 0 || halfLifeMs <= 0 ? 0 : x.score * 0.5 ** ((at - x.at) / halfLifeMs);
  return { score: Math.max(decay(a), decay(b)), at };
}
