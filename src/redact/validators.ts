/**
 * Offline validators: checksums, entropy and placeholder tests that turn a regex candidate into a finding.
 * Each is linear in its input and allocation-light, because they run on every candidate of the hot path.
 */

const ASCII_COUNTS = new Uint32Array(128);

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    ASCII_COUNTS[c]!++;
  }
  let h = 0;
  if (ascii) {
    // Typed-array counts: this runs on every candidate of the hot path.
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      const k = ASCII_COUNTS[c]!;
      if (k === 0) continue;
      const p = k / n;
      h -= p * Math.log2(p);
      ASCII_COUNTS[c] = 0;
    }
    return h;
  }
  ASCII_COUNTS.fill(0);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  for (const k of counts.values()) {
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3) of the ASCII/Latin-1 code units of `s`. */
export function crc32(s: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < s.length; i++) crc = CRC_TABLE[(crc ^ s.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function base62(n: number, width: number): string {
  let s = '';
  let v = n;
  do {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  } while (v > 0);
  return s.padStart(width, '0');
}

/**
 * GitHub (`ghp_ gho_ ghu_ ghs_ ghr_`) and npm (`npm_`) tokens: 30 random base62 characters followed by the
 * CRC-32 of those 30 characters in base62, left-padded to 6. Checked against the published example tokens in
 * the detect-secrets and secretlint test suites.
 */
export function checksumTokenValid(token: string): boolean {
  const m = /^(?:gh[pousr]|npm)_([A-Za-z0-9]{30})([A-Za-z0-9]{6})$/.exec(token);
  if (!m) return false;
  return base62(crc32(m[1]!), 6) === m[2];
}

/** Luhn mod-10 over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Card brand by IIN range and length (ISO/IEC 7812 issuer ranges as published by the networks). */
export function cardBrand(digits: string): string | undefined {
  const len = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4' && (len === 13 || len === 16 || len === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p6 >= 222100 && p6 <= 272099)) && len === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && len === 15) return 'amex';
  if (
    (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) &&
    len >= 16 &&
    len <= 19
  )
    return 'discover';
  if (p4 >= 3528 && p4 <= 3589 && len >= 16 && len <= 19) return 'jcb';
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39 || p3 === 309) && len >= 14 && len <= 19)
    return 'diners';
  if (p2 === 62 && len >= 16 && len <= 19) return 'unionpay';
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && len >= 12 && len <= 19) return 'maestro';
  if (p4 >= 2200 && p4 <= 2204 && len === 16) return 'mir';
  return undefined;
}

