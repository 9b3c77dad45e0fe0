import { CONFUSABLES } from './confusables.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, decodeLayers, rot13 } from './decode.js';
import { extractHiddenChannels } from './hidden.js';
import type { NormalizationFlags, ViewName } from './types.js';

export interface View {
  name: ViewName;
  text: string;
}

export interface NormalizeOptions {
  decode?: DecodeLimits;
  /** Build the ROT13 view for inputs up to this many characters (longer ones only when they look ROT13-encoded). */
  rot13MaxChars?: number;
}

export interface Normalized {
  views: View[];
  flags: NormalizationFlags;
}

const ZERO_WIDTH = new Set([
  0x200b, 0x200c, 0x200d, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff, 0x180e, 0x00ad, 0x034f, 0x115f, 0x1160,
  0x3164, 0xffa0, 0x17b4, 0x17b5,
]);
const BIDI = new Set([0x200e, 0x200f, 0x061c, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

const isLetter = (cp: number): boolean =>
  (cp >= 0x41 && cp <= 0x5a) ||
  (cp >= 0x61 && cp <= 0x7a) ||
  (cp >= 0xc0 && cp <= 0x24f) ||
  (cp >= 0x370 && cp <= 0x52f);
const isEmojiBase = (cp: number): boolean => cp >= 0x2190 && cp !== 0xfe0f && !(cp >= 0x3000 && cp <= 0xd7ff);

/**
 * First pass over code points: decodes Unicode tag characters to ASCII in place (they smuggle
 * instructions the user never sees), drops zero-width, bidi and variation-selector characters,
 * and decodes variation-selector byte smuggling. Counts each for the flags.
 */
function canonicalPass(text: string, flags: NormalizationFlags, hidden: string[]): string {
  // Written unit by unit into one buffer: a part per kept run made megabytes of interleaved
  // zero-width or tag characters cost more in garbage collection than in work. A variation-selector
  // run of n >= 4 units decodes to at most n units plus two spaces, so twice the input suffices.
  const out = new Uint16Array(text.length * 2 + 8);
  let n = 0;
  const tags = new Uint16Array(text.length >> 1);
  let tagCount = 0;
  let vsBytes: number[] = [];
  let prev = 0;
  let inFlag = false;
  let loneSurrogate = false;
  const flushVs = () => {
    if (vsBytes.length >= 4) {
      const s = Buffer.from(vsBytes).toString('utf8');
      if (!s.includes('\uFFFD')) {
        hidden.push(s);
        out[n++] = 0x20;
        for (let k = 0; k < s.length; k++) out[n++] = s.charCodeAt(k);
        out[n++] = 0x20;
      }
    }
    vsBytes = [];
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    let cp = c;
    let w = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        w = 2;
      }
    }
    const removed = w === 2 ? cp >= 0xe0000 && cp <= 0xe01ef : REMOVED[c] === 1;
    if (w === 1 && c >= 0xd800 && c <= 0xdfff) loneSurrogate = true;
    if (!removed) {
      if (vsBytes.length) flushVs();
      inFlag = cp === 0x1f3f4;
      prev = cp;
      out[n++] = c;
      if (w === 2) out[n++] = text.charCodeAt(i + 1);
      i += w;
      continue;
    }
    i += w;
    if (cp >= 0xe0000 && cp <= 0xe007f) {
      // Subdivision flags (black flag + tag letters + cancel tag) are the one legitimate use.
      if (inFlag && ((cp >= 0xe0061 && cp <= 0xe007a) || (cp >= 0xe0030 && cp <= 0xe0039) || cp === 0xe007f)) {
        if (cp === 0xe007f) inFlag = false;
        continue;
      }
      inFlag = false;
      flags.tagChars++;
      if (cp >= 0xe0020 && cp <= 0xe007e) {
        tags[tagCount++] = cp - 0xe0000;
        out[n++] = cp - 0xe0000;
      }
      continue;
    }
    inFlag = false;
    if (cp >= 0xfe00 && cp <= 0xfe0f) {
      if (cp !== 0xfe0f || !isEmojiBase(prev)) flags.variationSelectors++;
      vsBytes.push(cp - 0xfe00);
      continue;
    }
    if (cp >= 0xe0100 && cp <= 0xe01ef) {
      flags.variationSelectors++;
      vsBytes.push(cp - 0xe0100 + 16);
      continue;
    }
    if (vsBytes.length) flushVs();
    if (ZERO_WIDTH.has(cp)) {
      if (isLetter(prev) || cp !== 0x200d) flags.zeroWidth++;
      continue;
    }
    flags.bidi++;
  }
  if (vsBytes.length) flushVs();
  const tagPayload = fromUnits(tags.subarray(0, tagCount));
  if (tagPayload.trim()) hidden.push(tagPayload.slice(0, 64 * 1024));
  const units = out.subarray(0, n);
  return loneSurrogate ? exactString(units) : fromUnits(units);
}

