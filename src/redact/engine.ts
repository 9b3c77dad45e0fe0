import { GatehouseError } from '../core/errors.js';
import { KeywordAutomaton, type KeywordSpec } from '../core/keywords.js';
import { assignKeywordStarts, assignValueStart, genericValueAt, valueRunLength } from './assignment.js';
import { type CompiledRule, compileRule } from './compiled-rule.js';
import { GENERIC_KEYWORDS, genericValueLooksSecret, isCredentialName } from './generic-tier.js';
import { judge, nearValueShape } from './match-judge.js';
import { RULES_VERSION, SECRET_RULES } from './rules/secrets.js';
import type { SecretCategory, SecretRuleDef } from './rules/types.js';
import {
  isAlnum,
  isBoundaryBreak,
  isIdentChar,
  isLetter,
  isWordBreak,
  isWordCharCode,
  startsWithAny,
} from './text-chars.js';
import { userinfoSpan } from './userinfo-span.js';

/** A secret found by the rule table. Offsets are UTF-16 code units into the scanned text. */
export interface SecretHit {
  ruleId: string;
  category: SecretCategory | 'generic';
  tier: 'vendor' | 'generic';
  start: number;
  end: number;
  /** True when an offline check (checksum, JWT header) confirmed the token's structure. */
  verified: boolean;
}

/** How far after a vendor name a bare value is looked for, and in how many tokens. */
const NEAR_WINDOW = 160;
const NEAR_TOKENS = 8;

/** Characters of a bare token near a vendor name (quotes, spaces, brackets, `:` and `,` separate tokens). */
function isNearValueChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 43 || c === 47 || c === 61 || c === 46 || c === 126;
}

/** A zeroed array of at least `n` entries, reusing `buf` when it is large enough (scans allocate nothing). */
function reuse(buf: Int32Array, n: number): Int32Array {
  if (buf.length < n) return new Int32Array(Math.max(n, 4096));
  buf.fill(0, 0, n);
  return buf;
}

/** Host-name lookup commands: the URL stage checks their arguments for DNS exfiltration. */
const LOOKUP_MARKERS = ['nslookup', 'dig ', 'host ', 'drill ', 'ping', 'getent', 'resolvectl', 'curl', 'wget'];

export interface EngineStats {
  rules: number;
  keywords: number;
  states: number;
  version: string;
}

/**
 * Runs the rule table over text: one Aho-Corasick pass finds keyword hits, and only the rules those hits
 * trigger are confirmed, each in a bounded window around its hit. Work per hit is bounded by the rule's
 * `maxLen`; a rule whose hits would cost more than a few passes over the text switches to one RE2 search over
 * the merged windows, so any input is scanned in linear time.
 */
export class SecretEngine {
  private readonly rules: CompiledRule[];
  private readonly automaton: KeywordAutomaton;
  /** keyword index → rules (by index) it triggers; -1 marks the generic tier. */
  private readonly keywordRules: number[][];
  /** Rules tried at base64 runs that end in a dot instead of at keywords. */
  private readonly runRules: number[];
  /** Rules tried at base64 runs (and `/`-separated parts of them) that start with one of their prefixes. */
  private readonly prefixRunRules: { index: number; prefixes: readonly string[]; minLen: number }[];
  readonly version = RULES_VERSION;

  constructor(defs: readonly SecretRuleDef[] = SECRET_RULES) {
    const ids = new Set<string>();
    this.rules = defs.map((def, index) => {
      if (ids.has(def.id)) throw new GatehouseError('redact.rule_invalid', `duplicate rule id ${def.id}`);
      ids.add(def.id);
      return compileRule(def, index);
    });
    const specs: KeywordSpec[] = [];
    const byKeyword = new Map<string, number>();
    this.keywordRules = [];
    const add = (kw: string, owner: string, ruleIdx: number, allowWeak: boolean): void => {
      const k = kw.toLowerCase();
      let ki = byKeyword.get(k);
      if (ki === undefined) {
        ki = specs.length;
        byKeyword.set(k, ki);
        specs.push({ keyword: k, owner, allowWeak });
        this.keywordRules.push([]);
      }
      const list = this.keywordRules[ki]!;
      if (!list.includes(ruleIdx)) list.push(ruleIdx);
    };
    for (const r of this.rules) for (const kw of r.def.keywords) add(kw, r.def.id, r.index, false);
    this.runRules = this.rules.filter((r) => r.def.trigger === 'run' && !r.def.runPrefixes).map((r) => r.index);
    this.prefixRunRules = this.rules
      .filter((r) => r.def.trigger === 'run' && r.def.runPrefixes)
      .map((r) => ({ index: r.index, prefixes: r.def.runPrefixes!, minLen: r.minLen }));
    for (const kw of GENERIC_KEYWORDS) add(kw, 'generic', -1, true);
    for (const kw of LOOKUP_MARKERS) add(kw, 'lookup', -2, true);
    this.automaton = new KeywordAutomaton(specs);
  }

