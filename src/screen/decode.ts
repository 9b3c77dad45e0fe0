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

const BASE64 = new RE2('[A-Za-z0-9+/_-]{16,}={0,2}', 'g');
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

function decodePercentRun(seg: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < seg.length; i++) {
    if (seg[i] === '%' && i + 2 < seg.length + 0 && /^[0-9A-Fa-f]{2}$/.test(seg.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(seg.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(seg[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
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
  const soft = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-F]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Replaces every match of `re` that `decode` accepts by its decoding; counts replacements. */
function replaceSegments(
  text: string,
  re: RE2,
  decode: (seg: string) => string | undefined,
  limits: DecodeLimits,
  budget: { segments: number },
  pad = true,
): string {
  let out = '';
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (budget.segments >= limits.maxSegments) break;
    const seg = m[0];
    if (seg.length === 0) {
      re.lastIndex++;
      continue;
    }
    if (seg.length > limits.maxSegmentChars) continue;
    const dec = decode(seg);
    if (dec === undefined || dec === seg) continue;
    budget.segments++;
    // Blobs are set apart by spaces; in-place escapes (entities, percent runs) are part of their word.
    out += pad ? `${text.slice(last, m.index)} ${dec} ` : text.slice(last, m.index) + dec;
    last = m.index + seg.length;
  }
  return last === 0 ? text : out + text.slice(last);
}

function countMatches(text: string, re: RE2, atLeast: number): boolean {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) if (++n >= atLeast) return true;
  return false;
}

/**
 * One decoding pass: encoded segments (base64, base32, hex, percent runs, HTML entities,
 * quoted-printable) are replaced in place by their text, so context around them is kept.
 */
function decodeOnce(text: string, limits: DecodeLimits, budget: { segments: number }): string {
  let t = text;
  if (t.includes('&')) t = replaceSegments(t, ENTITY, decodeEntity, limits, budget, false);
  if (t.includes('%')) t = replaceSegments(t, PERCENT, decodePercentRun, limits, budget, false);
  if (t.includes('=') && countMatches(t, QP, 3)) {
    const qp = decodeQuotedPrintable(t);
    if (qp !== t) {
      budget.segments++;
      t = qp;
    }
  }
  t = replaceSegments(t, HEX, decodeHex, limits, budget);
  t = replaceSegments(t, BASE32, decodeBase32, limits, budget);
  t = replaceSegments(t, BASE64, decodeBase64, limits, budget);
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

/** ROT13 of ASCII letters. */
export function rot13(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) out += String.fromCharCode(((c - 65 + 13) % 26) + 65);
    else if (c >= 97 && c <= 122) out += String.fromCharCode(((c - 97 + 13) % 26) + 97);
    else out += text[i];
  }
  return out;
}
