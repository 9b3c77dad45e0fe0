import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SessionData, SessionState, type TrustLabel } from '../../src/core/session.js';
import { SessionCodecs, SessionRecordError } from '../../src/core/session-record.js';
import { type FlowState, flowCodec, observe, type Provenance } from '../../src/flow/state.js';
import { screenCodec } from '../../src/screen/session.js';

const HALF = 600_000;
const MAX = 16;
const codecs = new SessionCodecs([flowCodec(MAX), screenCodec(HALF)], HALF);
const LABELS: TrustLabel[] = ['untrusted_input', 'untrusted_instructions', 'private_data', 'secret_seen', 'flagged'];
const EMPTY_FLOW: FlowState = {
  values: new Map(),
  names: new Map(),
  ownerWords: new Set(),
  privateCauses: [],
  untrustedCauses: [],
  next: 0,
};

const observation = fc.record({
  values: fc.array(
    fc.record({ kind: fc.constantFrom('email' as const, 'host' as const), value: fc.constantFrom('a', 'b', 'c', 'd') }),
    { maxLength: 3 },
  ),
  provenance: fc.constantFrom<Provenance>('owner', 'trusted', 'untrusted'),
  cause: fc.constantFrom('x', 'y', 'z'),
  ownerWords: fc.array(fc.constantFrom('bob', 'ann'), { maxLength: 2 }),
  privateCause: fc.option(fc.constantFrom('p1', 'p2'), { nil: undefined }),
});

/** A session state built the way decisions build it: labels, turns and flow observations. */
const sessionData = fc
  .record({
    labels: fc.array(
      fc.tuple(
        fc.constantFrom(...LABELS),
        fc.option(fc.constantFrom('c1', 'c2', 'c3'), { nil: undefined }),
        fc.integer({ min: 0, max: 5 }),
      ),
    ),
    turns: fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 3_600_000 }))),
    obs: fc.array(observation, { maxLength: 8 }),
  })
  .map(({ labels, turns, obs }): SessionData => {
    const s = new SessionState('s', 'a', 0);
    s.writing(() => {
      for (const [l, cause, t] of labels) {
        s.lastSeen = t;
        s.label(l, cause);
      }
      let flow = EMPTY_FLOW;
      for (const o of obs) flow = observe(flow, o, MAX);
      s.setState('flow', flow);
      let acc = 0;
      let at = 0;
      for (const [score, t] of [...turns].sort((x, y) => x[1] - y[1])) {
        acc = acc * 0.5 ** ((t - at) / HALF) + score;
        at = t;
      }
      s.setInjection(Math.min(10, acc), at);
      s.setState('screen', { acc, at, tail: '', tailScore: 0, marks: new Map() });
    });
    // Canonical form: a join's output (merging with itself) is what the laws are stated on.
    const d = s.toData();
    return codecs.merge(d, d);
  });

type Stored = { injection: { score: number }; state: { screen?: { acc: number } } };
const enc = (d: SessionData) => JSON.parse(codecs.encode(d)) as Stored;
const same = (x: SessionData, y: SessionData) => {
  const a = enc(x);
  const b = enc(y);
  // Decay factors multiply in floating point: the decayed risks are equal to the last few bits.
  expect(a.injection.score).toBeCloseTo(b.injection.score, 9);
  expect(a.state.screen?.acc ?? 0).toBeCloseTo(b.state.screen?.acc ?? 0, 9);
  a.injection.score = b.injection.score = 0;
  if (a.state.screen && b.state.screen) a.state.screen.acc = b.state.screen.acc = 0;
  expect(a).toEqual(b);
};

describe('merging session states (two gateways committing on one session)', () => {
  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(sessionData, sessionData, sessionData, (a, b, c) => {
        same(codecs.merge(a, b), codecs.merge(b, a));
        same(codecs.merge(codecs.merge(a, b), c), codecs.merge(a, codecs.merge(b, c)));
        same(codecs.merge(a, a), a);
      }),
      { numRuns: 1000 },
    );
  });

  it('never loses a label, keeps the earliest cause, and never lowers a provenance', () => {
    fc.assert(
      fc.property(sessionData, sessionData, (a, b) => {
        const m = codecs.merge(a, b);
        for (const side of [a, b]) {
          for (const [l, e] of side.labels) {
            expect(m.labels.has(l)).toBe(true);
            if (e.cause !== undefined) expect(m.labels.get(l)!.cause).toBeDefined();
            if (e.cause !== undefined) expect(m.labels.get(l)!.at).toBeLessThanOrEqual(e.at);
          }
          const rank = { owner: 2, trusted: 1, untrusted: 0 };
          const fm = m.state.get('flow') as FlowState;
          for (const [k, seen] of (side.state.get('flow') as FlowState).values) {
            expect(rank[fm.values.get(k)!.provenance]).toBeGreaterThanOrEqual(rank[seen.provenance]);
          }
          for (const c of (side.state.get('flow') as FlowState).untrustedCauses)
            expect(fm.untrustedCauses).toContain(c);
        }
        // Both decay by the same factor: the merge holds the greater of the two at the later time.
        const at = Math.max(a.injection.at, b.injection.at);
        const decayed = (x: SessionData) => x.injection.score * 0.5 ** ((at - x.injection.at) / HALF);
        expect(m.injection.score).toBeCloseTo(Math.max(decayed(a), decayed(b)), 9);
      }),
      { numRuns: 300 },
    );
  });

  it('adds counters as deltas instead of joining them', () => {
    const a = new SessionState('s', 'a', 0);
    a.writing(() => a.count('turns', 3));
    const b = new SessionState('s', 'a', 0);
    b.writing(() => b.count('turns', 2));
    expect(codecs.merge(a.toData(), b.toData(), b.counterDeltas).counters.get('turns')).toBe(5);
  });

  it('round-trips through the stored text', () => {
    fc.assert(
      fc.property(sessionData, (a) => {
        same(codecs.decode(codecs.encode(a), 'test'), a);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a corrupt record with session.corrupt, never an empty session', () => {
    const good = JSON.parse(codecs.encode(new SessionState('s', 'a', 0).toData())) as Record<string, unknown>;
    const bad = [
      'not json',
      JSON.stringify({ ...good, labels: { untrusted_input: { at: 'yesterday' } } }),
      JSON.stringify({ ...good, labels: { trusted_forever: { at: 1 } } }),
      JSON.stringify({ ...good, injection: { score: -1, at: 0 } }),
      JSON.stringify({ ...good, state: { flow: { values: 'all clean' } } }),
      JSON.stringify({ ...good, extra: true }),
    ];
    for (const text of bad) {
      const err = (() => {
        try {
          codecs.decode(text, 'test');
        } catch (e) {
          return e;
        }
      })();
      expect(err, text).toBeInstanceOf(SessionRecordError);
      expect((err as SessionRecordError).code).toBe('session.corrupt');
    }
    const unknown = JSON.stringify({ ...good, state: { mystery: {} } });
    expect(() => codecs.decode(unknown, 'test')).toThrow(/no stage registered/);
  });
});
