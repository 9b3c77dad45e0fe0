import type { SessionState } from '../core/session.js';

/** What the screen stage remembers about one session (kept in `session.stageState`). */
export interface ScreenSessionState {
  /** Decayed sum of turn scores. */
  acc: number;
  at: number;
  /** Tail of earlier untrusted turns, to catch an attack split across messages. */
  tail: string;
  tailScore: number;
  /** Fingerprints of instructions seen in untrusted content: URLs, e-mail addresses and word shingles. */
  marks: ReadonlySet<string>;
}

export const SCREEN_STATE_KEY = 'screen';
const MAX_MARKS = 4096;
const SHINGLE = 5;
const EMPTY: ScreenSessionState = Object.freeze({ acc: 0, at: 0, tail: '', tailScore: 0, marks: new Set<string>() });

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
  remember?: string;
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
  if (turn.remember !== undefined) next.marks = remembered(prev.marks, turn.remember);
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
function remembered(marks: ReadonlySet<string>, text: string): Set<string> {
  const out = new Set(marks);
  for (const f of fingerprints(text)) {
    if (out.has(f)) continue;
    out.add(f);
    if (out.size > MAX_MARKS) out.delete(out.values().next().value as string);
  }
  return out;
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
