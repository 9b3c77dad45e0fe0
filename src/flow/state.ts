import { z } from 'zod';
import type { SessionState } from '../core/session.js';
import type { SessionCodec } from '../core/session-record.js';
import type { FlowValue } from './extract.js';

/** Where a value first came from, best first: the owner's own request, trusted data, or untrusted content. */
export type Provenance = 'owner' | 'trusted' | 'untrusted';

export const RANK: Record<Provenance, number> = { owner: 2, trusted: 1, untrusted: 0 };

export interface Seen {
  provenance: Provenance;
  /** What it came from: "owner input", "tool result of mail.read". */
  cause: string;
  /** Order of first sight; the oldest are forgotten first when the table is full. */
  order: number;
}

/** The flow stage's per-session state. Replaced whole on commit, never changed in place. */
export interface FlowState {
  readonly values: ReadonlyMap<string, Seen>;
  /** Display names in trusted fields, bound to the address they name. */
  readonly names: ReadonlyMap<string, readonly string[]>;
  /** Words of the owner's requests: a name the owner used vouches for the address it is bound to. */
  readonly ownerWords: ReadonlySet<string>;
  /** Tool results that made the session hold private or secret data. */
  readonly privateCauses: readonly string[];
  /** Untrusted content the session ingested (tool results of untrusted tools, inputs not from the owner). */
  readonly untrustedCauses: readonly string[];
  readonly next: number;
}

export const FLOW = 'flow';

const EMPTY: FlowState = {
  values: new Map(),
  names: new Map(),
  ownerWords: new Set(),
  privateCauses: [],
  untrustedCauses: [],
  next: 0,
};

export function flowState(session: SessionState): FlowState {
  const s = session.stageState.get(FLOW);
  return isFlowState(s) ? s : EMPTY;
}

function isFlowState(v: unknown): v is FlowState {
  return typeof v === 'object' && v !== null && (v as FlowState).values instanceof Map;
}

export const key = (v: FlowValue): string => `${v.kind}:${v.value}`;

export interface Observation {
  values: readonly FlowValue[];
  provenance: Provenance;
  cause: string;
  names?: ReadonlyArray<{ email: string; names: string[] }>;
  ownerWords?: readonly string[];
  privateCause?: string;
}

/**
 * The state after an observation: a value keeps its best provenance and the cause of its first sight at that level.
 * An observation that adds nothing returns `s` itself, so the session sees no change to store.
 */
export function observe(s: FlowState, o: Observation, maxValues: number): FlowState {
  const values = new Map(s.values);
  let next = s.next;
  let changed = false;
  for (const v of o.values) {
    const k = key(v);
    const had = values.get(k);
    if (had && RANK[had.provenance] >= RANK[o.provenance]) continue;
    values.set(k, { provenance: o.provenance, cause: o.cause, order: had?.order ?? next++ });
    changed = true;
  }
  if (values.size > maxValues) {
    const oldest = [...values.entries()].sort((a, b) => a[1].order - b[1].order);
    for (const [k] of oldest.slice(0, values.size - maxValues)) values.delete(k);
  }
  let names = s.names;
  if (o.names && o.names.length > 0) {
    changed = true;
    const m = new Map(s.names);
    for (const b of o.names) m.set(b.email, [...new Set([...(m.get(b.email) ?? []), ...b.names])].slice(0, 16));
    names = m;
  }
  let ownerWords = s.ownerWords;
  if (o.ownerWords && o.ownerWords.length > 0) {
    const w = new Set(s.ownerWords);
    for (const x of o.ownerWords) if (w.size < maxValues) w.add(x);
    if (w.size !== s.ownerWords.size) ownerWords = w;
  }
  const privateCauses =
    o.privateCause && s.privateCauses.length < 32 ? [...s.privateCauses, o.privateCause] : s.privateCauses;
  const untrustedCauses =
    o.provenance === 'untrusted' &&
    !o.privateCause &&
    s.untrustedCauses.length < 32 &&
    !s.untrustedCauses.includes(o.cause)
      ? [...s.untrustedCauses, o.cause]
      : s.untrustedCauses;
  if (
    !changed &&
    ownerWords === s.ownerWords &&
    privateCauses === s.privateCauses &&
    untrustedCauses === s.untrustedCauses
  )
    return s;
  return { values, names, ownerWords, privateCauses, untrustedCauses, next };
}

