/**
 * Literal prefilter for the rule catalogue. Each rule's RE2 pattern is parsed once into a boolean
 * formula over literal strings that any match must contain (as RE2's own prefilter does: exact
 * string sets are joined across concatenation while they stay small, alternations become ORs,
 * sequences ANDs). One Aho-Corasick pass over a text finds which literals occur; only rules whose
 * formula holds can match, so only those run. The formula is never stricter than the pattern:
 * anything the parser cannot bound (classes, `\w`, optional parts) counts as "no requirement".
 */

/** Most strings an exact set may hold before it is turned into an OR of its strings. */
const MAX_EXACT = 16;

export type Formula =
  | { kind: 'all' }
  | { kind: 'lit'; s: string }
  | { kind: 'and'; xs: Formula[] }
  | { kind: 'or'; xs: Formula[] };

const ALL: Formula = { kind: 'all' };

/**
 * Case folding that RE2's case-insensitive matching never separates: two characters RE2 treats as
 * equal under `i` fold to the same code unit (lower case of the upper case, so "ſ"/"s"/"S" and
 * "K"/"k" meet). It may join more than RE2 does, which only admits more candidates.
 */
const FOLD = new Uint16Array(0x10000);
const FOLDED = new Uint8Array(0x10000);

export function fold(c: number): number {
  if (FOLDED[c]) return FOLD[c]!;
  let f = c;
  if (c < 0xd800 || c > 0xdfff) {
    const s = String.fromCharCode(c);
    const up = s.toUpperCase();
    const low = (up.length === 1 ? up : s).toLowerCase();
    if (low.length === 1) f = low.charCodeAt(0);
    else {
      const l = s.toLowerCase();
      if (l.length === 1) f = l.charCodeAt(0);
    }
  }
  FOLD[c] = f;
  FOLDED[c] = 1;
  return f;
}
for (let c = 0; c < 0x80; c++) fold(c);

const foldString = (s: string): string => {
  let out = '';
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(fold(s.charCodeAt(i)));
  return out;
};

interface Info {
  /** The node matches exactly one of these (folded) strings; undefined when not known. */
  exact?: Set<string>;
  match: Formula;
}

const exactInfo = (xs: Iterable<string>): Info => ({ exact: new Set(xs), match: ALL });
const EMPTY = (): Info => exactInfo(['']);
const ANY = (): Info => ({ match: ALL });

function and(xs: Formula[]): Formula {
  const out: Formula[] = [];
  for (const x of xs) {
    if (x.kind === 'all') continue;
    if (x.kind === 'and') out.push(...x.xs);
    else out.push(x);
  }
  if (out.length === 0) return ALL;
  return out.length === 1 ? out[0]! : { kind: 'and', xs: out };
}

function or(xs: Formula[]): Formula {
  const out: Formula[] = [];
  for (const x of xs) {
    if (x.kind === 'all') return ALL;
    if (x.kind === 'or') out.push(...x.xs);
    else out.push(x);
  }
  if (out.length === 0) return ALL;
  return out.length === 1 ? out[0]! : { kind: 'or', xs: out };
}

/** A literal too short to narrow anything down: empty, or one ASCII character. */
const weak = (s: string): boolean => s.length === 0 || (s.length === 1 && s.charCodeAt(0) < 0x80);

function toMatch(info: Info): Formula {
  if (!info.exact) return info.match;
  const xs = [...info.exact];
  if (xs.some(weak)) return info.match;
  // A string that contains another of the set adds nothing: the shorter one is present whenever it is.
  const kept = xs.filter((s) => !xs.some((t) => t !== s && s.includes(t)));
  return and([info.match, or(kept.map((s) => ({ kind: 'lit', s }) as const))]);
}

function product(a: Set<string>, b: Set<string>): Set<string> | undefined {
  if (a.size * b.size > MAX_EXACT) return undefined;
  const out = new Set<string>();
  for (const x of a) for (const y of b) out.add(x + y);
  return out;
}

