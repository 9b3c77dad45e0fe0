/** An encoded run in the text and what it decodes to. */
export interface DecodedRun {
  encoding: 'base64' | 'hex' | 'percent' | 'unicode';
  start: number;
  end: number;
  decoded: string;
}

export interface DecodeLimits {
  /** Shortest encoded run worth decoding. */
  minRun: number;
  /** Most runs decoded per call (each is re-scanned). */
  maxRuns: number;
  /** Most decoded characters per call, across all runs. */
  maxDecoded: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { minRun: 20, maxRuns: 64, maxDecoded: 256 * 1024 };

// Character classes: 1 = base64 (standard and URL-safe alphabets), 2 = also hex, 4 = upper, 8 = lower, 16 = digit.
const CLS = new Uint8Array(128);
for (let c = 65; c <= 90; c++) CLS[c] = 1 | 4;
for (let c = 97; c <= 122; c++) CLS[c] = 1 | 8;
for (let c = 48; c <= 57; c++) CLS[c] = 1 | 2 | 16;
for (let c = 65; c <= 70; c++) CLS[c]! |= 2;
for (let c = 97; c <= 102; c++) CLS[c]! |= 2;
for (const c of [43, 47, 95, 45]) CLS[c] = 1; // + / _ -

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2}[^%\s"'<>]{0,3}){7,}/g;
const UNICODE_RUN = /(?:\\u[0-9a-fA-F]{4}){4,}/g;

/**
 * Finds encoded runs and decodes those whose result is mostly printable text (a secret re-encoded to slip
 * past the rules, not random bytes such as hashes and image data). One linear pass classifies base64 and hex
 * runs; bounded in the number of runs and in decoded size.
 */
export function decodeRuns(text: string, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodedRun[] {
  const out: DecodedRun[] = [];
  let budget = limits.maxDecoded;
  const take = (run: DecodedRun): boolean => {
    if (out.length >= limits.maxRuns || budget <= 0) return false;
    budget -= run.decoded.length;
    out.push(run);
    return true;
  };
  if (text.includes('\\u')) {
    for (const m of text.matchAll(UNICODE_RUN)) {
      const decoded = m[0].replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) =>
        String.fromCharCode(Number.parseInt(h, 16)),
      );
      if (!take({ encoding: 'unicode', start: m.index, end: m.index + m[0].length, decoded })) return out;
    }
  }
  if (text.includes('%')) {
    for (const m of text.matchAll(PERCENT_RUN)) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(m[0]);
      } catch {
        continue;
      }
      if (decoded !== m[0] && !take({ encoding: 'percent', start: m.index, end: m.index + m[0].length, decoded }))
        return out;
    }
  }
  const n = text.length;
  let i = 0;
  while (i < n) {
    // Skip characters outside both alphabets, then take one run.
    let c = text.charCodeAt(i);
    if (c >= 128 || CLS[c] === 0) {
      i++;
      continue;
    }
    const start = i;
    let flags = 0;
    let hexOnly = 2;
    while (i < n) {
      c = text.charCodeAt(i);
      const k = c < 128 ? CLS[c]! : 0;
      if (k === 0) break;
      flags |= k;
      hexOnly &= k;
      i++;
    }
    const len = i - start;
    let end = i;
    // Padding belongs to the run.
    while (end < n && end - i < 2 && text.charCodeAt(end) === 61) end++;
    const allHex = hexOnly !== 0;
    if (len >= limits.minRun && (allHex ? len % 2 === 0 : (flags & 28) === 28)) {
      const run = text.slice(start, i);
      let decoded: string | undefined;
      let encoding: DecodedRun['encoding'] = 'base64';
      if (allHex) {
        decoded = printable(Buffer.from(run, 'hex'));
        encoding = 'hex';
      } else {
        // Payloads mix cases and digits; identifiers and paths rarely have all three. Decoding the head first
        // rejects random data (hashes, keys, minified code) without decoding all of it.
        const b64 = run.replace(/-/g, '+').replace(/_/g, '/');
        if (len <= 64 || printable(Buffer.from(b64.slice(0, 64), 'base64')) !== undefined) decoded = printable(Buffer.from(b64, 'base64'));
      }
      if (decoded !== undefined && !take({ encoding, start, end, decoded })) return out;
    }
    i = end > i ? end : i;
  }
  return out;
}

/** UTF-8 text if at least 90 % of it is printable, else undefined. */
function printable(buf: Buffer): string | undefined {
  if (buf.length < 8) return undefined;
  const s = buf.toString('utf8');
  let good = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || (c >= 160 && c !== 0xfffd)) good++;
  }
  return good >= s.length * 0.9 ? s : undefined;
}
