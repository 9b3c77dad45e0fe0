import RE2 from 're2';

/** Caps that keep decoding bounded whatever the input. */
export interface DecodeLimits {
  /** Recursion depth: a decoded segment is decoded again at most this many times in total. */
  depth: number;
  /** Most segments decoded per pass. */
  maxSegments: number;
  /** Longest encoded segment considered, in characters. */
  maxSegmentChars: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { depth: 2, maxSegments: 64, maxSegmentChars: 64 * 1024 };

const BASE32 = new RE2('(?:[A-Z2-7]{8}){2,}(?:[A-Z2-7]{0,7}=*)', 'g');
const HEX = new RE2('(?:\\\\x|0x)?[0-9A-Fa-f]{2}(?:[\\s:,]?(?:\\\\x|0x)?[0-9A-Fa-f]{2}){7,}', 'g');
const PERCENT = new RE2('(?:%[0-9A-Fa-f]{2}[^%\\s]{0,3}){3,}', 'g');
const ENTITY = new RE2('&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});', 'g');
const QP = new RE2('(?:=[0-9A-F]{2}|=\\r?\\n)', 'g');

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  hyphen: '-',
  colon: ':',
  sol: '/',
  lpar: '(',
  rpar: ')',
  period: '.',
  comma: ',',
  excl: '!',
  quest: '?',
  num: '#',
  lsqb: '[',
  rsqb: ']',
  lbrace: '{',
  rbrace: '}',
};

/** True when the bytes are valid UTF-8 that reads as text: mostly printable, few controls. */
function asText(buf: Buffer): string | undefined {
  if (buf.length < 6) return undefined;
  const s = buf.toString('utf8');
  if (s.includes('\uFFFD')) return undefined;
  let printable = 0;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c !== 0x7f) || c === 0x0a || c === 0x0d || c === 0x09) printable++;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c > 0x7f) letters++;
  }
  if (printable / s.length < 0.95 || letters / s.length < 0.5) return undefined;
  return s;
}

function decodeBase64(seg: string): string | undefined {
  // A plain long word is not base64: require both cases or a digit so prose is left alone.
  if (!/[0-9+/]/.test(seg) && !(/[a-z]/.test(seg) && /[A-Z]/.test(seg))) return undefined;
  const norm = seg.replace(/-/g, '+').replace(/_/g, '/');
  return asText(Buffer.from(norm, 'base64'));
}

function decodeBase32(seg: string): string | undefined {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of seg) {
    if (ch === '=') break;
    const v = alphabet.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return asText(Buffer.from(bytes));
}

function decodeHex(seg: string): string | undefined {
  const digits = seg.replace(/\\x|0x|[\s:,]/g, '');
  if (digits.length % 2 !== 0) return undefined;
  return asText(Buffer.from(digits, 'hex'));
}

/**
 * UTF-8 bytes of text in which `=XX` (quoted-printable) or `%XX` (percent) escapes, per `marker`,
 * stand for their byte. Every other code unit is encoded on its own, as Buffer.from does for one
 * code unit (a lone surrogate half becomes U+FFFD).
 */