  stats(): EngineStats {
    return {
      rules: this.rules.length,
      keywords: this.automaton.keywords.length,
      states: this.automaton.stateCount,
      version: this.version,
    };
  }

  ruleIds(): string[] {
    return this.rules.map((r) => r.def.id);
  }

  /** Whether the last scanned text contains a host-name lookup command (nslookup, dig, curl …). */
  sawLookup = false;

  /** Runs of 20+ base64/hex characters in the last scanned text, as start/end pairs (for the decoder). */
  lastRuns: number[] = [];

  /** Per-scan cache: keyword end → value start + 2 (0: not computed yet; 1: no assignment there). */
  private valueStarts: Int32Array = new Int32Array(0);
  private valueText = '';

  /** Per-scan cache of valueRunLength at a value start (+1; 0: not computed), bounded at 1023. */
  private valueRuns: Int32Array = new Int32Array(0);
  private valueRunsText = '';

  private valueRun(text: string, from: number): number {
    if (this.valueRunsText !== text) {
      this.valueRunsText = text;
      this.valueRuns = reuse(this.valueRuns, text.length + 1);
    }
    let v = this.valueRuns[from]!;
    if (v === 0) {
      v = valueRunLength(text, from, 1023) + 1;
      this.valueRuns[from] = v;
    }
    return v - 1;
  }

  private valueStart(text: string, at: number): number {
    if (this.valueText !== text) {
      this.valueText = text;
      this.valueStarts = reuse(this.valueStarts, text.length + 1);
    }
    let v = this.valueStarts[at]!;
    if (v === 0) {
      v = assignValueStart(text, at) + 2;
      this.valueStarts[at] = v;
    }
    return v - 2;
  }

  /** Per-scan verdicts of accept() by rule and matched text: repeated matches (config dumps, inputs built to be
   * slow) run the placeholder tests and validators once. */
  private verdicts = new Map<string, 0 | 1 | 2>();

