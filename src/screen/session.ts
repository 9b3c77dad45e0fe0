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
  marks: Set<string>;
}

const KEY = 'screen';
const MAX_MARKS = 4096;
const SHINGLE = 5;

export function screenState(session: SessionState): ScreenSessionState {
  let s = session.stageState.get(KEY) as ScreenSessionState | undefined;
  if (!s) {
    s = { acc: 0, at: 0, tail: '', tailScore: 0, marks: new Set() };
    session.stageState.set(KEY, s);
  }
  return s;
}

/** Exponential decay of accumulated risk: it halves every `halfLifeMs`. */
export function decayed(acc: number, at: number, now: number, halfLifeMs: number): number {
  if (acc <= 0 || halfLifeMs <= 0) return 0;
  const dt = Math.max(0, now - at);
  return acc * 0.5 ** (dt / halfLifeMs);
}

/**
 * Adds one turn's score to the session and returns the new accumulated risk. The session's shared
 * `injection` field carries it (capped at 10) for the stages and policies that read it.
 */
export function accumulate(
  session: SessionState,
  state: ScreenSessionState,
  score: number,
  now: number,
  halfLifeMs: number,
): number {
  state.acc = decayed(state.acc, state.at, now, halfLifeMs) + score;
  state.at = now;
  session.injection = { score: Math.min(10, state.acc), at: now };
  return state.acc;
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

/** Remembers the instructions found in untrusted content (bounded; oldest dropped first). */
export function remember(state: ScreenSessionState, text: string): void {
  for (const f of fingerprints(text)) {
    if (state.marks.has(f)) continue;
    state.marks.add(f);
    if (state.marks.size > MAX_MARKS) state.marks.delete(state.marks.values().next().value as string);
  }
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
