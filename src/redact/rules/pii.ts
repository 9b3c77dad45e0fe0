import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import {
  aadhaarValid,
  cardBrand,
  codiceFiscaleValid,
  dniNieValid,
  ibanValid,
  luhnValid,
  nhsValid,
  peselValid,
  ssnValid,
} from '../validators.js';

/** PII kinds, as named in configuration (`redaction.pii`) and in findings. */
export const PII_KINDS = [
  'email',
  'phone',
  'credit_card',
  'iban',
  'us_ssn',
  'uk_nhs',
  'es_dni',
  'it_codice_fiscale',
  'pl_pesel',
  'in_aadhaar',
] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PiiHit {
  kind: PiiKind;
  start: number;
  end: number;
}

export interface PiiOptions {
  kinds: ReadonlySet<PiiKind>;
  /** Region used for phone numbers written without a country code. */
  defaultCountry?: CountryCode;
}

/**
 * Every candidate is a shape found by a linear-time regex (bounded repetitions, no nested quantifiers) and is
 * confirmed by its check digit or library validation, so a random number of the right length is not PII.
 */
const EMAIL_DOMAIN = /(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b/y;
/** Digit groups with optional single separators: cards, SSNs, phones, NHS, PESEL, Aadhaar. */
const DIGITS = /(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d(?:[ .-]?\d){6,22}/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const CODICE_FISCALE = /\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b/g;

const CONTEXT = {
  ssn: /\b(?:ssn|social security|soc\.? ?sec)/i,
  nhs: /\bnhs\b/i,
  pesel: /\bpesel\b/i,
  aadhaar: /\b(?:aadhaar|aadhar|uidai)\b/i,
  card: /\b(?:card|cc|visa|mastercard|amex|credit|debit|payment|pan)\b/i,
  phone: /\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|contact)\b/i,
};

/** Finds the enabled PII kinds in `text`. */
export function scanPii(text: string, opts: PiiOptions): PiiHit[] {
  const out: PiiHit[] = [];
  const k = opts.kinds;
  if (k.size === 0) return out;
  if (k.has('email')) scanEmails(text, out);
  const wantDigits =
    k.has('credit_card') ||
    k.has('us_ssn') ||
    k.has('phone') ||
    k.has('uk_nhs') ||
    k.has('pl_pesel') ||
    k.has('in_aadhaar');
  if (wantDigits) scanDigitRuns(text, opts, out);
  if (k.has('iban')) {
    for (const m of text.matchAll(IBAN)) {
      const compact = m[0].replace(/ /g, '');
      if (ibanValid(compact)) out.push({ kind: 'iban', start: m.index, end: m.index + m[0].length });
    }
  }
  if (k.has('it_codice_fiscale')) {
    for (const m of text.matchAll(CODICE_FISCALE)) {
      if (codiceFiscaleValid(m[0])) out.push({ kind: 'it_codice_fiscale', start: m.index, end: m.index + m[0].length });
    }
  }
  return out;
}

function isLocalChar(c: number): boolean {
  return isWordChar(c) || c === 46 || c === 37 || c === 43 || c === 45;
}

/** Each `@` is expanded left over the local part and matched right against a domain: linear in the text. */
function scanEmails(text: string, out: PiiHit[]): void {
  let nextDot = -1;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    // A domain needs a dot; with none ahead there is no address left in the text.
    if (nextDot < at) {
      nextDot = text.indexOf('.', at);
      if (nextDot < 0) return;
    }
    if (nextDot - at > 64 * 8) continue;
    let s = at;
    while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    if (s === at) continue;
    const local = text.slice(s, at);
    if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) continue;
    // `user:password@host` is URL userinfo, and `git@github.com` an SSH remote: not personal addresses.
    const prev = s > 0 ? text[s - 1] : '';
    if (prev === ':' || prev === '/' || /^(?:git|noreply|no-reply)$/i.test(local)) continue;
    EMAIL_DOMAIN.lastIndex = at + 1;
    const m = EMAIL_DOMAIN.exec(text);
    if (!m) continue;
    out.push({ kind: 'email', start: s, end: at + 1 + m[0].length });
  }
}

function contextBefore(text: string, at: number, re: RegExp): boolean {
  return re.test(text.slice(Math.max(0, at - 48), at));
}