/** Code units to a string unchanged, lone surrogates included (a UTF-16 decoder would replace them). */
function exactString(units: Uint16Array): string {
  const parts: string[] = [];
  for (let k = 0; k < units.length; k += 8192) parts.push(String.fromCharCode(...units.subarray(k, k + 8192)));
  return parts.join('');
}

// Single-class scans (linear, no backtracking) that let ASCII text skip whole per-character passes.
const BEYOND_AC = /[^\x00-\xac]/;
const NON_ASCII = /[^\x00-\x7f]/;

/** BMP code units the canonical pass removes: zero-width, bidi controls, variation selectors. */
const REMOVED = new Uint8Array(0x10000);
for (const c of [...ZERO_WIDTH, ...BIDI]) REMOVED[c] = 1;
for (let c = 0xfe00; c <= 0xfe0f; c++) REMOVED[c] = 1;

/** Fast check: does the text hold any character the slow pass handles (tag/VS surrogates, zero-width, bidi)? */
function needsPass(text: string): boolean {
  if (!BEYOND_AC.test(text)) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xad) continue;
    if (c === 0xdb40 || REMOVED[c] === 1) return true;
  }
  return false;
}

const utf16 = new TextDecoder('utf-16le');

/** Renders UTF-16 code units as a string in one step (no per-character concatenation). */
function fromUnits(units: Uint16Array): string {
  return utf16.decode(units);
}

/** Maps look-alike letters to Latin (one code unit to one), counting words that mix scripts. */
function skeleton(text: string, flags: NormalizationFlags): string | undefined {
  // Every look-alike is past ASCII, and without one no word can mix scripts.
  if (!NON_ASCII.test(text)) return undefined;
  let units: Uint16Array | undefined;
  let wordLatin = false;
  let wordConf = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const rep = c >= 0x80 ? CONFUSABLES.get(c) : undefined;
    if (rep !== undefined) {
      if (!units) {
        units = new Uint16Array(text.length);
        for (let j = 0; j < i; j++) units[j] = text.charCodeAt(j);
      }
      units[i] = rep.charCodeAt(0);
      wordConf = true;
      continue;
    }
    if (units) units[i] = c;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) wordLatin = true;
    else if (c < 0x80) {
      if (wordLatin && wordConf) flags.mixedScript++;
      wordLatin = false;
      wordConf = false;
    }
  }
  if (wordLatin && wordConf) flags.mixedScript++;
  return units ? fromUnits(units) : undefined;
}

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '2': 'z',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '6': 'g',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '€': 'e',
};

const LEET_CODES = new Map<number, number>(Object.entries(LEET).map(([k, v]) => [k.charCodeAt(0), v.charCodeAt(0)]));
const isAsciiLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
// A table instead of a map lookup per character: this runs on every character of leet-looking text.
const TOKEN_CHAR = new Uint8Array(0x10000);
for (let c = 0; c < 0x80; c++) if (isAsciiLetter(c) || (c >= 0x30 && c <= 0x39)) TOKEN_CHAR[c] = 1;
for (const c of LEET_CODES.keys()) TOKEN_CHAR[c] = 1;
const isTokenChar = (c: number): boolean => TOKEN_CHAR[c] === 1;

/**
 * Maps leet characters inside tokens that also contain letters (so plain numbers stay numbers).
 * Trailing "!" stays punctuation ("now!"). One code unit maps to one, in a single pass.
 */
function deleet(text: string): string | undefined {
  LEET_HINT.lastIndex = 0;
  if (!LEET_HINT.test(text) || !LEET_HINT.test(text)) return undefined;
  const units = new Uint16Array(text.length);
  let changed = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (!isTokenChar(c)) {
      units[i++] = c;
      continue;
    }
    let end = i;
    let letters = false;
    let leet = false;
    while (end < text.length && isTokenChar(text.charCodeAt(end))) {
      const d = text.charCodeAt(end);
      if (isAsciiLetter(d)) letters = true;
      else leet = true;
      end++;
    }
    let stop = end;
    while (stop > i && text.charCodeAt(stop - 1) === 0x21) stop--;
    for (let j = i; j < end; j++) {
      const d = text.charCodeAt(j);
      // In text already known to be leet-heavy, short all-digit tokens are words too ("15" is "is").
      const word = (letters && leet) || (!letters && end - i <= 3);
      const m = word && j < stop ? LEET_CODES.get(d) : undefined;
      units[j] = m ?? d;
      if (m !== undefined) changed = true;
    }
    i = end;
  }
  return changed ? fromUnits(units) : undefined;
}

