import RE2 from 're2';
import { GatehouseError } from '../core/errors.js';
import { KeywordAutomaton, type KeywordSpec } from '../core/keywords.js';
import { RULES_VERSION, SECRET_RULES } from './rules/secrets.js';
import type { SecretCategory, SecretRuleDef, ValidatorName } from './rules/types.js';
import { charClassCount, checksumTokenValid, isPlaceholder, jwtCheck, shannonEntropy } from './validators.js';

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

/** What the `<identifier> <op> <value>` template allows between a vendor keyword and the value (gitleaks' shape). */
const ASSIGN_TEMPLATE = String.raw`[\w.-]{0,20}[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}`;
const ASSIGN_END = String.raw`(?:[\x60'"\s;,)}\]]|\\[nr]|$)`;

interface CompiledRule {
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

/** How far after a vendor name a bare value is looked for, and in how many tokens. */
const NEAR_WINDOW = 160;
const NEAR_TOKENS = 8;

/** Characters of a bare token near a vendor name (quotes, spaces, brackets, `:` and `,` separate tokens). */
function isNearValueChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 43 || c === 47 || c === 61 || c === 46 || c === 126;
}

/** A bare value must look random: letters and digits mixed, and at least 3 bits per character (or the rule's floor). */
function nearValueShape(value: string, floor: number | undefined): boolean {
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  // Documentation fill-ins: a repeated block (`0123…cdef0123…cdef`) or a counting run.
  if ((value + value).indexOf(value, 1) < value.length) return false;
  if (/0123456789|123456789|abcdefgh/i.test(value)) return false;
  return shannonEntropy(value) >= Math.max(3, floor ?? 0);
}

/** Name endings (separators removed, lower case) that mark the value assigned to them as a credential. */
const GENERIC_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'authkey',
  'credential',
  'credentials',
  'creds',
  'privatekey',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'secretkey',
  'sessionkey',
];
/** Names that end like a credential but name something that is not one. */
const GENERIC_DENY = [
  'publickey',
  'primarykey',
  'foreignkey',
  'sortkey',
  'partitionkey',
  'cachekey',
  'mapkey',
  'hotkey',
  'idempotencykey',
  'csrftoken',
  'xsrftoken',
  'publictoken',
  'nexttoken',
  'pagetoken',
  'continuationtoken',
  'canceltoken',
  'cancellationtoken',
  'resumetoken',
  'synctoken',
  'eostoken',
  'bostoken',
  'padtoken',
  'unktoken',
  'septoken',
  'clstoken',
  'masktoken',
  'starttoken',
  'endtoken',
  'nulltoken',
  'eoftoken',
];