function scanDigitRuns(text: string, opts: PiiOptions, out: PiiHit[]): void {
  const k = opts.kinds;
  for (const m of text.matchAll(DIGITS)) {
    let raw = m[0];
    const start = m.index;
    // Spanish DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter), found from the same digit runs.
    if (k.has('es_dni') && (raw.length === 7 || raw.length === 8) && /^\d+$/.test(raw)) {
      const s0 = raw.length === 7 && /[XYZ]/.test(text[start - 1] ?? '') ? start - 1 : start;
      let at = start + raw.length;
      if (text[at] === '-') at++;
      const letter = text[at] ?? '';
      const before = s0 > 0 ? text.charCodeAt(s0 - 1) : 32;
      const after = at + 1 < text.length ? text.charCodeAt(at + 1) : 32;
      if (/[A-Z]/.test(letter) && !isWordChar(before) && !isWordChar(after)) {
        if (dniNieValid(text.slice(s0, start) + raw + letter)) out.push({ kind: 'es_dni', start: s0, end: at + 1 });
        continue;
      }
    }
    // Part of a longer token (hex, identifiers, version strings): not a standalone number.
    const prev = start > 0 ? text.charCodeAt(start - 1) : 32;
    const next = start + raw.length < text.length ? text.charCodeAt(start + raw.length) : 32;
    if (isWordChar(prev) || isWordChar(next) || prev === 46 || prev === 47 || next === 47) continue;
    // A trailing separator is not part of the number.
    while (/[ .-]$/.test(raw)) raw = raw.slice(0, -1);
    let nd = 0;
    for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) >= 48 && raw.charCodeAt(i) <= 57) nd++;
    // Longer than any card, phone or id: a number, a table, or an attack on this loop.
    if (nd > 19) continue;
    const digits = raw.replace(/\D/g, '');
    const seps = raw.replace(/[\d+()]/g, '');
    const uniformSep = seps.length === 0 || /^( +|-+|\.+)$/.test(seps);
    if (
      k.has('credit_card') &&
      digits.length >= 12 &&
      digits.length <= 19 &&
      !raw.startsWith('+') &&
      !raw.includes('(') &&
      uniformSep
    ) {
      const cue = cardBrand(digits) !== undefined || contextBefore(text, start, CONTEXT.card);
      if (luhnValid(digits) && cue && !/^(\d)\1+$/.test(digits)) {
        out.push({ kind: 'credit_card', start, end: start + raw.length });
        continue;
      }
    }
    if (k.has('us_ssn') && digits.length === 9 && !raw.startsWith('+')) {
      const f = /^(\d{3})([- ]?)(\d{2})\2(\d{4})$/.exec(raw);
      if (f && ssnValid(f[1]!, f[3]!, f[4]!) && (f[2] !== '' || contextBefore(text, start, CONTEXT.ssn))) {
        out.push({ kind: 'us_ssn', start, end: start + raw.length });
        continue;
      }
    }
    if (k.has('uk_nhs') && digits.length === 10 && /^\d{3}[ -]?\d{3}[ -]?\d{4}$/.test(raw) && nhsValid(digits)) {
      if (contextBefore(text, start, CONTEXT.nhs)) {
        out.push({ kind: 'uk_nhs', start, end: start + raw.length });
        continue;
      }
    }
    if (
      k.has('pl_pesel') &&
      digits.length === 11 &&
      /^\d{11}$/.test(raw) &&
      peselValid(digits) &&
      contextBefore(text, start, CONTEXT.pesel)
    ) {
      out.push({ kind: 'pl_pesel', start, end: start + raw.length });
      continue;
    }
    if (
      k.has('in_aadhaar') &&
      digits.length === 12 &&
      /^\d{4}[ -]?\d{4}[ -]?\d{4}$/.test(raw) &&
      aadhaarValid(digits)
    ) {
      if (raw.length === 14 || contextBefore(text, start, CONTEXT.aadhaar)) {
        out.push({ kind: 'in_aadhaar', start, end: start + raw.length });
        continue;
      }
    }
    if (k.has('phone') && digits.length >= 7 && digits.length <= 15) {
      // A bare digit run, a date or a version is far more often not a phone number: ask for an international
      // prefix, an area code in parentheses, the NANP shape, or a cue word.
      const shaped = raw.startsWith('+') || raw.includes('(') || /^\d{3}[-. ]\d{3}[-. ]\d{4}$/.test(raw);
      if (!shaped && !contextBefore(text, start, CONTEXT.phone)) continue;
      let candidate = raw;
      let candStart = start;
      if (text.charCodeAt(start - 1) === 40 /* ( */ && !raw.startsWith('(')) {
        candidate = `(${raw}`;
        candStart = start - 1;
      }
      const parsed = parsePhoneNumberFromString(candidate, opts.defaultCountry ?? 'US');
      // Valid numbers always count; a possible one (right length, unassigned range) needs a cue or explicit formatting.
      const cued = raw.startsWith('+') || candidate.startsWith('(') || contextBefore(text, start, CONTEXT.phone);
      if (parsed && (parsed.isValid() || (cued && parsed.isPossible())))
        out.push({ kind: 'phone', start: candStart, end: start + raw.length });
    }
  }
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
