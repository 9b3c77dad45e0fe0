import { isTokenPlaceholder } from './placeholders.js';

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

const RUN_20 = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,}/g;
const HEX_ONLY = /^[0-9a-fA-F]+$/;
const UPPER = /[A-Z]/;
const LOWER = /[a-z]/;
const DIGIT = /\d/;

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2}[^%\s"'<>]{0,3}){7,}/g;
const UNICODE_RUN = /(?:\\u[0-9a-fA-F]{4}){4,}/g;

/**
 * Finds encoded runs and decodes those whose result is mostly printable text (a secret re-encoded to slip
 * past the rules, not random bytes such as hashes and image data). Bounded in the number of runs and in decoded
 * size.
 */
export function decodeRuns(
  text: string,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  candidates?: readonly number[],
): DecodedRun[] {
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
  // Runs of the base64/hex alphabet of at least minRun characters, each matched once from its first character
  // (the lookbehind stops matches from starting inside a run): linear time, and native speed.
  // `candidates` (start/end pairs of 20+ character runs, found during the keyword scan) saves the pass below.
  let pairs: readonly number[];
  if (candidates && limits.minRun >= 20) pairs = candidates;
  else {
    const found: number[] = [];
    pairs = found;
    const runRe =
      limits.minRun === 20 ? RUN_20 : new RegExp(`(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{${limits.minRun},}`, 'g');
    runRe.lastIndex = 0;
    for (let m = runRe.exec(text); m !== null; m = runRe.exec(text)) found.push(m.index, m.index + m[0].length);
  }
  for (let p = 0; p < pairs.length; p += 2) {
    const start = pairs[p]!;
    const run = text.slice(start, pairs[p + 1]!);
    const len = run.length;
    if (len < limits.minRun) continue;
    let end = start + len;
    // Padding belongs to the run.
    while (end < text.length && end - start - len < 2 && text.charCodeAt(end) === 61) end++;
    let decoded: string | undefined;
    let encoding: DecodedRun['encoding'] = 'base64';
    if (HEX_ONLY.test(run)) {
      if (len % 2 !== 0) continue;
      decoded = printable(Buffer.from(run, 'hex'));
      encoding = 'hex';
    } else {
      // Payloads mix cases and digits; identifiers and paths rarely have all three.
      if (!UPPER.test(run) || !LOWER.test(run) || !DIGIT.test(run)) continue;
      // A token marked as a dummy (`ops_DUMMY…`) carries example content, whatever it decodes to.
      if (isTokenPlaceholder(run)) continue;
      // Base64 of text starts each 4-character group with one of [A-Za-f] (the top six bits of a byte below
      // 0x80): a run that fails this on most of its first groups is not encoded text.
      let textLike = 0;
      for (let g = 0; g < 16 && g < len; g += 4) {
        const h = run.charCodeAt(g);
        if ((h >= 65 && h <= 90) || (h >= 97 && h <= 102)) textLike++;
      }
      if (textLike < 3) continue;
      // Decoding the head first rejects random data (hashes, keys, minified code) without decoding all of it.
      const b64 = run.replace(/-/g, '+').replace(/_/g, '/');
      if (len <= 64 || printable(Buffer.from(b64.slice(0, 64), 'base64')) !== undefined)
        decoded = printable(Buffer.from(b64, 'base64'));
    }
    if (decoded !== undefined && !take({ encoding, start, end, decoded })) return out;
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