function concat(infos: Info[]): Info {
  let acc: Formula[] = [];
  let cur = new Set(['']);
  let exactOnly = true;
  for (const info of infos) {
    if (info.exact) {
      const p = product(cur, info.exact);
      if (p) cur = p;
      else {
        acc.push(toMatch({ exact: cur, match: ALL }));
        cur = info.exact;
        exactOnly = false;
      }
    } else {
      acc.push(toMatch({ exact: cur, match: ALL }), info.match);
      cur = new Set(['']);
      exactOnly = false;
    }
  }
  if (exactOnly) return { exact: cur, match: ALL };
  acc = [...acc, toMatch({ exact: cur, match: ALL })];
  return { match: and(acc) };
}

function alternate(infos: Info[]): Info {
  if (infos.every((i) => i.exact)) {
    const u = new Set<string>();
    for (const i of infos) for (const s of i.exact!) u.add(s);
    if (u.size <= MAX_EXACT) return { exact: u, match: ALL };
  }
  return { match: or(infos.map(toMatch)) };
}

function repeat(info: Info, min: number, max: number): Info {
  if (min === 0) {
    if (max === 1 && info.exact && info.exact.size + 1 <= MAX_EXACT) return exactInfo([...info.exact, '']);
    return ANY();
  }
  if (min === 1 && max === 1) return info;
  if (info.exact && min === max && min <= 4) {
    let acc: Set<string> | undefined = new Set(['']);
    for (let i = 0; i < min && acc; i++) acc = product(acc, info.exact);
    if (acc) return { exact: acc, match: ALL };
  }
  return { match: toMatch(info) };
}

const CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'p', 'P', 'C']);
const ZERO_WIDTH_ESCAPES = new Set(['b', 'B', 'A', 'z']);
const CONTROL: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, a: 7 };

/** The pattern cannot be analysed: the caller must treat the rule as always a candidate. */
export class PrefilterParseError extends Error {}

/** What the prefilter knows about one pattern. */
export interface Analysis {
  /** Literals every match contains. */
  formula: Formula;
  /**
   * True when no match can contain a line feed and the pattern has no start- or end-of-text
   * anchor: every match then lies inside one line, and a line looks the same to the pattern
   * whether it is searched alone or in its text (its edges are non-word, line-start, line-end).
   */
  lineBound: boolean;
}

/**
 * Parses an RE2 pattern into the formula its matches satisfy. Throws PrefilterParseError on syntax
 * it does not know rather than guess.
 */
export function requiredLiterals(pattern: string): Formula {
  return analyse(pattern).formula;
}

/** Whether a class member can be a line feed: surely, surely not, or not known. */
type NL = 'yes' | 'no' | 'maybe';

const classEscapeNL = (c: string, name: string): NL => {
  if (c === 's' || c === 'W' || c === 'D') return 'yes';
  if (c === 'S' || c === 'w' || c === 'd') return 'no';
  if (c === 'p' && /^[LN]/.test(name)) return 'no';
  return 'maybe';
};

