import type { SessionState } from '../core/session.js';
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

/** The state after an observation: a value keeps its best provenance and the cause of its first sight at that level. */
export function observe(s: FlowState, o: Observation, maxValues: number): FlowState {
  const values = new Map(s.values);
  let next = s.next;
  for (const v of o.values) {
    const k = key(v);
    const had = values.get(k);
    if (had && RANK[had.provenance] >= RANK[o.provenance]) continue;
    values.set(k, { provenance: o.provenance, cause: o.cause, order: had?.order ?? next++ });
  }
  if (values.size > maxValues) {
    const oldest = [...values.entries()].sort((a, b) => a[1].order - b[1].order);
    for (const [k] of oldest.slice(0, values.size - maxValues)) values.delete(k);
  }
  let names = s.names;
  if (o.names && o.names.length > 0) {
    const m = new Map(s.names);
    for (const b of o.names) m.set(b.email, [...new Set([...(m.get(b.email) ?? []), ...b.names])].slice(0, 16));
    names = m;
  }
  let ownerWords = s.ownerWords;
  if (o.ownerWords && o.ownerWords.length > 0) {
    const w = new Set(s.ownerWords);
    for (const x of o.ownerWords) if (w.size < maxValues) w.add(x);
    ownerWords = w;
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
  return { values, names, ownerWords, privateCauses, untrustedCauses, next };
}
