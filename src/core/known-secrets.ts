import { KeywordAutomaton } from './keywords.js';

/** A known secret value found in text, in one of its encodings. */
export interface KnownHit {
  /** Name of the secret (vault name or configured name); names are not secret. */
  name: string;
  encoding: 'raw' | 'base64' | 'base64url' | 'hex' | 'url';
  start: number;
  end: number;
}

interface Variant {
  name: string;
  encoding: KnownHit['encoding'];
  text: string;
}

/** Anything that finds known secrets in text: one set, or several combined. */
export interface KnownMatcher {
  find(text: string): KnownHit[];
}

/** Matches every secret of every given set. */
export function unionKnown(...sets: KnownMatcher[]): KnownMatcher {
  return { find: (text) => sets.flatMap((s) => s.find(text)) };
}

/** Shortest value matched exactly: shorter ones would redact ordinary words. */
export const MIN_KNOWN_SECRET_LENGTH = 6;

/**
 * Exact matching of every known secret (vault credentials, configured secrets, secret-looking environment
 * values) in raw, base64 (all three byte alignments, standard and URL-safe), hex and URL-encoded form, so an
 * agent cannot leak a value it was handed by re-encoding it. One case-insensitive Aho-Corasick pass finds
 * candidates; each is then compared case-sensitively (hex matches either case).
 */
export class KnownSecrets {
  private readonly values = new Map<string, string>();
  private automaton: KeywordAutomaton | undefined;
  private variants: Variant[] = [];
  private nonAscii: Variant[] = [];
  private dirty = true;

  /** Adds or replaces a secret. Values shorter than the minimum are ignored (returns false). */
  set(name: string, value: string): boolean {
    if (value.length < MIN_KNOWN_SECRET_LENGTH) return false;
    if (this.values.get(name) === value) return true;
    this.values.set(name, value);
    this.dirty = true;
    return true;
  }

  delete(name: string): void {
    if (this.values.delete(name)) this.dirty = true;
  }

  get size(): number {
    return this.values.size;
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  /** The raw values, for the audit scrubber. */
  rawValues(): string[] {
    return [...this.values.values()];
  }

  find(text: string): KnownHit[] {
    if (this.values.size === 0) return [];
    this.build();
    const out: KnownHit[] = [];
    this.findIn(text, out, undefined);
    // Percent-encoding any subset of a value's characters (`abc%2Ddef`) makes a variant per subset: the text is
    // decoded instead (twice at most, for double encoding) and matched again, offsets mapped back.
    let cur = text;
    let map: Int32Array | undefined;
    for (let round = 0; round < 2 && cur.includes('%'); round++) {
      const d = percentDecode(cur, map);
      if (!d) break;
      cur = d.text;
      map = d.map;
      this.findIn(cur, out, map);
    }
    return out;
  }

  /** Matches in `text`; with `map`, `text` is a decoded form and only hits that span an escape are new. */
  private findIn(text: string, out: KnownHit[], map: Int32Array | undefined): void {
    const push = (v: Variant, start: number, end: number): void => {
      if (!map) {
        out.push({ name: v.name, encoding: v.encoding, start, end });
        return;
      }
      const s = map[start]!;
      const e = map[end]!;
      // Same length in the original: no escape inside, so the undecoded pass already reported it.
      if (e - s === end - start) return;
      out.push({ name: v.name, encoding: v.encoding === 'raw' ? 'url' : v.encoding, start: s, end: e });
    };
    if (this.automaton) {
      const variants = this.variants;
      this.automaton.scan(text, (vi, start) => {
        const v = variants[vi]!;
        const end = start + v.text.length;
        const got = text.slice(start, end);
        if (got === v.text || (v.encoding === 'hex' && got.toLowerCase() === v.text)) push(v, start, end);
      });
    }
    for (const v of this.nonAscii) {
      for (let i = text.indexOf(v.text); i >= 0; i = text.indexOf(v.text, i + 1)) push(v, i, i + v.text.length);
    }
  }

  private build(): void {
    if (!this.dirty) return;
    const ascii: Variant[] = [];
    const nonAscii: Variant[] = [];
    const seen = new Set<string>();
    const push = (v: Variant): void => {
      if (v.text.length < MIN_KNOWN_SECRET_LENGTH || seen.has(v.text)) return;
      seen.add(v.text);
      if (/^[\x20-\x7e]+$/.test(v.text)) ascii.push(v);
      else nonAscii.push(v);
    };
    for (const [name, value] of this.values) {
      push({ name, encoding: 'raw', text: value });
      const bytes = Buffer.from(value, 'utf8');
      for (const core of base64Cores(bytes)) {
        push({ name, encoding: 'base64', text: core });
        const url = core.replace(/\+/g, '-').replace(/\//g, '_');
        if (url !== core) push({ name, encoding: 'base64url', text: url });
      }
      push({ name, encoding: 'hex', text: bytes.toString('hex') });
      const enc = encodeURIComponent(value);
      if (enc !== value) push({ name, encoding: 'url', text: enc });
    }
    this.variants = ascii;
    this.nonAscii = nonAscii;
    this.automaton =
      ascii.length > 0
        ? new KeywordAutomaton(ascii.map((v) => ({ keyword: v.text, owner: `known:${v.name}`, allowWeak: true })))
        : undefined;
    this.dirty = false;
  }
}

/**
 * The base64 characters that depend only on the secret's bytes, for each of the three positions the secret
 * can take relative to base64's 3-byte groups. Whatever surrounds the secret in the encoded payload, one of
 * these three strings appears verbatim in its base64 form.
 */
export function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const enc = padded.toString('base64').replace(/=+$/, '');
    const firstGroup = k === 0 ? 0 : 1;
    const fullGroups = Math.floor(padded.length / 3);
    if (fullGroups <= firstGroup) continue;
    cores.push(enc.slice(firstGroup * 4, fullGroups * 4));
  }
  return cores;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * One pass of percent-decoding: every `%XX` that encodes a printable ASCII character becomes it (other escapes,
 * such as UTF-8 bytes, stay as they are). `map[i]` is the offset in the original text of decoded offset `i`
 * (`map[length]` its end), composed with `prev` for a second round. Undefined when nothing was decoded.
 */
export function percentDecode(text: string, prev?: Int32Array): { text: string; map: Int32Array } | undefined {
  const n = text.length;
  const map = new Int32Array(n + 1);
  const parts: string[] = [];
  let o = 0;
  let changed = false;
  let run = 0;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 37 && i + 2 < n) {
      const hi = hexVal(text.charCodeAt(i + 1));
      const lo = hexVal(text.charCodeAt(i + 2));
      const b = hi * 16 + lo;
      if (hi >= 0 && lo >= 0 && b >= 0x20 && b <= 0x7e) {
        parts.push(text.slice(run, i), String.fromCharCode(b));
        map[o++] = prev ? prev[i]! : i;
        i += 3;
        run = i;
        changed = true;
        continue;
      }
    }
    map[o++] = prev ? prev[i]! : i;
    i++;
  }
  if (!changed) return undefined;
  parts.push(text.slice(run));
  map[o] = prev ? prev[n]! : n;
  return { text: parts.join(''), map: map.subarray(0, o + 1) };
}