  /** All secrets in `text`, vendor rules and (when `generic`) the keyword = high-entropy tier. */
  scan(text: string, opts: { generic?: boolean } = {}): SecretHit[] {
    this.valueText = '';
    this.verdicts.clear();
    this.sawLookup = false;
    this.nearBudget = 4 * text.length + 4096;
    const hitsByRule: (number[] | undefined)[] = new Array(this.rules.length);
    const touched: number[] = [];
    const generic = opts.generic !== false;
    const genericHits: number[] = [];
    const keywordRules = this.keywordRules;
    const keywords = this.automaton.keywords;
    const rules = this.rules;
    const runs: number[] = [];
    this.lastRuns = runs;
    this.automaton.scanWithRuns(
      text,
      (ki, start) => {
        const list = keywordRules[ki]!;
        let startsWord: boolean | undefined;
        for (let j = 0; j < list.length; j++) {
          const ri = list[j]!;
          if (ri < 0) {
            // A lookup command starts a word (`ping`, not `mapping`): the DNS check only runs on real commands.
            if (ri === -2) this.sawLookup ||= start === 0 || !isWordCharCode(text.charCodeAt(start - 1));
            else if (generic) genericHits.push(start, keywords[ki]!.length);
            continue;
          }
          let anchor = start;
          const def = rules[ri]!.def;
          if (def.mode === 'assign') {
            startsWord ??= assignKeywordStarts(text, start);
            if (!startsWord) continue;
            anchor = start + keywords[ki]!.length;
          } else if (def.mode === 'prefix' && def.boundary !== false && start > 0) {
            // The boundary test confirmAt applies first, done here so floods of glued prefixes (`AKCAKC…`)
            // are dropped before they are stored.
            const prev = text.charCodeAt(start - 1);
            if (def.boundary === 'word' ? isWordBreak(prev) : isBoundaryBreak(prev)) continue;
          }
          let hits = hitsByRule[ri];
          if (!hits) {
            hits = [];
            hitsByRule[ri] = hits;
            touched.push(ri);
          }
          hits.push(anchor);
        }
      },
      20,
      (a, b) => {
        runs.push(a, b);
      },
    );
    if (this.runRules.length > 0) {
      for (let k = 0; k < runs.length; k += 2) {
        if (text.charCodeAt(runs[k + 1]!) !== 46) continue;
        for (const ri of this.runRules) {
          let hits = hitsByRule[ri];
          if (!hits) {
            hits = [];
            hitsByRule[ri] = hits;
            touched.push(ri);
          }
          hits.push(runs[k]!);
        }
      }
    }
    if (this.prefixRunRules.length > 0) {
      for (const pr of this.prefixRunRules) {
        // The next `/` at or after the current position: runs come in order, so the searches never overlap.
        let slash = -1;
        for (let k = 0; k < runs.length; k += 2) {
          const runEnd = runs[k + 1]!;
          if (runEnd - runs[k]! < pr.minLen) continue;
          // The run's start and each part after a `/` (URL paths: `/Accounts/AC…/Messages`).
          for (let at = runs[k]!; at >= 0 && runEnd - at >= pr.minLen; ) {
            if (startsWithAny(text, at, pr.prefixes)) {
              let hits = hitsByRule[pr.index];
              if (!hits) {
                hits = [];
                hitsByRule[pr.index] = hits;
                touched.push(pr.index);
              }
              hits.push(at);
            }
            if (slash !== Number.MAX_SAFE_INTEGER && slash < at) {
              slash = text.indexOf('/', at);
              if (slash < 0) slash = Number.MAX_SAFE_INTEGER;
            }
            at = slash >= runEnd ? -1 : slash + 1;
          }
        }
      }
    }
    const out: SecretHit[] = [];
    for (const ri of touched) this.confirm(rules[ri]!, text, hitsByRule[ri]!, out);
    if (genericHits.length > 0) this.generic(text, genericHits, out);
    this.valueText = '';
    this.valueRunsText = '';
    // Keep scratch space for ordinary calls, not the size of the largest text ever scanned.
    if (this.valueStarts.length > 1 << 20) this.valueStarts = new Int32Array(0);
    if (this.valueRuns.length > 1 << 20) this.valueRuns = new Int32Array(0);
    return out;
  }

  private confirm(rule: CompiledRule, text: string, hits: number[], out: SecretHit[]): void {
    if (rule.proximity) {
      const before = out.length;
      this.confirmAt(rule, text, hits, out);
      this.near(rule, text, hits, out, before);
      return;
    }
    this.confirmAt(rule, text, hits, out);
  }

  /** Per-scan budget (characters a matcher may examine) of the keyword-proximity search. */
  private nearBudget = 0;