function unescapeBytes(text: string, marker: number, upperOnly: boolean): string {
  const bytes = new Uint8Array(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === marker) {
      const hi = hexDigit(text.charCodeAt(i + 1), upperOnly);
      const lo = hexDigit(text.charCodeAt(i + 2), upperOnly);
      if (hi >= 0 && lo >= 0) {
        bytes[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    if (c < 0x80) bytes[n++] = c;
    else if (c < 0x800) {
      bytes[n++] = 0xc0 | (c >> 6);
      bytes[n++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      bytes[n++] = 0xef;
      bytes[n++] = 0xbf;
      bytes[n++] = 0xbd;
    } else {
      bytes[n++] = 0xe0 | (c >> 12);
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[n++] = 0x80 | (c & 0x3f);
    }
  }
  return Buffer.from(bytes.buffer, 0, n).toString('utf8');
}

/** Value of a hex digit code unit, or -1 (NaN, read past the end, is not a digit). */
function hexDigit(c: number, upperOnly: boolean): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (!upperOnly && c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

function decodePercentRun(seg: string): string {
  return unescapeBytes(seg, 0x25, false);
}

function decodeEntity(ent: string): string {
  const body = ent.slice(1, -1);
  if (body[0] === '#') {
    const cp =
      body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
    if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return ent;
    return String.fromCodePoint(cp);
  }
  return NAMED[body.toLowerCase()] ?? ent;
}

function decodeQuotedPrintable(text: string): string {
  return unescapeBytes(text.replace(/=\r?\n/g, ''), 0x3d, true);
}

/** Matches of a global RE2 in order, as [index, text], skipping empty ones. */
function* matchesOf(text: string, re: RE2): Generator<[number, string]> {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    yield [m.index, m[0]];
  }
}

/**
 * The matches BASE64 finds, without its per-match cost: a greedy leftmost match of a run of 16+
 * alphabet characters is exactly a maximal run of that length, plus up to two "=".
 */
function* base64Runs(text: string): Generator<[number, string]> {
  let i = 0;
  while (i < text.length) {
    if (!isBase64(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && isBase64(text.charCodeAt(i))) i++;
    if (i - start < 16) continue;
    let end = i;
    while (end < text.length && end - i < 2 && text.charCodeAt(end) === 0x3d) end++;
    yield [start, text.slice(start, end)];
    i = end;
  }
}

/** Replaces every segment that `decode` accepts by its decoding; counts replacements. */
function replaceSegments(
  text: string,
  segments: Iterable<[number, string]>,
  decode: (seg: string) => string | undefined,
  limits: DecodeLimits,
  budget: { segments: number },
  pad = true,
): string {
  let out = '';
  let last = 0;
  for (const [index, seg] of segments) {
    if (budget.segments >= limits.maxSegments) break;
    if (seg.length > limits.maxSegmentChars) continue;
    const dec = decode(seg);
    if (dec === undefined || dec === seg) continue;
    budget.segments++;
    // Blobs are set apart by spaces; in-place escapes (entities, percent runs) are part of their word.
    out += pad ? `${text.slice(last, index)} ${dec} ` : text.slice(last, index) + dec;
    last = index + seg.length;
  }
  return last === 0 ? text : out + text.slice(last);
}

function countMatches(text: string, re: RE2, atLeast: number): boolean {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) if (++n >= atLeast) return true;
  return false;
}

// Character classes of the blob alphabets, as bits of one table lookup per code unit.
const B64 = 1;
const B32 = 2;
const HEX_DIGIT = 4;
const HEX_SEP = 8;
const CLASS = new Uint8Array(0x10000);
for (let c = 0; c < 0x80; c++) {
  const upper = c >= 0x41 && c <= 0x5a;
  const lower = c >= 0x61 && c <= 0x7a;
  const digit = c >= 0x30 && c <= 0x39;
  if (upper || lower || digit || c === 0x2b || c === 0x2f || c === 0x5f || c === 0x2d) CLASS[c]! |= B64;
  if (upper || (c >= 0x32 && c <= 0x37)) CLASS[c]! |= B32;
  if (digit || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)) CLASS[c]! |= HEX_DIGIT;
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x3a || c === 0x2c || c === 0x5c || c === 0x78)
    CLASS[c]! |= HEX_SEP;
}
const isBase64 = (c: number): boolean => (CLASS[c]! & B64) !== 0;

/**
 * One linear pass that says whether the hex and base32 patterns can match at all, so prose pays
 * for neither regex pass. Each test is implied by its pattern: base32 needs a run of 16+ of
 * A-Z2-7; hex needs 16+ hex digits with nothing but separators, "\\" and "x" between them.
 */
function scanRuns(text: string): { hex: boolean; base32: boolean } {
  let hex = false;
  let base32 = false;
  let b32Len = 0;
  let hexDigits = 0;
  for (let i = 0; i < text.length; i++) {
    const k = CLASS[text.charCodeAt(i)]!;
    if (k & B32) {
      if (++b32Len >= 16) base32 = true;
    } else b32Len = 0;
    if (k & HEX_DIGIT) {
      if (++hexDigits >= 16) hex = true;
    } else if (!(k & HEX_SEP)) hexDigits = 0;
  }
  return { hex, base32 };
}

/**
 * One decoding pass: encoded segments (base64, base32, hex, percent runs, HTML entities,
 * quoted-printable) are replaced in place by their text, so context around them is kept.
 */
function decodeOnce(text: string, limits: DecodeLimits, budget: { segments: number }): string {
  let t = text;
  if (t.includes('&')) t = replaceSegments(t, matchesOf(t, ENTITY), decodeEntity, limits, budget, false);
  if (t.includes('%')) t = replaceSegments(t, matchesOf(t, PERCENT), decodePercentRun, limits, budget, false);
  if (t.includes('=') && countMatches(t, QP, 3)) {
    const qp = decodeQuotedPrintable(t);
    if (qp !== t) {
      budget.segments++;
      t = qp;
    }
  }
  let runs = scanRuns(t);
  if (runs.hex) {
    const next = replaceSegments(t, matchesOf(t, HEX), decodeHex, limits, budget);
    // Hex can decode to a base32 blob: look again.
    if (next !== t) runs = scanRuns(next);
    t = next;
  }
  if (runs.base32) t = replaceSegments(t, matchesOf(t, BASE32), decodeBase32, limits, budget);
  t = replaceSegments(t, base64Runs(t), decodeBase64, limits, budget);
  return t;
}

/**
 * Bounded recursive decoding. Returns the decoded text (undefined when nothing decoded) and how
 * many segments were decoded. Depth and segment caps keep nested or repeated encodings from
 * growing without bound (a decoding is never longer than its input).
 */
export function decodeLayers(
  text: string,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): { text: string | undefined; segments: number } {
  const budget = { segments: 0 };
  let t = text;
  for (let d = 0; d < limits.depth; d++) {
    const next = decodeOnce(t, limits, budget);
    if (next === t) break;
    t = next;
  }
  return { text: t === text ? undefined : t, segments: budget.segments };
}

const utf16 = new TextDecoder('utf-16le');

/** ROT13 of ASCII letters. */
export function rot13(text: string): string {
  const units = new Uint16Array(text.length);
  let surrogate = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) units[i] = ((c - 65 + 13) % 26) + 65;
    else if (c >= 97 && c <= 122) units[i] = ((c - 97 + 13) % 26) + 97;
    else {
      if (c >= 0xd800 && c <= 0xdfff) surrogate = true;
      units[i] = c;
    }
  }
  if (!surrogate) return utf16.decode(units);
  // A UTF-16 decoder would replace a lone surrogate: build the string unit for unit instead.
  const parts: string[] = [];
  for (let k = 0; k < units.length; k += 8192) parts.push(String.fromCharCode(...units.subarray(k, k + 8192)));
  return parts.join('');
}