/** Parses a pattern (see requiredLiterals) and also says whether its matches stay on one line. */
export function analyse(pattern: string): Analysis {
  let i = 0;
  let multiline = false;
  let dotAll = false;
  let crossesLine = false;
  let anchored = false;
  let lastEscapeName = '';
  const fail = (what: string): never => {
    throw new PrefilterParseError(`${what} at offset ${i} of pattern`);
  };

  /** Reads one escape (after the backslash) outside a class; returns a literal code unit or a kind. */
  const readEscape = (): { lit: number } | { kind: 'class' | 'empty' } => {
    const c = pattern[i];
    if (c === undefined) return fail('trailing backslash');
    i++;
    if (CLASS_ESCAPES.has(c)) {
      lastEscapeName = '';
      if ((c === 'p' || c === 'P') && pattern[i] === '{') {
        const end = pattern.indexOf('}', i);
        if (end < 0) fail('unclosed \\p{');
        lastEscapeName = pattern.slice(i + 1, end);
        i = end + 1;
      } else if (c === 'p' || c === 'P') lastEscapeName = pattern[i++] ?? '';
      return { kind: 'class' };
    }
    if (ZERO_WIDTH_ESCAPES.has(c)) {
      if (c === 'A' || c === 'z') anchored = true;
      return { kind: 'empty' };
    }
    if (c in CONTROL) return { lit: CONTROL[c]! };
    if (c === 'x') {
      if (pattern[i] === '{') {
        const end = pattern.indexOf('}', i);
        if (end < 0) fail('unclosed \\x{');
        const cp = Number.parseInt(pattern.slice(i + 1, end), 16);
        i = end + 1;
        if (!Number.isFinite(cp)) fail('bad \\x{}');
        return cp > 0xffff ? { kind: 'class' } : { lit: cp };
      }
      const cp = Number.parseInt(pattern.slice(i, i + 2), 16);
      if (!/^[0-9A-Fa-f]{2}$/.test(pattern.slice(i, i + 2))) fail('bad \\x');
      i += 2;
      return { lit: cp };
    }
    if (/[0-9A-Za-z]/.test(c)) return fail(`unknown escape \\${c}`);
    return { lit: c.charCodeAt(0) };
  };

  const charClass = (): Info => {
    // Just after '['.
    let negated = false;
    if (pattern[i] === '^') {
      negated = true;
      i++;
    }
    const chars = new Set<number>();
    let broad = negated;
    let first = true;
    let nl = 'no' as NL;
    const addNL = (x: NL) => {
      if (x === 'yes' || (x === 'maybe' && nl === 'no')) nl = x;
    };
    const member = (): number | undefined => {
      const c = pattern[i];
      if (c === undefined) return fail('unclosed character class');
      if (c === '\\') {
        i++;
        const esc = pattern[i]!;
        const e = readEscape();
        if ('lit' in e) return e.lit;
        addNL(classEscapeNL(esc, lastEscapeName));
        broad = true;
        return undefined;
      }
      if (c === '[' && pattern[i + 1] === ':') {
        const end = pattern.indexOf(':]', i + 2);
        if (end < 0) fail('unclosed [:class:]');
        const name = pattern.slice(i + 2, end);
        addNL(name === 'space' || name === 'cntrl' ? 'yes' : name.startsWith('^') ? 'maybe' : 'no');
        i = end + 2;
        broad = true;
        return undefined;
      }
      i++;
      return c.charCodeAt(0);
    };
    while (first || pattern[i] !== ']') {
      if (pattern[i] === undefined) fail('unclosed character class');
      first = false;
      const lo = member();
      if (pattern[i] === '-' && pattern[i + 1] !== ']' && lo !== undefined) {
        i++;
        const hi = member();
        if (hi === undefined || hi < lo) fail('bad class range');
        if (lo <= 10 && hi! >= 10) addNL('yes');
        if (hi! - lo > 16) broad = true;
        else for (let c = lo; c <= hi!; c++) chars.add(c);
      } else if (lo !== undefined) {
        if (lo === 10) addNL('yes');
        chars.add(lo);
      }
    }
    i++;
    if (negated ? nl !== 'yes' : nl !== 'no') crossesLine = true;
    if (broad || chars.size === 0) return ANY();
    const folded = new Set([...chars].map((c) => String.fromCharCode(fold(c))));
    return folded.size <= MAX_EXACT ? exactInfo(folded) : ANY();
  };

  /** Reads a quantifier at `i` if there is one: [min, max] (max Infinity when unbounded). */
  const quantifier = (): [number, number] | undefined => {
    const c = pattern[i];
    let q: [number, number] | undefined;
    if (c === '*') q = [0, Number.POSITIVE_INFINITY];
    else if (c === '+') q = [1, Number.POSITIVE_INFINITY];
    else if (c === '?') q = [0, 1];
    if (q) i++;
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(pattern.slice(i, i + 24));
      if (!m) return undefined;
      const min = Number(m[1]);
      const max = m[2] ? (m[3] ? Number(m[3]) : Number.POSITIVE_INFINITY) : min;
      q = [min, max];
      i += m[0].length;
    } else return undefined;
    if (pattern[i] === '?') i++;
    return q;
  };

  const alternation = (): Info => {
    const branches: Info[] = [sequence()];
    while (pattern[i] === '|') {
      i++;
      branches.push(sequence());
    }
    return branches.length === 1 ? branches[0]! : alternate(branches);
  };

  const sequence = (): Info => {
    const items: Info[] = [];
    while (i < pattern.length && pattern[i] !== '|' && pattern[i] !== ')') {
      let atom: Info;
      const c = pattern[i]!;
      if (c === '(') {
        i++;
        if (pattern[i] === '?') {
          i++;
          if (pattern[i] === 'P' || pattern[i] === '<') {
            const end = pattern.indexOf('>', i);
            if (end < 0) fail('unclosed group name');
            i = end + 1;
          } else {
            const m = /^[imsU-]*/.exec(pattern.slice(i))!;
            const on = m[0].split('-')[0]!;
            // Conservative: a flag turned on anywhere counts for the whole pattern.
            if (on.includes('m')) multiline = true;
            if (on.includes('s')) dotAll = true;
            i += m[0].length;
            if (pattern[i] === ')') {
              // Flags for the rest of the group: matches nothing itself.
              i++;
              continue;
            }
            if (pattern[i] !== ':') fail('unknown group syntax');
            i++;
          }
        }
        atom = alternation();
        if (pattern[i] !== ')') fail('unclosed group');
        i++;
      } else if (c === '[') {
        i++;
        atom = charClass();
      } else if (c === '\\') {
        i++;
        if (pattern[i] === 'Q') {
          const end = pattern.indexOf('\\E', i + 1);
          const lit = pattern.slice(i + 1, end < 0 ? pattern.length : end);
          i = end < 0 ? pattern.length : end + 2;
          atom = exactInfo([foldString(lit)]);
        } else {
          const esc = pattern[i]!;
          const e = readEscape();
          if ('lit' in e) {
            if (e.lit === 10) crossesLine = true;
            atom = exactInfo([String.fromCharCode(fold(e.lit))]);
          } else if (e.kind === 'empty') atom = EMPTY();
          else {
            if (classEscapeNL(esc, lastEscapeName) !== 'no') crossesLine = true;
            atom = ANY();
          }
        }
      } else if (c === '^' || c === '$') {
        if (!multiline) anchored = true;
        i++;
        atom = EMPTY();
      } else if (c === '.') {
        if (dotAll) crossesLine = true;
        i++;
        atom = ANY();
      } else if (c === '*' || c === '+' || c === '?') {
        return fail('quantifier without operand');
      } else {
        const cp = pattern.codePointAt(i)!;
        const w = cp > 0xffff ? 2 : 1;
        if (cp === 10) crossesLine = true;
        atom = exactInfo([w === 2 ? pattern.slice(i, i + 2) : String.fromCharCode(fold(cp))]);
        i += w;
      }
      for (let q = quantifier(); q; q = quantifier()) atom = repeat(atom, q[0], q[1]);
      items.push(atom);
    }
    return items.length === 1 ? items[0]! : concat(items);
  };

  const top = alternation();
  if (i !== pattern.length) fail('unbalanced parenthesis');
  return { formula: toMatch(top), lineBound: !crossesLine && !anchored };
}