// These run through String.replace with a callback, which RE2 makes quadratic; each is linear in V8:
// single character classes, and in SPACED_RUN a letter must follow every separator run, so a failed
// attempt backtracks at most three characters.
const SPACED_CHARS = /(?:\S {1,3}){3,}\S/g;
const SPACED_RUN = /(?:\p{L}[ ._*\-|/·,]{1,3}){3,}\p{L}/gu;
// A leet character between two letters ("pr3vious", "1gn0re" has "n0r"); version strings such as
// "utf8" or "v2" do not qualify, so ordinary technical prose does not pay for a de-leet view.
const LEET_HINT = /[A-Za-z][0134579@$€][A-Za-z]/g;

const isSeparator = (c: number): boolean =>
  c === 0x20 ||
  c === 0x2e ||
  c === 0x5f ||
  c === 0x2a ||
  c === 0x2d ||
  c === 0x7c ||
  c === 0x2f ||
  c === 0xb7 ||
  c === 0x2c;
const isAsciiLetterOrWide = (c: number): boolean => isAsciiLetter(c) || (c >= 0x80 && c !== 0xb7);
const isBreakingSpace = (c: number): boolean => c >= 0x09 && c <= 0x0d;

const isSpace = (c: number): boolean => c === 0x20;

/**
 * Drops single separators and turns each run of two or more into one space, in one pass over a
 * run that may be megabytes long; a NUL, which a run of single characters may hold, also becomes
 * a space (as it did when NUL marked the wide gaps).
 */
function joinGaps(body: string, sep: (c: number) => boolean): string {
  const out = new Uint16Array(body.length);
  let n = 0;
  let gap = 0;
  let surrogate = false;
  for (let i = 0; i <= body.length; i++) {
    const c = i < body.length ? body.charCodeAt(i) : -1;
    if (c !== -1 && sep(c)) {
      gap++;
      continue;
    }
    if (gap >= 2) out[n++] = 0x20;
    gap = 0;
    if (c === -1) continue;
    if (c >= 0xd800 && c <= 0xdfff) surrogate = true;
    out[n++] = c === 0 ? 0x20 : c;
  }
  const units = out.subarray(0, n);
  return surrogate ? exactString(units) : fromUnits(units);
}

/**
 * One pass that says whether SPACED_CHARS or SPACED_RUN can match at all; most text has no run of
 * four single characters with short gaps, and then neither regex runs. Both need four single
 * characters (non-space ones, or letters) each one to three separators from the next; any code
 * unit past ASCII may be a letter, and any that is not an ASCII control may be non-space.
 */
function maySpace(text: string): boolean {
  let chars = 0;
  let spaces = 0;
  let letters = 0;
  let seps = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20) {
      spaces = chars > 0 ? spaces + 1 : 0;
      if (spaces > 3) chars = 0;
    } else if (isBreakingSpace(c)) chars = 0;
    else {
      chars = spaces > 0 && chars > 0 ? chars + 1 : 1;
      spaces = 0;
      if (chars >= 4) return true;
    }
    if (isSeparator(c)) {
      seps = letters > 0 ? seps + 1 : 0;
      if (seps > 3) letters = 0;
    } else if (isAsciiLetterOrWide(c)) {
      letters = seps > 0 && letters > 0 ? letters + 1 : 1;
      seps = 0;
      if (letters >= 4) return true;
    } else letters = 0;
  }
  return false;
}

/**
 * Joins letter-spaced text ("i g n o r e", "i.g.n.o.r.e") back into words. A run needs at least
 * four single letters; wider gaps inside a run become one space.
 */