/** True for identifiers such as `DB_PASSWORD`, `clientSecret`, `"api-key"`, `APP_KEY`. */
export function isCredentialName(name: string): boolean {
  const raw = name.slice(-40).toLowerCase();
  const norm = raw.replace(/["'_.-]/g, '');
  for (const d of GENERIC_DENY) if (norm.endsWith(d)) return false;
  for (const x of GENERIC_SUFFIXES) if (norm.endsWith(x)) return true;
  return /[_.-](?:key|pass)["']?$/.test(raw);
}

/** A zeroed array of at least `n` entries, reusing `buf` when it is large enough (scans allocate nothing). */
function reuse(buf: Int32Array, n: number): Int32Array {
  if (buf.length < n) return new Int32Array(Math.max(n, 4096));
  buf.fill(0, 0, n);
  return buf;
}

/** Host-name lookup commands: the URL stage checks their arguments for DNS exfiltration. */
const LOOKUP_MARKERS = ['nslookup', 'dig ', 'host ', 'drill ', 'ping', 'getent', 'resolvectl', 'curl', 'wget'];

const GENERIC_KEYWORDS = [
  'pass',
  'pwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'api-key',
  'access_key',
  'accesskey',
  'auth',
  'credential',
  'creds',
  'private_key',
  'privatekey',
  '_key',
  'secretkey',
];

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

/** The allowlist, placeholder test, entropy floor and validator of a rule, for one match. */
function judge(rule: CompiledRule, secret: string, m: RegExpExecArray, text: string): 0 | 1 | 2 {
  for (const a of rule.allow) if (a.test(secret)) return 0;
  const def = rule.def;
  // Binary bodies are not text: the textual placeholder markers (`<…>`, `....`) occur in them by chance.
  if (def.validator !== 'der' && isTokenPlaceholder(secret)) return 0;
  if (def.entropy !== undefined && shannonEntropy(secret) < def.entropy) return 0;
  if (!def.validator) return 1;
  const v = runValidator(def.validator, secret, m, text);
  return v === false ? 0 : v === 'verified' ? 2 : 1;
}

function compileRule(def: SecretRuleDef, index: number): CompiledRule {
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
 * For a URL starting at `at`: the length from `at` to the end of the host after an `@` in its authority, or -1
 * when the authority (up to the first `/`, space or quote) has no `@`. Only characters that no user-info pattern
 * admits end the scans, so no match is dropped; they stop at the next URL's `//` at the latest, so all anchors
 * together stay linear.
 */
export function userinfoSpan(text: string, at: number): number {
  let sep = at;
  while (sep < at + 16 && sep < text.length && text.charCodeAt(sep) !== 58) sep++;
  if (text.charCodeAt(sep + 1) !== 47 || text.charCodeAt(sep + 2) !== 47) return -1;
  let i = sep + 3;
  for (; ; i++) {
    if (i >= text.length || i - sep > 304) return -1;
    const c = text.charCodeAt(i);
    if (c === 64) break;
    if (c === 47 || c <= 32 || c === 34 || c === 39) return -1;
  }
  const host = i + 1;
  let j = host;
  while (j < text.length && j - host < 254) {
    const c = text.charCodeAt(j);
    if (c === 47 || c <= 32 || c === 34 || c === 39 || c === 63 || c === 58) break;
    j++;
  }
  return j - at + 1;
}

function startsWithAny(text: string, at: number, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (text.startsWith(p, at)) return true;
  return false;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

/**
 * The `<identifier…> <op> <quote>` part of gitleaks' assignment template, walked once without backtracking:
 * up to 20 identifier characters, up to 3 spaces or quotes, an operator (= > := ::= => || ?= , :), up to 5
 * spaces, quotes or `=`. Returns where the value starts, or -1.
 */
export function assignValueStart(text: string, at: number): number {
  const n = text.length;
  let i = at;
  for (let k = 0; i < n && k < 20 && isIdentChar(text.charCodeAt(i)); k++) i++;
  for (let k = 0; i < n && k < 3; k++) {
    const c = text.charCodeAt(i);
    if (!isSpace(c) && c !== 34 && c !== 39) break;
    i++;
  }
  const c = text.charCodeAt(i);
  if (c === 61) {
    i++;
    if (text.charCodeAt(i) === 62) i++;
  } else if (c === 58) {
    let j = i;
    while (j < n && j - i < 3 && text.charCodeAt(j) === 58) j++;
    if (text.charCodeAt(j) === 61) j++;
    i = j;
  } else if (c === 62 || c === 44) i++;
  else if ((c === 124 && text.charCodeAt(i + 1) === 124) || (c === 63 && text.charCodeAt(i + 1) === 61)) i += 2;
  else return -1;
  for (let k = 0; i < n && k < 5; k++) {
    const d = text.charCodeAt(i);
    if (!isSpace(d) && d !== 96 && d !== 39 && d !== 34 && d !== 61) break;
    i++;
  }
  return i;
}

function isGenericValueChar(c: number): boolean {
  // A-Z a-z 0-9 _ . + / ~ @ ! # $ % ^ & * -
  return (
    isAlnum(c) ||
    c === 95 ||
    c === 46 ||
    c === 43 ||
    c === 47 ||
    c === 126 ||
    c === 64 ||
    c === 33 ||
    c === 35 ||
    c === 36 ||
    c === 37 ||
    c === 94 ||
    c === 38 ||
    c === 42 ||
    c === 45
  );
}

/** The value of `<name> <op> <value>` for the generic tier, scanned once; quoted values may hold any printable. */
function genericValueAt(text: string, idEnd: number): { start: number; end: number } | undefined {
  const n = text.length;
  let i = idEnd;
  const quotedName = text.charCodeAt(i) === 34 || text.charCodeAt(i) === 39;
  if (quotedName) i++;
  for (let k = 0; k < 3 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  const op = text.charCodeAt(i);
  let needQuotedValue = false;
  if (op === 58) i += text.charCodeAt(i + 1) === 61 ? 2 : 1;
  else if (op === 44 && quotedName) {
    // `getenv("API_TOKEN", "value")`: a quoted name and a quoted value as call arguments.
    i++;
    needQuotedValue = true;
  } else if (op === 61) {
    if (text.charCodeAt(i + 1) === 61) return undefined; // a comparison, not an assignment
    i += text.charCodeAt(i + 1) === 62 ? 2 : 1;
  } else return undefined;
  for (let k = 0; k < 3 && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9); k++) i++;
  const q = text.charCodeAt(i);
  if (q === 34 || q === 39 || q === 96) {
    const start = i + 1;
    let j = start;
    while (j < n && j - start <= 200) {
      const c = text.charCodeAt(j);
      if (c === q) break;
      if (c === 10 || c === 13 || c === 92) return undefined;
      j++;
    }
    if (j >= n || text.charCodeAt(j) !== q || j - start < 6 || j - start > 200) return undefined;
    return { start, end: j };
  }
  if (needQuotedValue) return undefined;
  const start = i;
  let j = start;
  while (j < n && j - start <= 200 && isGenericValueChar(text.charCodeAt(j))) j++;
  for (let k = 0; k < 2 && text.charCodeAt(j) === 61; k++) j++;
  if (j - start < 8 || j - start > 202) return undefined;
  if (j < n) {
    const t = text.charCodeAt(j);
    if (!isSpace(t) && t !== 44 && t !== 59 && t !== 41 && t !== 125 && t !== 93) return undefined;
  }
  return { start, end: j };
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

/** Length of the run of non-space, non-quote characters at `at` (bounded): where an assigned value must fit. */
function valueRunLength(text: string, at: number, max: number): number {
  let j = at;
  const end = Math.min(text.length, at + max);
  while (j < end) {
    const c = text.charCodeAt(j);
    if (isSpace(c) || c === 34 || c === 39 || c === 96) break;
    j++;
  }
  return j - at;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function isWordCharCode(c: number): boolean {
  return isAlnum(c) || c === 95;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** A token that continues a word (`xeyJ…`, `a_eyJ…`, `.eyJ…`) is not a token start. */
function isWordBreak(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46;
}

/** A token prefix glued to a preceding letter or dot is part of another word or file name. */
function isBoundaryBreak(c: number): boolean {
  return isLetter(c) || c === 46;
}

/**
 * An assign rule's vendor keyword must start a word or a camelCase part (`MERAKI_KEY`, `myMeraki`), not sit
 * inside another word (`CameraKit`). `s` is where the keyword starts.
 */
function assignKeywordStarts(text: string, s: number): boolean {
  if (s === 0) return true;
  const prev = text.charCodeAt(s - 1);
  if (!isLetter(prev)) return true;
  const first = text.charCodeAt(s);
  return first >= 65 && first <= 90 && prev >= 97 && prev <= 122;
}

function isAlnum(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57);
}

function isIdentChar(c: number): boolean {
  return isAlnum(c) || c === 95 || c === 45 || c === 46;
}

/** Token bodies that are clearly placeholders: `xxxx`, `****`, `${VAR}`, `<token>`, `…EXAMPLE`, one repeated character. */
export function isTokenPlaceholder(secret: string): boolean {
  if (
    /(?:^|[^a-z])(?:dummy|fake)(?:[^a-z]|$)|x{4,}|X{4,}|\*{3,}|\.{3,}|\$\{|\{\{|<[^>]{0,40}>|EXAMPLE$|_HERE$|your[_-]?/i.test(
      secret,
    )
  ) {
    // `xxxx` inside a long random token can happen by chance; only treat it as a placeholder when it dominates.
    const masked = secret.replace(/[xX*.]{4,}/g, '');
    if (masked.length < secret.length * 0.8 || !/x{4,}/i.test(secret)) return true;
  }
  const body = secret.replace(/^[a-z0-9]{1,12}[_.-]/i, '');
  if (/^(?:fake|dummy|sample|example|placeholder|redacted)/i.test(body)) return true;
  // A body of counting digits (`0123456789012…`) is a fill-in, not a random token.
  if (/^\d{10,}$/.test(body) && [...body].every((c, i) => i === 0 || Number(c) === (Number(body[i - 1]) + 1) % 10))
    return true;
  return body.length >= 8 && /^(.)\1+$/.test(body);
}

const PLACEHOLDER_PASSWORDS =
  /^(?:pass(?:word|wd)?\d*|passw0rd|p@ssw0rd|secret|token|apikey|api_key|key|changeme|changeit|admin|root|test|testing|guest|user|username|demo|sample|example|default|none|null|empty|todo|xxx+|\*+|mypassword|mysecret|yourpassword|letmein|qwerty|12345\d*|pa\$\$word|hunter2)$/i;

/** A password or basic-auth value that is a placeholder or template rather than a credential. */
export function isPlaceholderPassword(value: string): boolean {
  const v = value.replace(/^["']|["']$/g, '');
  if (v.length < 4) return true;
  if (PLACEHOLDER_PASSWORDS.test(v)) return true;
  if (/^[$%{<[]|^\{\{|\}\}$|^\$\(|your[_-]|replace|placeholder|password|changeme|example|<|>|\$\{|^\*+$/i.test(v))
    return true;
  return isPlaceholder(v);
}

/** A URL password that is a template or a documentation fill-in (`${PASS}`, `{{pass}}`, `YOUR_PASSWORD`, `xxxx`). */
export function isPlaceholderUserinfo(value: string): boolean {
  if (value.length < 4) return true;
  if (/^[$%{<[]|\$\{|\$\(|\{\{|[<>]|passw(?:or)?d|changeme|example|placeholder|your[_-]|replace|redacted/i.test(value))
    return true;
  return isPlaceholder(value);
}

function runValidator(name: ValidatorName, secret: string, m: RegExpExecArray, _text: string): boolean | 'verified' {
  switch (name) {
    case 'github-crc32':
    case 'npm-crc32':
      // A failed checksum still looks exactly like a live token to a reader: redact it, but do not vouch for it.
      return checksumTokenValid(secret) ? 'verified' : true;
    case 'jwt': {
      const v = jwtCheck(secret);
      return v === 'valid' ? 'verified' : v === 'damaged';
    }
    case 'not-localhost': {
      if (isPlaceholderPassword(secret)) return false;
      // `postgres:postgres@`, `mongodb:mongodb@`: the user name repeated as password is a default, not a secret.
      const user = /:\/\/([^:/@\s]*):/.exec(m[0])?.[1] ?? '';
      const scheme = m[0].slice(0, m[0].indexOf(':')).toLowerCase();
      if (secret === user || secret.toLowerCase() === scheme) return false;
      const host = (m[2] ?? '').toLowerCase();
      // A real password to a local database is still a leaked password; only templated hosts mark an example.
      return !/^(?:host|hostname|server|your[-_.]?host|\$\{?\w+\}?)$/.test(host);
    }
    case 'db-password': {
      // `user:password` pairs (curl -u) are judged by their password half.
      const colon = secret.indexOf(':');
      return !isPlaceholderPassword(colon >= 0 ? secret.slice(colon + 1) : secret);
    }
    case 'der':
      // The pattern itself walks the DER structure (tags, version, content-type OID).
      return 'verified';
    case 'discord-snowflake': {
      // The first part is the bot's numeric id in base64: decoding to digits proves the shape.
      const id = Buffer.from(secret.slice(0, secret.indexOf('.')), 'base64url').toString('latin1');
      if (/^\d{17,20}$/.test(id)) return 'verified';
      return shannonEntropy(secret) >= 4;
    }
    case 'url-userinfo': {
      // A literal password in a web or file-transfer URL is sent to that host on every request: even a weak one
      // (`user:pass@`) is a credential. Only templates, fill-ins and a user name repeated as password are not.
      const user = /:\/\/([^:/@\s]*):/.exec(m[0])?.[1] ?? '';
      return secret !== user && !isPlaceholderUserinfo(secret);
    }
    case 'userpass': {
      // `user:password` as curl takes it, quoted in any of the ways shells allow; judged by its password half
      // (or the user half when the password is empty).
      const plain = secret.replace(/["'{}]/g, '');
      const colon = plain.indexOf(':');
      if (colon < 0) return false;
      const pass = plain.slice(colon + 1) || plain.slice(0, colon);
      if (/^\$|\$\{|\$\(/.test(pass)) return false;
      return !isPlaceholderPassword(pass);
    }
    case 'random-token':
      // A token with no checksum: it must look generated (letters and digits mixed, no fill-in pattern).
      return nearValueShape(secret, undefined);
    case 'npm-auth': {
      // `.npmrc` `_auth` is base64 of `user:password`, `_password` base64 of the password: it must decode to text.
      const decoded = Buffer.from(secret, 'base64').toString('latin1');
      if (!/^[\x20-\x7e]{3,}$/.test(decoded)) return false;
      const colon = decoded.indexOf(':');
      const isAuth = /_auth\s*=/.test(m[0]);
      if (isAuth && colon < 1) return false;
      return !isPlaceholderPassword(isAuth ? decoded.slice(colon + 1) : decoded);
    }
    case 'pem-body': {
      const body = secret
        .replace(/-----(?:BEGIN|END)[^-]*-----/g, '')
        .replace(/\\[nr]|[\s"',]/g, '')
        .replace(/^(?:Proc-Type|DEK-Info|Comment):[^\n]*$/gm, '');
      if (/\.{3}|x{4,}|\*{3}|<[a-z]/i.test(body)) return false;
      const b64 = body.replace(/[^A-Za-z0-9+/=]/g, '');
      return b64.length >= 64 && shannonEntropy(b64) >= 4.5;
    }
  }
}

const PLACEHOLDER_TEXT = /dummy|example|sample|placeholder|lorem|test data|changeme/i;

function genericValueLooksSecret(name: string, value: string): boolean {
  const v = value.trim();
  if (v.length < 6) return false;
  const isPassword = /pass|pwd/i.test(name);
  // Cheapest rejections first: this runs at every credential-named assignment.
  if (isPassword ? v.length < 8 : v.length < 12) return false;
  if (charClassCount(v) < 2) return false;
  const entropy = shannonEntropy(v);
  // A short value cannot reach 3.5 bits/char (12 distinct characters give 3.58): below 24 characters the floor
  // follows the length, for values that also mix three character classes (`Lj2^5O%xi214`).
  const floor = isPassword ? 2.8 : v.length < 24 && charClassCount(v) >= 3 ? Math.log2(v.length) - 0.4 : 3.5;
  if (entropy < Math.min(3.5, floor)) return false;
  if (/^\d+(?:\.\d+)*$/.test(v)) return false;
  if (/^[a-z]+(?:[-_][a-z]+)*$/.test(v) || /^[A-Z]+(?:_[A-Z]+)*$/.test(v)) return false;
  if (/^(?:true|false|null|none|undefined|nil|yes|no|on|off)$/i.test(v)) return false;
  // References, not values: variables, calls, paths, member access, URLs, file names.
  if (
    /^(?:process\.env|os\.environ|env\.|ENV\[|config\.|settings\.|self\.|this\.|params\.|args\.|req\.|request\.|options\.|props\.)/i.test(
      v,
    )
  )
    return false;
  // Member access (`config.apiToken`): dotted words without the letter-digit mix of random values.
  if (
    /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(v) &&
    !v.split('.').some((p) => /[a-z]/i.test(p) && /\d/.test(p) && p.length >= 12)
  )
    return false;
  if (/^[A-Za-z_$][\w$]*\(|^\/|^\.\.?\/|^~\/|^[a-z]+:\/\/|\.(?:json|ya?ml|pem|key|txt|env|crt|p12|js|ts|py)$/i.test(v))
    return false;
  if (/\s/.test(v) && v.split(/\s+/).length > 2) return false;
  // Truncated examples (`ops_eyJ…`, `abc...`) are documentation, not credentials.
  if (/\.\.\.$|…/.test(v)) return false;
  if (isPlaceholder(v) || isPlaceholderPassword(v)) return false;
  // A base64 value that decodes to placeholder text (`ZHVtbXkgdGV4dA==` is "dummy text").
  if (/^[A-Za-z0-9+/]{8,}={0,2}$/.test(v)) {
    const decoded = Buffer.from(v, 'base64').toString('latin1');
    if (/^[\x20-\x7e]+$/.test(decoded) && PLACEHOLDER_TEXT.test(decoded)) return false;
  }
  return true;
}