/** Every literal a formula mentions. */
export function literalsOf(f: Formula, out: Set<string> = new Set()): Set<string> {
  if (f.kind === 'lit') out.add(f.s);
  else if (f.kind === 'and' || f.kind === 'or') for (const x of f.xs) literalsOf(x, out);
  return out;
}

/** A formula over literal ids, evaluated against the ids found in one text. */
type Compiled = { kind: 'all' } | { kind: 'lit'; id: number } | { kind: 'and' | 'or'; xs: Compiled[] };

function compileFormula(f: Formula, ids: Map<string, number>): Compiled {
  if (f.kind === 'lit') return { kind: 'lit', id: ids.get(f.s)! };
  if (f.kind === 'all') return f;
  return { kind: f.kind, xs: f.xs.map((x) => compileFormula(x, ids)) };
}

/**
 * Aho-Corasick automaton over folded literals. ASCII transitions are a dense table (the automaton is
 * complete there, so one lookup per character); other characters follow failure links.
 */
class Automaton {
  private readonly ascii: Int32Array;
  private readonly wide = new Map<number, number>();
  private readonly fail: Int32Array;
  /** Literal ids that end in each state (through dictionary suffix links too), or undefined. */
  private readonly out: (Int32Array | undefined)[];
  /** Code units that occur in some literal: any other character sends the automaton to the root. */
  private readonly used = new Uint8Array(0x10000);

