import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Reason } from '../core/decision.js';
import { compileGlobs } from './resources.js';

/**
 * Path arguments: normalised and resolved against the workspace, symlinks followed with realpath (the
 * longest existing prefix, so a file about to be created is checked through its parent), then confined to the
 * allowed roots. `..` escapes, absolute paths outside the roots and links pointing outside are denied.
 */
export interface PathRule {
  /** Absolute, real paths of the allowed roots; the first is the workspace. */
  roots: string[];
  /** The same roots as configured (before symlinks are followed). */
  lexicalRoots: string[];
  allow?: (p: string) => boolean;
  deny?: (p: string) => boolean;
  allowAbs?: (p: string) => boolean;
  denyAbs?: (p: string) => boolean;
  /**
   * Where the sandbox mounts the workspace (`/workspace`): a path there names the same file in the workspace.
   * Set for the write targets of sandboxed commands only, whose absolute paths are the sandbox's.
   */
  mount?: string;
}

export interface PathResult {
  ok: boolean;
  reasons: Reason[];
  /** `workspace/<relative path>` inside the workspace, else the absolute real path. */
  resource?: string;
  /** The real absolute path. */
  real?: string;
}

/**
 * Real path of the absolute path `p` as the kernel opens it: a `..` after a symlink leaves the link's target,
 * not the link's directory (`link/../x` with `link -> /etc/ssl` is `/etc/x`), so segments are resolved in order.
 */
function physicalOf(p: string): string {
  if (!p.split('/').includes('..')) return realOf(resolve(p));
  let cur = '/';
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') cur = dirname(cur);
    else {
      cur = join(cur, seg);
      // A name that does not exist yet can only be made a directory (a link is itself a checked write).
      if (existsSync(cur)) cur = realpathSync.native(cur);
    }
  }
  return cur;
}

/** Real path of `p`, following symlinks in the longest existing prefix. */
function realOf(p: string): string {
  let head = p;
  const tail: string[] = [];
  for (let i = 0; i < 4096; i++) {
    if (existsSync(head)) {
      return join(realpathSync.native(head), ...tail.reverse());
    }
    const parent = dirname(head);
    if (parent === head) break;
    tail.push(basename(head));
    head = parent;
  }
  return p;
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Splits patterns into relative ones (matched against the workspace-relative path) and absolute ones. */
function split(patterns: readonly string[] | undefined): {
  rel?: (p: string) => boolean;
  abs?: (p: string) => boolean;
} {
  if (!patterns || patterns.length === 0) return {};
  const rel = patterns.filter((p) => !p.startsWith('/'));
  const abs = patterns.filter((p) => p.startsWith('/'));
  return {
    ...(rel.length > 0 ? { rel: compileGlobs(rel) } : {}),
    ...(abs.length > 0 ? { abs: compileGlobs(abs) } : {}),
  };
}

export function compilePathRule(
  workspace: string,
  extraRoots: readonly string[] | undefined,
  allow?: string[],
  deny?: string[],
): PathRule {
  const lexicalRoots = [resolve(workspace), ...(extraRoots ?? []).map((r) => resolve(workspace, r))];
  const roots = lexicalRoots.map(realOf);
  const a = split(allow);
  const d = split(deny);
  return {
    roots,
    lexicalRoots,
    ...(a.rel ? { allow: a.rel } : {}),
    ...(a.abs ? { allowAbs: a.abs } : {}),
    ...(d.rel ? { deny: d.rel } : {}),
    ...(d.abs ? { denyAbs: d.abs } : {}),
  };
}

function reason(code: string, message: string, evidence: string): Reason {
  return { code: `args.path.${code}`, message, evidence: evidence.slice(0, 200) };
}

/**
 * What a path addresses, without confining it: `workspace/<rel>` inside the workspace, else the absolute real
 * path (`~/…` as written, since it is not expanded here). For path-like arguments no rule declares.
 */
export function resourceOfPath(raw: string, rule: PathRule): string | undefined {
  const value = raw.normalize('NFC');
  if (value === '' || value.includes('\u0000')) return undefined;
  if (value.startsWith('~')) return value.replaceAll('\\', '/');
  const workspace = rule.roots[0]!;
  const real = physicalOf(isAbsolute(value) ? value : `${rule.lexicalRoots[0]!}/${value}`);
  if (!within(workspace, real)) return real;
  const rel = relative(workspace, real).split(sep).join('/');
  return rel === '' ? 'workspace' : `workspace/${rel}`;
}

/**
 * The absolute host path `value` names: relative to the workspace, with the sandbox's workspace mount
 * (`/workspace/…`, any run of slashes) replaced by the workspace. `..` is kept (see physicalOf).
 */
export function hostPath(value: string, rule: PathRule): string {
  const p = isAbsolute(value) ? value : `${rule.lexicalRoots[0]!}/${value}`;
  if (!rule.mount) return p;
  const q = p.replace(/\/{2,}/g, '/');
  const m = rule.mount;
  return q === m || q.startsWith(`${m}/`) ? rule.lexicalRoots[0]! + q.slice(m.length) : p;
}

/**
 * `nofollow`: the last component is not followed if it is a link (what `rm`, `unlink` and `mv` do to a link: they
 * remove or rename the link itself, whatever it points to).
 */
export function checkPath(raw: string, rule: PathRule, arg: string, nofollow = false): PathResult {
  // NFC: an NFD spelling of a denied name is the denied name (and is one on normalising file systems).
  const value = raw.normalize('NFC');
  if (value === '' || value.includes('\u0000'))
    return { ok: false, reasons: [reason('invalid', `${arg} is empty or contains a NUL byte`, value)] };
  if (value.startsWith('~'))
    return { ok: false, reasons: [reason('invalid', `${arg} starts with ~, which is not expanded`, value)] };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    return { ok: false, reasons: [reason('invalid', `${arg} is a URL, not a path`, value)] };
  const workspace = rule.roots[0]!;
  const abs = hostPath(value, rule);
  const lexical = resolve(abs);
  const lexRoot = rule.lexicalRoots.some((r) => within(r, lexical)) || rule.roots.some((r) => within(r, lexical));
  if (!lexRoot) {
    return {
      ok: false,
      reasons: [reason('escape', `${arg} resolves to ${lexical}, outside the allowed roots`, value)],
    };
  }
  const name = basename(abs);
  const real =
    nofollow && name !== '' && name !== '.' && name !== '..' ? join(physicalOf(dirname(abs)), name) : physicalOf(abs);
  const root = rule.roots.find((r) => within(r, real));
  if (!root) {
    return {
      ok: false,
      reasons: [reason('symlink_escape', `${arg} follows a link to ${real}, outside the allowed roots`, value)],
    };
  }
  const rel = relative(workspace, real).split(sep).join('/');
  const inWorkspace = root === workspace;
  const resource = inWorkspace ? (rel === '' ? 'workspace' : `workspace/${rel}`) : real;
  const reasons: Reason[] = [];
  if ((inWorkspace && rule.deny?.(rel)) || rule.denyAbs?.(real)) {
    reasons.push(reason('denied', `${arg} ${inWorkspace ? rel : real} matches a denied pattern`, value));
  }
  if (rule.allow || rule.allowAbs) {
    const allowed = (inWorkspace && rule.allow?.(rel)) || rule.allowAbs?.(real);
    if (!allowed)
      reasons.push(reason('not_allowed', `${arg} ${inWorkspace ? rel : real} matches no allowed pattern`, value));
  }
  return { ok: reasons.length === 0, reasons, resource, real };
}
