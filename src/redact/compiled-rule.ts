/** A rule definition compiled into its matchers: the anchored per-hit regex, the RE2 fallback, its allowlist. */

import RE2 from 're2';
import { GatehouseError } from '../core/errors.js';
import type { SecretRuleDef } from './rules/types.js';

/** What the `<identifier> <op> <value>` template allows between a vendor keyword and the value (gitleaks' shape). */
const ASSIGN_TEMPLATE = String.raw`[\w.-]{0,20}[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}`;
const ASSIGN_END = String.raw`(?:[\x60'"\s;,)}\]]|\\[nr]|$)`;

export interface CompiledRule {
  def: SecretRuleDef;
  index: number;
  /** Anchored matcher tried at each keyword hit (prefix: at the keyword; assign: right after it). */
  sticky?: RegExp;
  /** Linear-time matcher over merged windows: for window rules always, for the others past the per-hit budget. */
  re2: RE2;
  allow: RE2[];
  before: number;
  after: number;
  /** A lower bound on the match length (of the value, for assign rules), to skip hopeless anchors cheaply. */
  minLen: number;
  /** Bare values near the keyword count too (vendor-name keywords of assign rules). */
  proximity: boolean;
  /** The value pattern alone, anchored, for the proximity search. */
  nearSticky?: RegExp;
}

export function compileRule(def: SecretRuleDef, index: number): CompiledRule {
  let source = def.pattern;
  let ignoreCase = def.ignoreCase === true;
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    ignoreCase = true;
  }
  if (/\(\?[=!<]|\\[1-9]/.test(source)) {
    throw new GatehouseError(
      'redact.rule_invalid',
      `rule ${def.id}: lookaround and backreferences are not linear-time`,
    );
  }
  const flags = ignoreCase ? 'i' : '';
  let sticky: RegExp | undefined;
  let re2Source: string;
  try {
    if (def.mode === 'assign') {
      const full = `${ASSIGN_TEMPLATE}(${source})${ASSIGN_END}`;
      // The template part is walked by assignValueStart (no backtracking); the regex only checks the value.
      sticky = new RegExp(`(${source})${ASSIGN_END}`, `y${flags}`);
      const kws = def.keywords.map(escapeRegex).join('|');
      re2Source = `(?:${kws})${full}`;
    } else {
      if (def.mode === 'prefix') sticky = new RegExp(source, `y${flags}`);
      re2Source = source;
    }
    const re2 = new RE2(re2Source, `g${flags}`);
    // Identifier-shaped keywords (`db_password`, `private_key`) name a variable, not a vendor: assignment only.
    const proximity =
      def.mode === 'assign' && def.proximity !== false && def.keywords.some((k) => /^[a-z][a-z0-9]{3,}$/.test(k));
    const allow = (def.allow ?? []).map((a) => new RE2(a));
    return {
      def,
      index,
      sticky,
      re2,
      allow,
      before: def.before ?? 1,
      after: def.maxLen,
      minLen: minMatchLength(source),
      proximity,
      ...(proximity ? { nearSticky: new RegExp(`(${source})`, `y${flags}`) } : {}),
    };
  } catch (err) {
    throw new GatehouseError('redact.rule_invalid', `rule ${def.id}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A safe lower bound on the length of any match of `src`: literals and single-character atoms with their
 * minimum repetition count, groups counted as empty, and 0 for a top-level alternation.
 */
export function minMatchLength(src: string): number {
  let total = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    let unit = 1;
    if (c === '|') return 0;
    if (c === '(') {
      let depth = 0;
      let inClass = false;
      for (; i < src.length; i++) {
        const d = src[i]!;
        if (d === '\\') {
          i++;
          continue;
        }
        if (inClass) {
          if (d === ']') inClass = false;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      i++;
      unit = 0;
    } else if (c === '[') {
      i++;
      if (src[i] === ']') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '\\') {
      const e = src[i + 1];
      unit = e === 'b' || e === 'B' ? 0 : 1;
      i += 2;
    } else if (c === '^' || c === '$') {
      unit = 0;
      i++;
    } else i++;
    // Quantifier.
    const q = src[i];
    let times = 1;
    if (q === '?' || q === '*') {
      times = 0;
      i++;
    } else if (q === '+') i++;
    else if (q === '{') {
      const m = /^\{(\d+)(?:,\d*)?\}/.exec(src.slice(i));
      if (m) {
        times = Number(m[1]);
        i += m[0].length;
      }
    }
    if (src[i] === '?') i++;
    total += unit * times;
  }
  return total;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
