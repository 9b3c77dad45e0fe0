import { posix } from 'node:path';

/**
 * Canonical spellings of path and URI arguments, so a policy compares what will be addressed, not how the agent
 * spelt it: Unicode NFC (an NFD `café` is the NFC one), percent-decoding (`%2e%2e` is `..`, `%2f` is `/`), `\`
 * as `/` in URIs, and dot segments removed. Conditions see these forms (`action.args.uri`); resource globs match
 * paths normalised the same way.
 */

/** Argument names that hold a path (the argument-rule kind `path` is inferred from these). */
export const PATH_NAMES: ReadonlySet<string> = new Set([
  'path',
  'paths',
  'file',
  'files',
  'filename',
  'filepath',
  'file_path',
  'dir',
  'directory',
  'source',
  'sources',
  'target',
  'dest',
  'destination',
  'cwd',
]);
/** Argument names that hold a URL or URI. */
export const URL_NAMES: ReadonlySet<string> = new Set(['url', 'uri', 'href', 'endpoint', 'link']);

/** Percent-decodes until stable (a double-encoded `%252e` is decoded too); malformed escapes stay as they are. */
function decodeFully(s: string): string {
  let cur = s;
  for (let i = 0; i < 4 && cur.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(cur);
    } catch {
      return cur;
    }
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

/** Removes `.` and `..` segments (RFC 3986 section 5.2.4); `..` never climbs above the root. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 1) out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return out.join('/');
}

/**
 * `file:///home/me/docs/%2e%2e/secret` → `file:///home/me/secret`. The scheme and authority are lower-cased;
 * the query and fragment are kept as they are. A value without a scheme is normalised as a path.
 */
export function normalizeUri(raw: string): string {
  const s = raw.normalize('NFC');
  const colon = s.indexOf(':');
  const scheme = colon > 0 ? s.slice(0, colon) : '';
  if (scheme === '' || !isScheme(scheme)) return normalizePath(s);
  let rest = s.slice(colon + 1);
  let authority = '';
  if (rest.startsWith('//')) {
    const end = firstOf(rest, 2, '/?#\\');
    authority = rest.slice(0, end).toLowerCase();
    rest = rest.slice(end);
  }
  const q = firstOf(rest, 0, '?#');
  const path = decodeFully(rest.slice(0, q)).normalize('NFC').replaceAll('\\', '/');
  const absolute = path.startsWith('/');
  const clean = removeDotSegments(absolute ? path : `/${path}`);
  return `${scheme.toLowerCase()}:${authority}${absolute || authority !== '' ? clean : clean.slice(1)}${rest.slice(q)}`;
}

/** `docs/../secrets/./a` → `secrets/a`, in NFC. Leading `..` is kept (path rules deny escapes). */
export function normalizePath(raw: string): string {
  if (raw === '') return raw;
  return posix.normalize(raw.normalize('NFC'));
}

function isScheme(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!(alpha || (i > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)))) return false;
  }
  // One letter is a Windows drive (`C:\x`), not a scheme.
  return s.length > 1;
}

function firstOf(s: string, from: number, chars: string): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

/** The caller's arguments with path-like and URI-like values (top level, and list elements) normalised. */
export function normalizeArgs(args: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(args)) {
    const n = k.toLowerCase();
    const fn = PATH_NAMES.has(n) ? normalizePath : URL_NAMES.has(n) ? normalizeUri : undefined;
    if (!fn) continue;
    const v = args[k];
    const nv = typeof v === 'string' ? fn(v) : Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? fn(x) : x)) : v;
    if (nv !== v) {
      out ??= { ...args };
      out[k] = nv;
    }
  }
  return out ?? args;
}