  /**
   * Keyword proximity: a vendor name followed, within a few tokens on the next lines at most, by a bare value of
   * that vendor's format with no assignment in between (`heroku token <uuid>`, `"datadog": {"key": "…"}`,
   * `Datadog.new(api: "…")`). The value must mix letters and digits and clear an entropy floor, because no
   * operator ties it to the name.
   */
  private near(rule: CompiledRule, text: string, hits: number[], out: SecretHit[], from: number): void {
    const re = rule.nearSticky;
    if (!re) return;
    let lastEnd = -1;
    for (let k = from; k < out.length; k++) lastEnd = Math.max(lastEnd, out[k]!.end);
    // Tokens already tried for an earlier anchor are not tried again: each character is walked once per rule.
    let walked = 0;
    for (const at of hits) {
      if (at < lastEnd || this.nearBudget <= 0) continue;
      const limit = Math.min(text.length, at + NEAR_WINDOW);
      let lines = 0;
      let tokens = 0;
      let i = at;
      // Skip the rest of the identifier holding the keyword (`heroku_api_key`).
      while (i < limit && isIdentChar(text.charCodeAt(i))) i++;
      if (i < walked) i = walked;
      while (i < limit && tokens < NEAR_TOKENS) {
        const c = text.charCodeAt(i);
        if (c === 10 && ++lines > 2) break;
        if (!isNearValueChar(c)) {
          i++;
          continue;
        }
        const start = i;
        while (i < limit && isNearValueChar(text.charCodeAt(i))) i++;
        tokens++;
        if (i - start < rule.minLen) continue;
        this.nearBudget -= rule.def.maxLen;
        re.lastIndex = start;
        const m = re.exec(text);
        if (!m) continue;
        const value = m[1] ?? m[0];
        // The value must end the token (a sentence's full stop may follow it).
        const after = start + m[0].length;
        if (after < i && !(text.charCodeAt(after) === 46 && after + 1 === i)) continue;
        if (!nearValueShape(value, rule.def.entropy)) continue;
        const hit = this.accept(rule, m, start, text);
        if (hit) {
          out.push(hit);
          lastEnd = hit.end;
          break;
        }
      }
      walked = Math.max(walked, i);
      this.nearBudget -= i - at;
    }
  }

  private confirmAt(rule: CompiledRule, text: string, hits: number[], out: SecretHit[]): void {
    let anchors = hits;
    const budget = 4 * text.length + 4096;
    const assign = rule.def.mode === 'assign';
    // Cheap structural filters first, so the work budget counts only hits that can still match.
    const boundary = rule.def.boundary ?? true;
    if (assign) {
      // The value must fit in the token run after the operator: most anchors fail this without a regex.
      const need = rule.minLen;
      anchors = anchors.filter((at) => {
        const from = this.valueStart(text, at);
        return from >= 0 && (need === 0 || this.valueRun(text, from) >= need);
      });
    } else if (rule.def.mode === 'prefix' && boundary !== false) {
      anchors = anchors.filter(
        (at) =>
          at === 0 ||
          !(boundary === 'word' ? isWordBreak(text.charCodeAt(at - 1)) : isBoundaryBreak(text.charCodeAt(at - 1))),
      );
    }
    // Work the per-hit matcher may do: maxLen per anchor, or for user-info rules the measured span up to the end of
    // the host (their patterns cannot scan past it), so dense URLs stay on the cheap per-hit path.
    let work = anchors.length * rule.def.maxLen;
    if (rule.def.userinfo) {
      const kept: number[] = [];
      work = 0;
      for (const at of anchors) {
        const span = userinfoSpan(text, at);
        if (span < 0) continue;
        kept.push(at);
        work += span;
      }
      anchors = kept;
    }
    if (anchors.length === 0) return;
    if (rule.sticky && work <= budget) {
      const re = rule.sticky;
      let lastEnd = -1;
      for (const at of anchors) {
        if (at < lastEnd) continue;
        const from = assign ? this.valueStart(text, at) : at;
        re.lastIndex = from;
        const m = re.exec(text);
        if (!m) continue;
        const end = from + m[0].length;
        if (
          rule.def.mode === 'prefix' &&
          rule.def.endBoundary !== false &&
          end < text.length &&
          isAlnum(text.charCodeAt(end))
        )
          continue;
        const hit = this.accept(rule, m, from, text);
        if (hit) {
          out.push(hit);
          // Anchors inside an accepted match start no new one (as on the RE2 path, where matches never overlap).
          lastEnd = Math.max(hit.end, end);
        }
      }
      return;
    }
    // Merge the windows of all hits, then search each merged window once.
    let winStart = -1;
    let winEnd = -1;
    const flush = (): void => {
      if (winStart < 0) return;
      const slice = text.slice(winStart, winEnd);
      rule.re2.lastIndex = 0;
      for (let m = rule.re2.exec(slice); m !== null; m = rule.re2.exec(slice)) {
        const abs = winStart + m.index;
        if (m[0].length === 0) {
          rule.re2.lastIndex++;
          continue;
        }
        if (
          rule.def.mode === 'prefix' &&
          rule.def.boundary !== false &&
          abs > 0 &&
          isBoundaryBreak(text.charCodeAt(abs - 1))
        )
          continue;
        const hit = this.accept(rule, m, abs, text);
        if (hit) out.push(hit);
      }
    };
    const before = rule.def.mode === 'assign' ? 64 : rule.before;
    for (const at of anchors) {
      const s = Math.max(0, at - before);
      const e = Math.min(text.length, at + rule.after);
      if (s <= winEnd) winEnd = Math.max(winEnd, e);
      else {
        flush();
        winStart = s;
        winEnd = e;
      }
    }
    flush();
  }