function collapseSpacing(text: string): string | undefined {
  if (!maySpace(text)) return undefined;
  let changed = false;
  const spaced = text.replace(SPACED_CHARS, (run: string, offset: number, whole: string) => {
    const prev = offset > 0 ? whole.charCodeAt(offset - 1) : 0x20;
    if (prev !== 0x20 && prev !== 0x0a && prev !== 0x09) return run;
    const next = whole.charCodeAt(offset + run.length);
    const body = !Number.isNaN(next) && next !== 0x20 && next !== 0x0a && next !== 0x09 ? run.slice(0, -1) : run;
    changed = true;
    const joined = joinGaps(body, isSpace);
    return body === run ? joined : `${joined} ${run.slice(body.length)}`;
  });
  const out = spaced.replace(SPACED_RUN, (run: string, offset: number, whole: string) => {
    // RE2 has no lookahead: a run that ends inside a longer word keeps that word's first letter.
    let body = run;
    const next = whole.charCodeAt(offset + run.length);
    if (!Number.isNaN(next) && /\p{L}/u.test(String.fromCharCode(next))) body = run.slice(0, -1);
    const prev = offset > 0 ? whole.charCodeAt(offset - 1) : Number.NaN;
    if (!Number.isNaN(prev) && /\p{L}/u.test(String.fromCharCode(prev))) return run;
    changed = true;
    const joined = joinGaps(body, isSeparator);
    return body === run ? joined : `${joined} ${run.slice(body.length)}`;
  });
  return changed ? out : undefined;
}

/**
 * Common English and instruction words as ROT13 renders them ("gur", "lbh", "vtaber"): rare as
 * words in ordinary text. A short input gets the ROT13 view only when it holds one of them, so
 * plain text no longer pays for a view that is noise for it.
 */
const ROT13_WORDS = new RegExp(
  `\\b(?:${[
    'the',
    'you',
    'your',
    'and',
    'all',
    'this',
    'with',
    'for',
    'are',
    'not',
    'now',
    'what',
    'tell',
    'say',
    'print',
    'reveal',
    'show',
    'ignore',
    'previous',
    'instructions',
    'prompt',
    'system',
    'secret',
    'password',
    'disregard',
    'forget',
    'everything',
    'above',
    'rules',
    'repeat',
    'output',
    'write',
    'from',
    'that',
    'have',
    'must',
    'will',
    'please',
    'access',
    'granted',
    'give',
    'me',
    'my',
    'is',
  ]
    .map(rot13)
    .join('|')})\\b`,
  'i',
);
const ROT13_HINT = /\b(?:gur|lbh|naq|vf|vafgehpgvbaf|cebzcg|vtaber|flfgrz|cerivbhf|frperg|cnffjbeq)\b|\brot-?13\b/i;

/**
 * Builds the views the rules run on. `canonical` is always present; the others only when they
 * differ from it, so ordinary text pays for one view (plus ROT13 for short inputs).
 */
export function normalize(text: string, opts: NormalizeOptions = {}): Normalized {
  const flags: NormalizationFlags = {
    tagChars: 0,
    zeroWidth: 0,
    bidi: 0,
    variationSelectors: 0,
    mixedScript: 0,
    decodedSegments: 0,
    hiddenChannels: 0,
  };
  const hidden: string[] = [];
  const passed = needsPass(text) ? canonicalPass(text, flags, hidden) : text;
  const canonical = passed.normalize('NFKC');
  const views: View[] = [{ name: 'canonical', text: canonical }];
  const add = (name: ViewName, t: string | undefined) => {
    if (t !== undefined && t !== canonical) views.push({ name, text: t });
  };
  const skel = skeleton(canonical, flags);
  add('skeleton', skel);
  const base = skel ?? canonical;
  add('deleet', deleet(base));
  add('collapsed', collapseSpacing(base));
  const decoded = decodeLayers(base, opts.decode ?? DEFAULT_DECODE_LIMITS);
  flags.decodedSegments = decoded.segments;
  if (decoded.text !== undefined) {
    const again = skeleton(decoded.text.normalize('NFKC'), flags) ?? decoded.text.normalize('NFKC');
    add('decoded', again);
  }
  const rotMax = opts.rot13MaxChars ?? 16 * 1024;
  if (
    /[A-Za-z]{4}/.test(base) &&
    (base.length <= rotMax ? ROT13_WORDS.test(base) : ROT13_HINT.test(base.slice(0, 64 * 1024)))
  ) {
    add('rot13', rot13(base));
  }
  const channels = extractHiddenChannels(canonical);
  flags.hiddenChannels = channels.length;
  hidden.push(...channels);
  if (hidden.length) {
    const h = hidden.join('\n').normalize('NFKC');
    add('hidden', skeleton(h, flags) ?? h);
  }
  return { views, flags };
}