  constructor(literals: readonly string[]) {
    const children: Map<number, number>[] = [new Map()];
    const ends: number[][] = [[]];
    for (const [id, lit] of literals.entries()) {
      let s = 0;
      for (let k = 0; k < lit.length; k++) {
        const c = lit.charCodeAt(k);
        this.used[c] = 1;
        let next = children[s]!.get(c);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          ends.push([]);
          children[s]!.set(c, next);
        }
        s = next;
      }
      ends[s]!.push(id);
    }
    const n = children.length;
    this.ascii = new Int32Array(n * 128);
    this.fail = new Int32Array(n);
    this.out = new Array(n);
    const outs: number[][] = ends.map((e) => [...e]);
    const order: number[] = [];
    for (const [c, t] of children[0]!) {
      order.push(t);
      if (c < 128) this.ascii[c] = t;
      else this.wide.set(c, t);
    }
    for (let q = 0; q < order.length; q++) {
      const s = order[q]!;
      const f = this.fail[s]!;
      outs[s]!.push(...outs[f]!);
      for (let c = 0; c < 128; c++) {
        const t = children[s]!.get(c);
        this.ascii[s * 128 + c] = t ?? this.ascii[f * 128 + c]!;
      }
      for (const [c, t] of children[s]!) {
        if (c < 128) {
          this.fail[t] = this.ascii[f * 128 + c]!;
        } else {
          this.wide.set(s * 0x10000 + c, t);
          this.fail[t] = this.step(f, c);
        }
        order.push(t);
      }
    }
    for (let s = 0; s < n; s++) if (outs[s]!.length) this.out[s] = Int32Array.from(new Set(outs[s]));
  }

  private step(state: number, c: number): number {
    let s = state;
    for (;;) {
      const t = s === 0 ? this.wide.get(c) : this.wide.get(s * 0x10000 + c);
      if (t !== undefined) return t;
      if (s === 0) return 0;
      s = this.fail[s]!;
    }
  }

  /**
   * Marks `seen[id] = stamp` for every literal id occurring in text[start, end) (after folding),
   * and lists in `lines[id]` the lines (numbered from 0 at `start`) where it ends, in order.
   * Returns where each line starts.
   */
  scan(text: string, start: number, end: number, seen: Int32Array, stamp: number, lines: number[][]): number[] {
    const { ascii, out, used } = this;
    const starts = [start];
    let line = 0;
    let s = 0;
    for (let i = start; i < end; i++) {
      let c = text.charCodeAt(i);
      if (c < 128) {
        if (c === 10) {
          line++;
          starts.push(i + 1);
        }
        c = FOLD[c]!;
        s = ascii[s * 128 + c]!;
      } else {
        // A character past ASCII can fold into it (Kelvin sign to "k", long s to "s").
        c = fold(c);
        if (c < 128) s = ascii[s * 128 + c]!;
        else s = used[c] ? this.step(s, c) : 0;
      }
      const o = out[s];
      if (o === undefined) continue;
      for (let k = 0; k < o.length; k++) {
        const id = o[k]!;
        const at = lines[id]!;
        if (seen[id] !== stamp) {
          seen[id] = stamp;
          at.length = 0;
          at.push(line);
        } else if (at[at.length - 1] !== line) at.push(line);
      }
    }
    return starts;
  }
}

/** A rule that may match, and where: the lines to search (start, end offsets), or the whole text. */
export interface Candidate {
  index: number;
  lines?: Array<[number, number]>;
}

type Lines = number[] | 'all';

function intersect(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return out;
}

function union(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out[out.length - 1] !== x) out.push(x);
  }
  return out;
}

/** Which of a list of patterns can match a text, and on which lines, from the literals it contains. */
export class Prefilter {
  private readonly automaton: Automaton;
  private readonly formulas: Compiled[];
  private readonly lineBound: boolean[];
  private readonly seen: Int32Array;
  private readonly lines: number[][];
  private stamp = 0;

