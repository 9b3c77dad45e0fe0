import { z } from 'zod';
import type { SessionState } from '../core/session.js';
import type { SessionCodec } from '../core/session-record.js';

/** What the screen stage remembers about one session (kept in `session.stageState`). */
export interface ScreenSessionState {
  /** Decayed sum of turn scores. */
  acc: number;
  at: number;
  /** Tail of earlier untrusted turns, to catch an attack split across messages. */
  tail: string;
  tailScore: number;
  /** Fingerprints of instructions seen in untrusted content (URLs, e-mail addresses, word shingles) and when. */
  marks: ReadonlyMap<string, number>;
}

export const SCREEN_STATE_KEY = 'screen';
const MAX_MARKS = 4096;
const SHINGLE = 5;
const EMPTY: ScreenSessionState = Object.freeze({
  acc: 0,
  at: 0,
  tail: '',
  tailScore: 0,
  marks: new Map<string, number>(),
});

/** The session's screening state as last committed (an empty state for a new session). Read-only. */
export function screenState(session: SessionState): ScreenSessionState {
  return (session.stageState.get(SCREEN_STATE_KEY) as ScreenSessionState | undefined) ?? EMPTY;
}

/** Exponential decay of accumulated risk: it halves every `halfLifeMs`. */
export function decayed(acc: number, at: number, now: number, halfLifeMs: number): number {
  if (acc <= 0 || halfLifeMs <= 0) return 0;
  const dt = Math.max(0, now - at);
  return acc * 0.5 ** (dt / halfLifeMs);
}

/** The accumulated risk after adding one turn's score (what committing the turn would make it). */
export function accumulated(state: ScreenSessionState, score: number, now: number, halfLifeMs: number): number {
  return decayed(state.acc, state.at, now, halfLifeMs) + score;
}

/** One turn's change to the screening state, applied at commit to the state as it then is. */
export interface ScreenTurn {
  score?: { value: number; now: number; halfLifeMs: number };
  tail?: { text: string; score: number };
  remember?: { text: string; at: number };
}

/**
 * The state after a turn, as a new object (state is replaced, never changed in place). Also writes the
 * accumulated risk (capped at 10) to the session's shared `injection` field for the stages and policies that read it.
 * Call only inside `session.writing()`: the pipeline's commit step.
 */
export function commitTurn(session: SessionState, turn: ScreenTurn): void {
  const prev = screenState(session);
  const next: ScreenSessionState = { ...prev };
  if (turn.score) {
    next.acc = accumulated(prev, turn.score.value, turn.score.now, turn.score.halfLifeMs);
    next.at = turn.score.now;
    session.setInjection(Math.min(10, next.acc), turn.score.now);
  }
  if (turn.tail) {
    next.tail = turn.tail.text;
    next.tailScore = turn.tail.score;
  }
  if (turn.remember !== undefined) next.marks = remembered(prev.marks, turn.remember.text, turn.remember.at);
  session.setState(SCREEN_STATE_KEY, next);
}

// Small linear-time scanners over bounded text; no regex backtracking is possible with these shapes.
const URL = /\bhttps?:\/\/[^\s"'<>)\]}]{3,300}/gi;
const EMAIL = /\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}\b/g;
const WORD = /[\p{L}\p{N}]+/gu;

function words(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []).slice(0, 20_000);
}

/** Fingerprints of an instruction-bearing text: its URLs, e-mail addresses and 5-word shingles. */
export function fingerprints(text: string): string[] {
  const t = text.slice(0, 256 * 1024);
  const out: string[] = [];
  for (const m of t.match(URL) ?? []) out.push(`url:${m.toLowerCase().replace(/[.,;:!?]+$/, '')}`);
  for (const m of t.match(EMAIL) ?? []) out.push(`email:${m.toLowerCase()}`);
  const w = words(t);
  for (let i = 0; i + SHINGLE <= w.length; i++) out.push(`w:${w.slice(i, i + SHINGLE).join(' ')}`);
  return out;
}

/** The marks with the instructions of `text` added (bounded; oldest dropped first). */
function remembered(marks: ReadonlyMap<string, number>, text: string, at: number): Map<string, number> {
  const out = new Map(marks);
  for (const f of fingerprints(text)) {
    if (out.has(f)) continue;
    out.set(f, at);
    if (out.size > MAX_MARKS) out.delete(out.keys().next().value as string);
  }
  return out;
}

/**
 * The join of two screening states of one session: the accumulated risk is the greater after decay (both
 * decay by the same factor, so comparing at the later time decides for every time after), the tail is the
 * later turn's, and the marks are unioned, the newest kept when over the bound.
 */
export function mergeScreen(a: ScreenSessionState, b: ScreenSessionState, halfLifeMs: number): ScreenSessionState {
  const at = Math.max(a.at, b.at);
  const acc = Math.max(
    a.at === at ? a.acc : decayed(a.acc, a.at, at, halfLifeMs),
    b.at === at ? b.acc : decayed(b.acc, b.at, at, halfLifeMs),
  );
  const later =
    a.at !== b.at
      ? a.at > b.at
        ? a
        : b
      : a.tailScore !== b.tailScore
        ? a.tailScore > b.tailScore
          ? a
          : b
        : a.tail >= b.tail
          ? a
          : b;
  const marks = new Map(a.marks);
  for (const [f, t] of b.marks) marks.set(f, Math.max(t, marks.get(f) ?? t));
  let kept: Map<string, number> = marks;
  if (marks.size > MAX_MARKS) {
    const newest = [...marks].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, MAX_MARKS);
    kept = new Map(newest.reverse());
  }
  return { acc, at, tail: later.tail, tailScore: later.tailScore, marks: kept };
}

const ScreenJson = z
  .object({
    acc: z.number().min(0).finite(),
    at: z.number().finite(),
    tail: z.string().max(64 * 1024),
    tailScore: z.number().min(0).finite(),
    marks: z.array(z.tuple([z.string().max(4096), z.number().finite()])).max(MAX_MARKS),
  })
  .strict();

/** How the screening state is stored and merged across gateways (registered by the screen stage). */
export function screenCodec(halfLifeMs: number): SessionCodec<ScreenSessionState> {
  return {
    key: SCREEN_STATE_KEY,
    encode: (s) => ({
      acc: s.acc,
      at: s.at,
      tail: s.tail,
      tailScore: s.tailScore,
      marks: [...s.marks].sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    }),
    decode: (json) => {
      const j = ScreenJson.parse(json);
      return { ...j, marks: new Map(j.marks) };
    },
    merge: (a, b) => mergeScreen(a, b, halfLifeMs),
  };
}

/**
 * Persistent compromise: text from earlier untrusted instructions reappearing in the agent's own
 * request (a URL or address it was told to use, or a run of five words). Returns what matched.
 */
export function reappearing(state: ScreenSessionState, text: string): string | undefined {
  if (state.marks.size === 0) return undefined;
  for (const f of fingerprints(text)) {
    if (f.startsWith('w:') && f.length < 24) continue;
    if (state.marks.has(f)) return f;
  }
  return undefined;
}