const MAX_CAUSES = 32;
const MAX_NAMES = 16;

/**
 * The join of two flow states of one session (two gateways committing concurrently): per value the best
 * provenance wins (ties: the earlier sighting, then the smaller cause, so every merge order agrees); names,
 * owner words and causes are unioned. Bounded as `observe` bounds them: the most values (the oldest forgotten
 * first, which makes a destination unseen, the cautious side), names per address, owner words and causes (the
 * smallest kept, so the choice does not depend on the order of merging).
 */
export function mergeFlow(a: FlowState, b: FlowState, maxValues: number): FlowState {
  const values = new Map(a.values);
  for (const [k, seen] of b.values) {
    const had = values.get(k);
    if (!had || better(seen, had)) values.set(k, seen);
  }
  if (values.size > maxValues) {
    const oldest = [...values.entries()].sort((x, y) => x[1].order - y[1].order || (x[0] < y[0] ? -1 : 1));
    for (const [k] of oldest.slice(0, values.size - maxValues)) values.delete(k);
  }
  const names = new Map(a.names);
  for (const [email, list] of b.names) names.set(email, smallest([...(names.get(email) ?? []), ...list], MAX_NAMES));
  for (const [email, list] of a.names) if (!b.names.has(email)) names.set(email, smallest(list, MAX_NAMES));
  return {
    values,
    names,
    ownerWords: new Set(smallest([...a.ownerWords, ...b.ownerWords], maxValues)),
    privateCauses: smallest([...a.privateCauses, ...b.privateCauses], MAX_CAUSES),
    untrustedCauses: smallest([...a.untrustedCauses, ...b.untrustedCauses], MAX_CAUSES),
    next: Math.max(a.next, b.next),
  };
}

function byKey(x: readonly [string, unknown], y: readonly [string, unknown]): number {
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

function better(x: Seen, y: Seen): boolean {
  if (RANK[x.provenance] !== RANK[y.provenance]) return RANK[x.provenance] > RANK[y.provenance];
  if (x.order !== y.order) return x.order < y.order;
  return x.cause < y.cause;
}

/** The distinct strings, sorted, at most `n`. */
function smallest(xs: readonly string[], n: number): string[] {
  return [...new Set(xs)].sort().slice(0, n);
}

const P = z.enum(['owner', 'trusted', 'untrusted']);
const FlowJson = z
  .object({
    values: z.array(z.tuple([z.string().max(4096), P, z.string().max(400), z.number().int().min(0)])),
    names: z.array(z.tuple([z.string().max(4096), z.array(z.string().max(400)).max(MAX_NAMES)])),
    ownerWords: z.array(z.string().max(400)),
    privateCauses: z.array(z.string().max(400)).max(MAX_CAUSES),
    untrustedCauses: z.array(z.string().max(400)).max(MAX_CAUSES),
    next: z.number().int().min(0),
  })
  .strict();

/** How the flow state is stored and merged across gateways (registered by the flow stage). */
export function flowCodec(maxValues: number): SessionCodec<FlowState> {
  return {
    key: FLOW,
    // Sorted, so equal states have one stored text.
    encode: (s) => ({
      values: [...s.values].sort(byKey).map(([k, v]) => [k, v.provenance, v.cause, v.order]),
      names: [...s.names].sort(byKey),
      ownerWords: [...s.ownerWords].sort(),
      privateCauses: s.privateCauses,
      untrustedCauses: s.untrustedCauses,
      next: s.next,
    }),
    decode: (json) => {
      const j = FlowJson.parse(json);
      const s: FlowState = {
        values: new Map(j.values.map(([k, provenance, cause, order]) => [k, { provenance, cause, order }])),
        names: new Map(j.names),
        ownerWords: new Set(j.ownerWords),
        privateCauses: j.privateCauses,
        untrustedCauses: j.untrustedCauses,
        next: j.next,
      };
      // Written under a larger max_values: forgetting the oldest makes them unseen, the cautious side.
      return s.values.size > maxValues || s.ownerWords.size > maxValues ? mergeFlow(s, EMPTY, maxValues) : s;
    },
    merge: (a, b) => mergeFlow(a, b, maxValues),
  };
}
