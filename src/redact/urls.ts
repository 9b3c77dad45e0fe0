import { shannonEntropy } from './validators.js';

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

export type UrlIssueKind = 'exfil_image' | 'exfil_url' | 'exfil_dns' | 'exfil_host';

export interface UrlIssue {
  kind: UrlIssueKind;
  start: number;
  end: number;
  reason: string;
}

/** Interaction-capture, request-bin and tunnel services: a destination for exfiltration, never for a real link. */
const CAPTURE_HOSTS =
  /(?:^|\.)(?:webhook\.site|requestbin\.(?:com|net)|pipedream\.net|oast\.(?:fun|pro|live|site|online|me)|interact\.sh|interactsh\.com|burpcollaborator\.net|oastify\.com|canarytokens\.(?:com|org)|ngrok\.io|ngrok-free\.app|ngrok\.app|trycloudflare\.com|beeceptor\.com|hookbin\.com|requestcatcher\.com|dnslog\.cn|ceye\.io)$/i;

/** The host as findUrls reads it (see urlHost, which implements this regex by hand; tests compare the two). */
export const HOST_RE = /^[a-z]+:\/\/(?:[^@/?#\s]{0,256}@)?(\[[0-9a-fA-F:.]{2,45}\]|[^/?#:\s@]{1,253})/i;
const DNS_CMD =
  /\b(?:nslookup|dig|host|drill|ping|ping6|getent\s+hosts|resolvectl\s+query|curl|wget)\s+(?:-{1,2}[\w-]+(?:[= ]\S+)?\s+){0,4}["']?((?:[A-Za-z0-9-]{1,63}\.){2,10}[A-Za-z]{2,24})\b/g;

const normalizedAllow = new WeakMap<readonly string[], string[]>();

export function hostAllowed(host: string, allow: readonly string[]): boolean {
  if (allow.length === 0) return false;
  let domains = normalizedAllow.get(allow);
  if (!domains) {
    domains = allow.map((a) => a.toLowerCase().replace(/^\*\./, ''));
    normalizedAllow.set(allow, domains);
  }
  const h = host.endsWith('.') ? host.slice(0, -1).toLowerCase() : host.toLowerCase();
  for (const d of domains) {
    if (h === d || (h.endsWith(d) && h.charCodeAt(h.length - d.length - 1) === 46)) return true;
  }
  return false;
}

const LOOKUP_NAMES = ['nslookup', 'dig ', 'host ', 'drill ', 'ping', 'getent ', 'resolvectl ', 'curl ', 'wget '];

/** True when text may contain a host-name lookup command (a cheap gate before the regex). */
export function mayHaveLookup(text: string, withFetchers = true): boolean {
  for (const n of LOOKUP_NAMES) {
    if (!withFetchers && (n === 'curl ' || n === 'wget ')) continue;
    if (text.includes(n)) return true;
  }
  return false;
}

export function isCaptureHost(host: string): boolean {
  return CAPTURE_HOSTS.test(host);
}

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

/**
 * True for a value that looks like encoded or random data rather than words or ids a human wrote. Path segments
 * need more evidence than query values: documents and objects are routinely named by long random ids.
 */
export function looksLikePayload(value: string, where: 'query' | 'path' = 'query'): boolean {
  if (value.length < 24) return false;
  if (/\$\(|`/.test(value)) return true;
  const compact = value.replace(/%3D/gi, '=').replace(/%2B/gi, '+').replace(/%2F/gi, '/');
  if (!/^[A-Za-z0-9+/_-]{24,}={0,2}$/.test(compact)) return false;
  // Slugs: words and ids joined by dashes (`my-page-title-1bc826ecc0994dd8`).
  const parts = compact.split(/[-_]/);
  if (parts.length >= 3 && parts.every((p) => /^[A-Za-z]*$/.test(p) || /^[0-9a-f]+$/.test(p))) return false;
  const decoded = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
  const printable = decoded.length >= 12 && /^[\x20-\x7e\t\r\n]+$/.test(decoded);
  if (printable) return true;
  if (where === 'path' && compact.length < 64) return false;
  // Long hex ids (commit SHAs, digests) are ordinary; only mixed-case base64-shaped data counts.
  if (/^[0-9a-f]+$/i.test(compact)) return compact.length >= 48 && shannonEntropy(compact) >= 3.5;
  return shannonEntropy(compact) >= 4.0 && /[A-Z]/.test(compact) && /[a-z]/.test(compact) && /\d/.test(compact);
}

/** Long hex/base32/base64url labels are how data is smuggled out through DNS lookups. */
export function dnsExfilLabel(host: string): boolean {
  if (host.length < 30) return false;
  for (const label of host.split('.')) {
    if (label.length < 30) continue;
    if (/^[0-9a-f]+$/i.test(label)) return true;
    if (/^[a-z2-7]+$/i.test(label) && shannonEntropy(label.toLowerCase()) >= 3.5) return true;
    if (/^[A-Za-z0-9_-]+$/.test(label) && shannonEntropy(label) >= 4.0) return true;
  }
  return false;
}

/** Why the path/query/fragment of a URL carries data out, or null. */
function dataIssue(data: string): string | null {
  if (/\$\(|`|\$\{[^}]*\}/.test(data)) return 'shell substitution inside a URL';
  const q = data.search(/[?#]/);
  const parts = [
    ...(q < 0 ? data : data.slice(0, q)).split('/').map((p) => ({ p, where: 'path' as const })),
    ...(q < 0 ? [] : data.slice(q + 1).split(/[&=;#]/)).map((p) => ({ p, where: 'query' as const })),
  ];
  for (const { p: part, where } of parts) {
    if (part.length < 24) continue;
    let value = part;
    try {
      value = decodeURIComponent(part);
    } catch {
      // Keep the raw part: malformed escapes are themselves suspicious but not proof.
    }
    if (looksLikePayload(value, where)) return 'URL carries an encoded or high-entropy value';
  }
  return null;
}

/**
 * URL-level exfiltration checks that need no other findings: auto-loading content from hosts not on the
 * allowlist, capture hosts, payload-shaped query or path values, shell substitutions in URLs and DNS-shaped
 * exfiltration in host names (also bare host names given to lookup commands).
 */
export function checkUrls(
  text: string,
  urls: readonly FoundUrl[],
  allow: readonly string[],
  lookup = mayHaveLookup(text),
): UrlIssue[] {
  const issues: UrlIssue[] = [];
  /** Verdicts on data parts already judged in this text (a page repeats its links). */
  const verdicts = new Map<string, string | null>();
  for (const u of urls) {
    const allowed = hostAllowed(u.host, allow);
    if (dnsExfilLabel(u.host)) {
      issues.push({ kind: 'exfil_dns', start: u.start, end: u.end, reason: 'host name carries a long encoded label' });
      continue;
    }
    if (allowed) continue;
    if (u.autoLoad) {
      issues.push({
        kind: 'exfil_image',
        start: u.start,
        end: u.end,
        reason: 'auto-loading URL to a host not on the allowlist',
      });
      continue;
    }
    if (isCaptureHost(u.host)) {
      issues.push({ kind: 'exfil_host', start: u.start, end: u.end, reason: 'request-capture or tunnel host' });
      continue;
    }
    const data = text.slice(u.dataStart, u.end);
    // Nothing shorter than the shortest payload can carry one, unless it runs a command substitution.
    if (data.length < 24 && !/[$`]/.test(data)) continue;
    let reason = verdicts.get(data);
    if (reason === undefined) {
      reason = dataIssue(data);
      verdicts.set(data, reason);
    }
    if (reason) issues.push({ kind: 'exfil_url', start: u.start, end: u.end, reason });
  }
  if (lookup) {
    for (const m of text.matchAll(DNS_CMD)) {
      const host = m[1]!;
      if (dnsExfilLabel(host)) {
        const start = m.index + m[0].lastIndexOf(host);
        issues.push({
          kind: 'exfil_dns',
          start,
          end: start + host.length,
          reason: 'lookup of a host name with a long encoded label',
        });
      }
    }
  }
  return issues;
}