  /** Applies the rule's allowlist, placeholder test, entropy floor and validator to a regex match. */
  private accept(rule: CompiledRule, m: RegExpExecArray, abs: number, text: string): SecretHit | undefined {
    let groupIdx = 0;
    for (let g = 1; g < m.length; g++) {
      if (m[g] !== undefined) {
        groupIdx = g;
        break;
      }
    }
    const secret = m[groupIdx] ?? m[0];
    const offset = groupIdx === 0 ? 0 : m[0].indexOf(secret);
    const start = abs + Math.max(0, offset);
    const end = start + secret.length;
    if (secret.length === 0) return undefined;
    const def = rule.def;
    // 0: rejected, 1: accepted, 2: accepted and verified. Keyed by the whole match (validators may read it).
    const key = m[0].length <= 1024 ? `${rule.index}\u0000${secret}\u0000${m[0]}` : undefined;
    let verdict = key === undefined ? undefined : this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = judge(rule, secret, m, text);
      if (key !== undefined) this.verdicts.set(key, verdict);
    }
    if (verdict === 0) return undefined;
    return { ruleId: def.id, category: def.category, tier: 'vendor', start, end, verified: verdict === 2 };
  }

  /** The generic tier: `<credential-like name> <op> <high-entropy value>`. */
  private generic(text: string, hits: number[], out: SecretHit[]): void {
    let lastEnd = -1;
    let lastId = -1;
    const names = new Map<string, boolean>();
    const judged = new Map<string, boolean>();
    for (let i = 0; i < hits.length; i += 2) {
      const kwStart = hits[i]!;
      const kwEnd = kwStart + hits[i + 1]!;
      // Several keywords in one identifier (`secret_token`) judge it once.
      if (kwStart < lastEnd || kwStart < lastId) continue;
      // The identifier around the keyword, bounded on both sides; the (cheaper) value test comes first.
      let idEnd = kwEnd;
      while (idEnd < text.length && idEnd - kwEnd < 40 && isIdentChar(text.charCodeAt(idEnd))) idEnd++;
      lastId = idEnd;
      const v = genericValueAt(text, idEnd);
      if (!v) continue;
      let idStart = kwStart;
      while (idStart > 0 && kwStart - idStart < 60 && isIdentChar(text.charCodeAt(idStart - 1))) idStart--;
      // `"Password:"` is a label string: its closing quote after the colon opens no value.
      const before = idStart > 0 ? text.charCodeAt(idStart - 1) : 0;
      if ((before === 34 || before === 39) && text.charCodeAt(idEnd) === 58 && text.charCodeAt(idEnd + 1) === before)
        continue;
      const name = text.slice(idStart, idEnd);
      let credential = names.get(name);
      if (credential === undefined) {
        credential = isCredentialName(name);
        names.set(name, credential);
      }
      if (!credential) continue;
      // A value of letters and underscores only is an identifier, unless a password is being set.
      let wordOnly = true;
      for (let k = v.start; k < v.end && wordOnly; k++) {
        const c = text.charCodeAt(k);
        wordOnly = isLetter(c) || c === 95;
      }
      if (wordOnly && !/pass|pwd/i.test(name)) continue;
      const start = v.start;
      const value = text.slice(v.start, v.end);
      // Repeated assignments (config dumps, or inputs built to be slow) are judged once per call.
      const key = `${name}\u0000${value}`;
      let verdict = judged.get(key);
      if (verdict === undefined) {
        verdict = genericValueLooksSecret(name, value);
        judged.set(key, verdict);
      }
      if (!verdict) continue;
      out.push({
        ruleId: 'generic-credential',
        category: 'generic',
        tier: 'generic',
        start,
        end: start + value.length,
        verified: false,
      });
      lastEnd = start + value.length;
    }
  }
}
