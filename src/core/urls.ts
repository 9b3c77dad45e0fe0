// URL finding in text, shared by output filtering (exfiltration checks) and information flow (destinations in payloads).

/** A URL found in text, with where its data-carrying parts are. */
export interface FoundUrl {
  start: number;
  end: number;
  host: string;
  /** Offsets of the path+query+fragment (what can carry data out). */
  dataStart: number;
  /** Fetched without a click: markdown image, `<img src>`, `<iframe>`, CSS `url()`, link prefetch. */
  autoLoad: boolean;
}

/** The host as findUrls reads it (see urlHost, which implements this regex by hand; tests compare the two). */
export const HOST_RE = /^[a-z]+:\/\/(?:[^@/?#\s]{0,256}@)?(\[[0-9a-fA-F:.]{2,45}\]|[^/?#:\s@]{1,253})/i;

const SCHEMES = ['https', 'http', 'ftp', 'wss', 'ws'];

/** URL characters: anything but whitespace, quotes, angle brackets, backslash and closing brackets. */
function isUrlChar(c: number): boolean {
  return (
    c > 32 &&
    c !== 34 &&
    c !== 39 &&
    c !== 96 &&
    c !== 60 &&
    c !== 62 &&
    c !== 92 &&
    c !== 41 &&
    c !== 93 &&
    c !== 125 &&
    c !== 127
  );
}

/**
 * Every http(s)/ftp/ws URL in the text, with its auto-loading context, including protocol-relative ones
 * (`![](//host/…)`, `src="//host/…"`) and URLs written with HTML character references (`&#104;ttps://`,
 * `https&colon;//`), which browsers and markdown renderers resolve and fetch all the same.
 */
export function findUrls(text: string, decodeAlways = false): FoundUrl[] {
  const out = findPlainUrls(text);
  // `decodeAlways` skips the gate (tests compare the two).
  if (text.includes('&') && ENTITY_HINT.test(text) && (decodeAlways || entitiesMayFormUrl(text, out))) {
    const d = decodeEntities(text);
    if (d) {
      const seen = new Set(out.map((u) => u.start));
      for (const u of findPlainUrls(d.text)) {
        const start = d.map[u.start]!;
        if (seen.has(start)) continue;
        out.push({ ...u, start, end: d.map[u.end]!, dataStart: d.map[u.dataStart]! });
      }
      out.sort((a, b) => a.start - b.start);
    }
  }
  return out;
}

/** Schemeless `//host` right after `(`, a quote, `=` or `<`: a link or resource on the page's own scheme. */
function findProtocolRelative(text: string, out: FoundUrl[]): void {
  for (let sep = text.indexOf('//'); sep >= 0; sep = text.indexOf('//', sep + 2)) {
    const p = sep > 0 ? text.charCodeAt(sep - 1) : 0;
    if (p !== 40 && p !== 34 && p !== 39 && p !== 61 && p !== 60) continue;
    let h = sep + 2;
    let dot = false;
    while (h < text.length && h - sep < 255) {
      const c = text.charCodeAt(h);
      if (c === 46) dot = true;
      else if (!isWordChar(c) && c !== 45) break;
      h++;
    }
    const host = text.slice(sep + 2, h).toLowerCase();
    if (!dot || !/^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}\.?$/.test(host)) continue;
    let end = h;
    while (end < text.length && end - sep < 2048 && isUrlChar(text.charCodeAt(end))) end++;
    while (end > h && isTrailingPunct(text.charCodeAt(end - 1))) end--;
    out.push({ start: sep, end, host, dataStart: h, autoLoad: autoLoading(text, sep) });
  }
}

const ENTITY_HINT = /&(?:#x?[0-9a-f]|[a-z]{2,8};)/i;

const NAMED_ENTITIES: Record<string, string> = {
  colon: ':',
  sol: '/',
  period: '.',
  quest: '?',
  equals: '=',
  amp: '&',
  quot: '"',
  apos: "'",
  lt: '<',
  gt: '>',
  lpar: '(',
  rpar: ')',
  lsqb: '[',
  rsqb: ']',
  excl: '!',
  num: '#',
  percnt: '%',
  tab: '\t',
  newline: '\n',
};

/** One character reference at `i` (a `&`): what it decodes to and where it ends, or undefined. */
function entityAt(text: string, i: number): { ch: string; end: number; terminated: boolean } | undefined {
  const n = text.length;
  let j = i + 1;
  if (text.charCodeAt(j) === 35) {
    j++;
    const hex = (text.charCodeAt(j) | 32) === 120;
    if (hex) j++;
    const from = j;
    let v = 0;
    while (j < n && j - from < 8) {
      const d = digitValue(text.charCodeAt(j), hex);
      if (d < 0) break;
      v = v * (hex ? 16 : 10) + d;
      j++;
    }
    if (j > from && v > 0 && v < 0x110000) {
      const terminated = text.charCodeAt(j) === 59;
      return { ch: String.fromCodePoint(v), end: terminated ? j + 1 : j, terminated };
    }
    return undefined;
  }
  const from = j;
  while (j < n && j - from < 8 && isWordChar(text.charCodeAt(j))) j++;
  if (text.charCodeAt(j) !== 59) return undefined;
  const ch = NAMED_ENTITIES[text.slice(from, j).toLowerCase()];
  return ch === undefined ? undefined : { ch, end: j + 1, terminated: true };
}

/** Characters an entity must decode to for the decoded text to hold a URL start the raw text lacks. */
const URL_FORMING = /[A-Za-z0-9_.:/-]/;

/**
 * Whether decoding the character references of `text` can produce a URL that does not start where a URL of the
 * raw text (`plain`, by start) starts: only those are added by findUrls. A new start needs a reference in the
 * scheme, the `://`, the host of a protocol-relative link (all of these decode to letters, digits, `.`, `-`,
 * `_`, `:` or `/`); a `(`, quote, `=` or `<` written as a reference right before a literal `//`; a numeric
 * reference without its `;` right before a letter (the raw text reads it as part of a word); or a reference
 * inside a raw URL that decodes to a character ending URLs (`&gt;`, `&quot;` …), which can cut it short and
 * expose a URL it swallowed. Everything else (`&amp;`, or `&lt;`/`&gt;` in ordinary markup) leaves every URL
 * start as it was, so the decode is skipped.
 */
function entitiesMayFormUrl(text: string, plain: readonly FoundUrl[]): boolean {
  let u = 0;
  for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', i + 1)) {
    const e = entityAt(text, i);
    if (!e) continue;
    if (URL_FORMING.test(e.ch)) return true;
    if (text.charCodeAt(e.end) === 47 && text.charCodeAt(e.end + 1) === 47 && /^[("'=<]$/.test(e.ch)) return true;
    if (!e.terminated && isLetterCode(text.charCodeAt(e.end))) return true;
    if (!isUrlChar(e.ch.charCodeAt(0))) {
      while (u < plain.length && plain[u]!.end <= i) u++;
      if (u < plain.length && plain[u]!.start < i) return true;
    }
  }
  return false;
}

function isLetterCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * HTML character references decoded (`&#104;`, `&#x68;`, `&colon;`, the `;` optional after numeric ones as
 * browsers allow), with `map[i]` the original offset of decoded offset `i`. Undefined when nothing decoded.
 */
export function decodeEntities(text: string): { text: string; map: Int32Array } | undefined {
  const n = text.length;
  const map = new Int32Array(n + 1);
  const parts: string[] = [];
  let o = 0;
  let run = 0;
  let changed = false;
  for (let i = text.indexOf('&'); i >= 0 && i < n; i = text.indexOf('&', i + 1)) {
    const e = entityAt(text, i);
    if (!e) continue;
    const ch = e.ch;
    for (let k = run; k < i; k++) map[o++] = k;
    parts.push(text.slice(run, i), ch);
    for (let k = 0; k < ch.length; k++) map[o++] = i;
    run = e.end;
    i = e.end - 1;
    changed = true;
  }
  if (!changed) return undefined;
  for (let k = run; k < n; k++) map[o++] = k;
  parts.push(text.slice(run));
  map[o] = n;
  return { text: parts.join(''), map: map.subarray(0, o + 1) };
}

/** The value of a decimal or hex digit, or -1. */
function digitValue(c: number, hex: boolean): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (!hex) return -1;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

function findPlainUrls(text: string): FoundUrl[] {
  const out: FoundUrl[] = [];
  findProtocolRelative(text, out);
  const relative = out.length;
  let from = 0;
  for (let sep = text.indexOf('://', from); sep >= 0; sep = text.indexOf('://', from)) {
    from = sep + 3;
    let start = -1;
    for (const sch of SCHEMES) {
      const s = sep - sch.length;
      if (s >= 0 && endsWithScheme(text, sep, sch) && (s === 0 || !isWordChar(text.charCodeAt(s - 1)))) {
        start = s;
        break;
      }
    }
    if (start < 0) continue;
    let end = sep + 3;
    while (end < text.length && end - start < 2048 && isUrlChar(text.charCodeAt(end))) end++;
    // Trailing punctuation belongs to the sentence, not the URL.
    while (end > sep + 3 && isTrailingPunct(text.charCodeAt(end - 1))) end--;
    if (end <= sep + 3) continue;
    // Host by hand (scheme://[userinfo@]host[:port]): URL parsing per link would dominate the cost of long texts.
    const h = urlHost(text, sep + 3, end)?.toLowerCase();
    if (h === undefined) continue;
    const host = h.charCodeAt(0) === 91 ? h.replace(/^\[|\]$/g, '') : h;
    let dataStart = sep + 3;
    for (; dataStart < end; dataStart++) {
      const c = text.charCodeAt(dataStart);
      if (c === 47 || c === 63 || c === 35) break;
    }
    out.push({ start, end, host, dataStart, autoLoad: autoLoading(text, start) });
    from = end;
  }
  // Scheme URLs are found in order; only protocol-relative ones (found first) need merging in.
  return relative > 0 ? out.sort((a, b) => a.start - b.start) : out;
}

/** `. , ; : ! ?`: punctuation that ends a sentence rather than a URL. */
function isTrailingPunct(c: number): boolean {
  return c === 46 || c === 44 || c === 59 || c === 58 || c === 33 || c === 63;
}

/** What `\s` matches in a JavaScript regex (WhiteSpace and LineTerminator). */
function isJsSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * The host of the URL whose authority starts at `from` (after `://`) and which ends at `end`, exactly as
 * `^[a-z]+:\/\/(?:[^@/?#\s]{0,256}@)?(\[[0-9a-fA-F:.]{2,45}\]|[^/?#:\s@]{1,253})` captures it, without
 * slicing the URL or running the regex; undefined where that regex fails.
 */
export function urlHost(text: string, from: number, end: number): string | undefined {
  // Optional user info: the longest run without @ / ? # or space, if an @ follows it within 256 characters.
  let k = from;
  while (k < end && k - from <= 256) {
    const c = text.charCodeAt(k);
    if (c === 64 || c === 47 || c === 63 || c === 35 || isJsSpace(c)) break;
    k++;
  }
  if (k < end && k - from <= 256 && text.charCodeAt(k) === 64) {
    const h = hostAt(text, k + 1, end);
    if (h !== undefined) return h;
  }
  return hostAt(text, from, end);
}

function hostAt(text: string, at: number, end: number): string | undefined {
  if (at >= end) return undefined;
  if (text.charCodeAt(at) === 91) {
    let j = at + 1;
    while (j < end && j - at - 1 < 45 && isBracketHostChar(text.charCodeAt(j))) j++;
    const n = j - at - 1;
    if (n >= 2 && j < end && text.charCodeAt(j) === 93) return text.slice(at, j + 1);
  }
  let j = at;
  while (j < end && j - at < 253) {
    const c = text.charCodeAt(j);
    if (c === 47 || c === 63 || c === 35 || c === 58 || c === 64 || isJsSpace(c)) break;
    j++;
  }
  return j > at ? text.slice(at, j) : undefined;
}

function isBracketHostChar(c: number): boolean {
  return (c >= 48 && c <= 58) || c === 46 || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** `text` has the scheme `sch` (lower case) right before `sep`, in any case: no slice per candidate. */
function endsWithScheme(text: string, sep: number, sch: string): boolean {
  const s = sep - sch.length;
  for (let i = 0; i < sch.length; i++) if ((text.charCodeAt(s + i) | 32) !== sch.charCodeAt(i)) return false;
  return true;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** Whether the `]` at `close` ends the alt text of a markdown image: `![` within 200 characters on the same line. */
function markdownImageBefore(text: string, close: number): boolean {
  for (let i = close - 1; i >= 0 && close - i <= 201; i--) {
    const c = text.charCodeAt(i);
    if (c === 93 || c === 10) return false;
    if (c === 91) return i > 0 && text.charCodeAt(i - 1) === 33;
  }
  return false;
}

/** A `<` with no `>` after it within the 210 characters before `at` (bounded: no scan back over the text). */
function openTagBefore(text: string, at: number): boolean {
  for (let i = at - 1; i >= 0 && at - i <= 210; i--) {
    const c = text.charCodeAt(i);
    if (c === 62) return false;
    if (c === 60) return true;
  }
  return false;
}

function autoLoading(text: string, urlStart: number): boolean {
  // Every auto-loading context ends right before the URL in ( " ' = or <: a cheap test that rules out most links.
  let j = urlStart - 1;
  while (j >= 0 && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j--;
  const p = j >= 0 ? text.charCodeAt(j) : 0;
  if (p !== 40 && p !== 34 && p !== 39 && p !== 61 && p !== 60 && p !== 58) return false;
  // After `(`, only a markdown image `![…](` or CSS `url(` loads by itself; a plain markdown link `[…](` (most
  // links in prose) is settled without the regexes below.
  if (p === 40 && j > 0 && text.charCodeAt(j - 1) === 93 && !markdownImageBefore(text, j - 1)) return false;
  // After a quote or `=`, the HTML contexts below need an open tag within 200 characters; without one only CSS
  // `url("…")` is left (prose quotes and links outside tags are settled without the tag regexes).
  if ((p === 34 || p === 39 || p === 61) && !openTagBefore(text, urlStart))
    return /\burl\(\s*["']?$/i.test(text.slice(Math.max(0, urlStart - 200), urlStart));
  const before = text.slice(Math.max(0, urlStart - 200), urlStart);
  if (/!\[[^\]\n]{0,200}\]\(\s*<?$/.test(before)) return true;
  if (/^\s*\[[^\]\n]{1,100}\]:\s*$/m.test(before.slice(before.lastIndexOf('\n') + 1)) && /!\[/.test(text)) return true;
  if (
    /<(?:img|iframe|script|embed|video|audio|source|track|input|object|frame)\b[^>]{0,200}\b(?:src|srcset|data|poster|href)\s*=\s*["']?$/i.test(
      before,
    )
  )
    return true;
  if (/<link\b[^>]{0,200}\bhref\s*=\s*["']?$/i.test(before)) return true;
  if (/\burl\(\s*["']?$/i.test(before)) return true;
  if (/<(?:meta)\b[^>]{0,200}content\s*=\s*["']?\d+;\s*url=$/i.test(before)) return true;
  return false;
}