  constructor(patterns: readonly string[]) {
    const parsed = patterns.map((p): Analysis => {
      try {
        return analyse(p);
      } catch (e) {
        if (e instanceof PrefilterParseError) return { formula: ALL, lineBound: false };
        throw e;
      }
    });
    const literals = new Set<string>();
    for (const a of parsed) literalsOf(a.formula, literals);
    const list = [...literals];
    const ids = new Map(list.map((s, k) => [s, k]));
    this.automaton = new Automaton(list);
    this.formulas = parsed.map((a) => compileFormula(a.formula, ids));
    this.lineBound = parsed.map((a) => a.lineBound);
    this.seen = new Int32Array(list.length);
    this.lines = list.map(() => []);
  }

  /**
   * The patterns that may match text[start, end), in ascending order. A pattern whose matches
   * stay on one line comes with the lines on which its whole formula holds; one with no such
   * line is left out.
   */
  candidates(text: string, start = 0, end = text.length): Candidate[] {
    this.stamp = (this.stamp + 1) | 0;
    if (this.stamp === 0) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const starts = this.automaton.scan(text, start, end, this.seen, this.stamp, this.lines);
    const out: Candidate[] = [];
    for (let k = 0; k < this.formulas.length; k++) {
      const f = this.formulas[k]!;
      if (!this.holds(f)) continue;
      if (!this.lineBound[k]) {
        out.push({ index: k });
        continue;
      }
      const at = this.linesWhere(f);
      if (at === 'all') {
        out.push({ index: k });
        continue;
      }
      if (at.length === 0) continue;
      out.push({
        index: k,
        lines: at.map((l): [number, number] => [starts[l]!, l + 1 < starts.length ? starts[l + 1]! - 1 : end]),
      });
    }
    return out;
  }

  private holds(f: Compiled): boolean {
    switch (f.kind) {
      case 'all':
        return true;
      case 'lit':
        return this.seen[f.id] === this.stamp;
      case 'and':
        for (const x of f.xs) if (!this.holds(x)) return false;
        return true;
      case 'or':
        for (const x of f.xs) if (this.holds(x)) return true;
        return false;
    }
  }

  /** Lines on which the formula holds (its literals found on that line alone). */
  private linesWhere(f: Compiled): Lines {
    switch (f.kind) {
      case 'all':
        return 'all';
      case 'lit':
        return this.seen[f.id] === this.stamp ? this.lines[f.id]! : [];
      case 'and': {
        let acc: Lines = 'all';
        for (const x of f.xs) {
          const l = this.linesWhere(x);
          if (l === 'all') continue;
          acc = acc === 'all' ? l : intersect(acc, l);
          if (acc.length === 0) return acc;
        }
        return acc;
      }
      case 'or': {
        let acc: number[] = [];
        for (const x of f.xs) {
          const l = this.linesWhere(x);
          if (l === 'all') return 'all';
          acc = union(acc, l);
        }
        return acc;
      }
    }
  }
}

const utf16 = new TextDecoder('utf-16le');

/** The text folded as the prefilter folds literals (one code unit to one, positions kept). */
export function foldText(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text.toLowerCase();
  const units = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) units[i] = fold(text.charCodeAt(i));
  return utf16.decode(units);
}

function holdsIn(f: Formula, folded: string): boolean {
  switch (f.kind) {
    case 'all':
      return true;
    case 'lit':
      return folded.includes(f.s);
    case 'and':
      return f.xs.every((x) => holdsIn(x, folded));
    case 'or':
      return f.xs.some((x) => holdsIn(x, folded));
  }
}

/**
 * For a handful of fixed patterns: says, from substring checks on the folded text, whether the
 * pattern can match at all, so an expensive regex pass is skipped when it cannot.
 */
export class LiteralGate {
  private readonly formula: Formula;
  constructor(pattern: string) {
    try {
      this.formula = requiredLiterals(pattern);
    } catch (e) {
      if (!(e instanceof PrefilterParseError)) throw e;
      this.formula = ALL;
    }
  }

  /** False only when the pattern cannot match a text whose `foldText` is `folded`. */
  mayMatch(folded: string): boolean {
    return holdsIn(this.formula, folded);
  }
}