/** IBAN lengths per country (SWIFT IBAN registry). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** IBAN: known country, its registered length, and ISO 7064 mod-97 == 1. `iban` has no spaces. */
export function ibanValid(iban: string): boolean {
  const s = iban.toUpperCase();
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (len === undefined || s.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    const v = c >= 65 ? c - 55 : c - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

/** US SSN: area not 000, 666 or 900-999; group not 00; serial not 0000; and not a well-known advertising number. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const whole = area + group + serial;
  if (whole === '078051120' || whole === '219099999' || whole === '123456789') return false;
  return true;
}

/** UK NHS number: 10 digits, mod-11 check digit with weights 10..2. */
export function nhsValid(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (digits.charCodeAt(i) - 48) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10) return false;
  return check === digits.charCodeAt(9) - 48;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): mod-23 control letter. */
export function dniNieValid(id: string): boolean {
  const s = id.toUpperCase();
  let num: string;
  if (/^\d{8}[A-Z]$/.test(s)) num = s.slice(0, 8);
  else if (/^[XYZ]\d{7}[A-Z]$/.test(s)) num = String('XYZ'.indexOf(s[0]!)) + s.slice(1, 8);
  else return false;
  return DNI_LETTERS[Number(num) % 23] === s[8];
}

const CF_ODD: Record<string, number> = {
  '0': 1,
  '1': 0,
  '2': 5,
  '3': 7,
  '4': 9,
  '5': 13,
  '6': 15,
  '7': 17,
  '8': 19,
  '9': 21,
  A: 1,
  B: 0,
  C: 5,
  D: 7,
  E: 9,
  F: 13,
  G: 15,
  H: 17,
  I: 19,
  J: 21,
  K: 2,
  L: 4,
  M: 18,
  N: 20,
  O: 11,
  P: 3,
  Q: 6,
  R: 8,
  S: 12,
  T: 14,
  U: 16,
  V: 10,
  W: 22,
  X: 25,
  Y: 24,
  Z: 23,
};

/** Italian codice fiscale: 16 characters, the last a check letter over odd/even position tables. */
export function codiceFiscaleValid(cf: string): boolean {
  const s = cf.toUpperCase();
  if (!/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const ch = s[i]!;
    if (i % 2 === 0) sum += CF_ODD[ch]!;
    else sum += ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : ch.charCodeAt(0) - 65;
  }
  return String.fromCharCode(65 + (sum % 26)) === s[15];
}

/** Polish PESEL: 11 digits, weights 1,3,7,9 repeating, and a plausible birth month (century-encoded). */
export function peselValid(digits: string): boolean {
  if (!/^\d{11}$/.test(digits)) return false;
  const w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (digits.charCodeAt(i) - 48) * w[i]!;
  if ((10 - (sum % 10)) % 10 !== digits.charCodeAt(10) - 48) return false;
  const month = Number(digits.slice(2, 4)) % 20;
  const day = Number(digits.slice(4, 6));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/** Verhoeff check over a digit string (the last digit is the check digit). */
export function verhoeffValid(digits: string): boolean {
  let c = 0;
  const n = digits.length;
  for (let i = 0; i < n; i++) {
    const d = digits.charCodeAt(n - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![d]!]!;
  }
  return c === 0;
}

/** Indian Aadhaar: 12 digits, first digit 2-9, Verhoeff check digit. */
export function aadhaarValid(digits: string): boolean {
  return /^[2-9]\d{11}$/.test(digits) && verhoeffValid(digits);
}

/**
 * A JWT candidate whose header segment decodes to a JSON object with a string `alg` ('valid'); or, when the
 * header is damaged (an edited or mis-pasted `alg` value) but still an object naming `alg`, whose payload decodes
 * to a JSON object ('damaged': the token still carries its claims). Otherwise false.
 */
export function jwtCheck(token: string): 'valid' | 'damaged' | false {
  const dot = token.indexOf('.');
  if (dot < 10) return false;
  const text = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8').trim();
  // Cheap shape test first: most candidates fail it, and a thrown JSON.parse costs microseconds.
  if (!text.startsWith('{') || !text.endsWith('}') || !text.includes('"alg"')) return false;
  if (parsesToObject(text, 'alg')) return 'valid';
  const end = token.indexOf('.', dot + 1);
  const payload = Buffer.from(token.slice(dot + 1, end < 0 ? undefined : end), 'base64url')
    .toString('utf8')
    .trim();
  return payload.startsWith('{') && parsesToObject(payload) ? 'damaged' : false;
}

/** Back-compatible predicate: the header decodes to a JSON object with a string `alg`. */
export function jwtHeaderValid(token: string): boolean {
  return jwtCheck(token) === 'valid';
}

function parsesToObject(text: string, stringKey?: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    return stringKey === undefined || typeof (v as Record<string, unknown>)[stringKey] === 'string';
  } catch {
    return false;
  }
}

const PLACEHOLDER_WORDS =
  /(?:example|sample|dummy|placeholder|changeme|change_me|your[_-]?(?:api[_-]?)?(?:key|token|secret|password)|redacted|insert[_-]?|replace[_-]?me|foobar|lorem|xxxx|\*\*\*\*|\.\.\.\.)/i;

/**
 * True for values that are obviously not real credentials: `AKIA…EXAMPLE`, `xxxx`, `${VAR}`, `{{ var }}`,
 * `<token>`, `%VAR%`, `$VAR`, runs of one character, and sequential alphabets or digits.
 */
export function isPlaceholder(value: string): boolean {
  const v = value.trim();
  if (v.length === 0) return true;
  if (/^\$\{[^}]*\}$|^\$\(?[A-Za-z_][A-Za-z0-9_]*\)?$|^\{\{[^}]*\}\}$|^<[^>]*>$|^%[A-Za-z_]+%$|^@[A-Za-z_]+@$/.test(v))
    return true;
  if (/\$\{[A-Za-z_][A-Za-z0-9_.]*\}|\{\{\s*[\w.]+\s*\}\}|<[a-z_-]{3,}>/i.test(v)) return true;
  if (PLACEHOLDER_WORDS.test(v)) return true;
  if (/^(.)\1+$/.test(v)) return true;
  const lower = v.toLowerCase();
  if (/abcdefghij|0123456789|1234567890|qwertyuiop/.test(lower)) return true;
  // A value made of a repeated short unit (`abcabcabc`, `1234123412341234`).
  for (let unit = 1; unit <= 4; unit++) {
    if (
      v.length >= unit * 4 &&
      v
        .slice(0, unit)
        .repeat(Math.ceil(v.length / unit))
        .slice(0, v.length) === v
    )
      return true;
  }
  return false;
}

/** Character classes present in `s`: lower, upper, digit, other (a cheap proxy for "looks random"). */
export function charClassCount(s: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}
