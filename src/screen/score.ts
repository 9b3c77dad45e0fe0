import type { Finding, ScreenAction } from './types.js';

/** A rule hit with its position in the view it was found in. */
export interface Hit {
  finding: Finding;
  index: number;
}

/** Window of ~400 tokens (~1,600 characters) moved by half its width, so a hit is never cut off. */
export const WINDOW_CHARS = 1600;
const STRIDE = WINDOW_CHARS / 2;

/**
 * Combines distinct findings: the strongest counts fully, each further one half as much as the
 * one before (2.5 + 2.5 → 3.75). One rule counts once however often it matches.
 */
export function combine(findings: readonly Finding[]): number {
  const best = new Map<string, number>();
  for (const f of findings) best.set(f.rule, Math.max(best.get(f.rule) ?? 0, f.score));
  const ws = [...best.values()].sort((a, b) => b - a);
  let s = 0;
  let k = 1;
  for (const w of ws) {
    s += w * k;
    k /= 2;
  }
  return Math.min(10, Math.round(s * 10) / 10);
}

/**
 * Scores each window of one view and returns the best window's findings. Long documents cannot
 * dilute an attack: only the findings inside one window add up.
 */
export function bestWindow(hits: readonly Hit[]): { score: number; findings: Finding[] } {
  if (hits.length === 0) return { score: 0, findings: [] };
  const windows = new Map<number, Finding[]>();
  for (const h of hits) {
    const k = Math.floor(h.index / STRIDE);
    for (const w of k > 0 ? [k - 1, k] : [k]) {
      const list = windows.get(w);
      if (list) list.push(h.finding);
      else windows.set(w, [h.finding]);
    }
  }
  let best = { score: -1, findings: [] as Finding[] };
  for (const findings of windows.values()) {
    const score = combine(findings);
    if (score > best.score) best = { score, findings };
  }
  return best;
}

export function actionFor(score: number, thresholds: { blockAt: number; reviewAt: number }): ScreenAction {
  if (score >= thresholds.blockAt) return 'block';
  if (score >= thresholds.reviewAt) return 'review';
  return 'allow';
}
