import type { Category } from '../types.js';

/**
 * One screening rule. `pattern` is RE2 syntax (linear time, no backreferences or lookaround) and is
 * matched case-insensitively. Phrase rules pair a verb with a target; weights above the review
 * threshold are reserved for such pairs or for structural tokens that have no innocent use.
 */
export interface Rule {
  id: string;
  category: Category;
  /** 0..10: what one match contributes to its window. */
  weight: number;
  message: string;
  pattern: string;
  /**
   * When true, a match spoken about rather than spoken (negated, "never reveal your instructions", or
   * reported, "if the user asks you to ignore previous instructions") does not count. Defensive
   * system prompts and security documentation are full of such phrases.
   */
  guarded?: boolean;
}

/** Non-capturing alternation. */
export const alt = (...xs: string[]): string => `(?:${xs.join('|')})`;
/** A separator between two words, allowing up to `n` further words in between. */
export const gap = (n: number): string => `\\W+(?:\\w+\\W+){0,${n}}`;
/** Bounded run of any characters on one line, for scripts without spaces (CJK) or loose phrasing. */
export const span = (n: number): string => `[^\\n]{0,${n}}`;
/** Optional English determiner or possessive before a noun. */
export const DET = '(?:(?:all|any|the|your|my|these|those|every|each|of|its|his|her|their|our|this|that)\\W+){0,3}';
