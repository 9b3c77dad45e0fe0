import { type Dirent, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import RE2 from 're2';
import { SandboxRunError } from './errors.js';

/** Compiled path globs: `*` one segment, `**` any depth, `?` one character. A match covers the path's descendants. */
export interface GlobSet {
  matches(path: string): boolean;
}

/**
 * Globs run on untrusted file names, so anything beyond the common shapes compiles to RE2 (linear time). The
 * common shapes (`**\/NAME`, `**\/*.EXT`, `**\/PREFIX*`, literal paths) are answered with set and string checks,
 * and RE2 runs only when the path contains the pattern's longest literal part: the workspace scan calls this
 * for every entry.
 */
export function compileGlobs(patterns: readonly string[]): GlobSet {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const prefixes: string[] = [];
  const literals: string[] = [];
  const complex: { re: RE2; needle: string }[] = [];
  for (const p of patterns) {
    const name = /^\*\*\/([^*?/]+)$/.exec(p);
    const suffix = /^\*\*\/\*([^*?/]+)$/.exec(p);
    const prefix = /^\*\*\/([^*?/]+)\*$/.exec(p);
    if (name) names.add(name[1]!);
    else if (suffix) suffixes.push(suffix[1]!);
    else if (prefix) prefixes.push(prefix[1]!);
    else if (!/[*?]/.test(p)) literals.push(p);
    else {
      const needle = p.split(/[*?]+/).reduce((a, b) => (b.length > a.length ? b : a), '');
      complex.push({ re: new RE2(`^${globToRegex(p)}(?:/.*)?$`, 's'), needle });
    }
  }
  return {
    matches: (path) => {
      if (literals.some((l) => path === l || path.startsWith(l.endsWith('/') ? l : `${l}/`))) return true;
      if (names.size > 0 || suffixes.length > 0 || prefixes.length > 0) {
        for (const seg of path.split('/')) {
          if (names.has(seg)) return true;
          if (suffixes.some((x) => seg.endsWith(x))) return true;
          if (prefixes.some((x) => seg.startsWith(x))) return true;
        }
      }
      return complex.some((c) => path.includes(c.needle) && c.re.test(path));
    },
  };
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[\\^$.|+(){}[\]]/g, '\\$&');
  }
  return `(?:${out})`;
}

/** The part of a glob before its first wildcard: `/home/*\/.ssh` → `/home/`. */
export function literalPrefix(glob: string): string {
  const i = glob.search(/[*?]/);
  return i < 0 ? glob : glob.slice(0, i);
}

export interface Mask {
  /** Path relative to the workspace root. */
  rel: string;
  /** `dir`/`file`: hidden (empty tmpfs, /dev/null); `readonly`: the host entry bound read-only over itself. */
  kind: 'dir' | 'file' | 'readonly';
}

/**
 * Walks the workspace without following symlinks (directory entries only; files are stat'ed only when a forbidden
 * file has other hard links) and lists what to mask: every entry matching a forbidden glob
 (relative to the workspace, or an absolute host glob), directories not descended into, plus every hard link to a forbidden file under another name.
 * Every `.git/hooks` and `.git/config` (at any depth) is listed to be bound read-only; with `createHooks` a missing
 * hooks directory is created first. Symlinks are left alone: inside the sandbox they resolve within the sandbox's own view, which holds only
 * allowlisted mounts. Refuses (fails closed) when the workspace has more than `limit` entries.
 */
export function scanWorkspace(
  root: string,
  forbidden: GlobSet,
  hostForbidden: GlobSet,
  limit: number,
  createHooks = false,
): Mask[] {
  const masks: Mask[] = [];
  const readonly: Mask[] = [];
  const maskedDirs = new Set<string>();
  // Inodes of forbidden files that have other names (nlink > 1): only then is a second, lstat-ing pass needed.
  const linkedForbidden = new Set<string>();
  let seen = 0;
  const entries = (dir: string): Dirent[] => {
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch {
      return []; // unreadable directories stay unreadable inside the sandbox too
    }
  };
  const noteLinks = (abs: string): void => {
    try {
      const st = lstatSync(abs);
      if (st.isFile() && st.nlink > 1) linkedForbidden.add(`${st.dev}:${st.ino}`);
    } catch {
      // vanished
    }
  };
  const collect = (dir: string): void => {
    for (const e of entries(dir)) {
      if (++seen > limit) throw tooLarge(root, limit);
      if (e.isDirectory()) collect(join(dir, e.name));
      else if (e.isFile()) noteLinks(join(dir, e.name));
    }
  };
  const walk = (dir: string, relDir: string): void => {
    for (const e of entries(dir)) {
      if (++seen > limit) throw tooLarge(root, limit);
      if (e.isSymbolicLink()) continue;
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const abs = join(dir, e.name);
      if (forbidden.matches(rel) || hostForbidden.matches(abs)) {
        if (e.isDirectory()) {
          masks.push({ rel, kind: 'dir' });
          maskedDirs.add(rel);
          collect(abs);
        } else {
          masks.push({ rel, kind: 'file' });
          noteLinks(abs);
        }
        continue;
      }
      if (e.name === '.git') protectGit(abs, rel, e.isDirectory());
      if (e.isDirectory()) walk(abs, rel);
    }
  };
  const protectInside = (real: string | undefined): void => {
    if (real === root) return;
    if (real?.startsWith(`${root}/`)) readonly.push({ rel: real.slice(root.length + 1), kind: 'readonly' });
  };
  const protectGit = (abs: string, rel: string, isDir: boolean): void => {
    // Repository metadata runs code on the host's next git command (hooks, config: hooksPath, fsmonitor, aliases,
    // filters), so each `.git` is bound read-only as a whole. A bind makes it a mount point: it cannot be renamed,
    // removed or replaced by a planted copy either. A `.git` file (worktree, submodule) is pinned the same way, and
    // the repository it points to is protected where it lies inside the workspace.
    readonly.push({ rel, kind: 'readonly' });
    let gitdir = abs;
    if (!isDir) {
      const target = gitdirOf(abs);
      if (target === undefined) return;
      gitdir = resolve(dirname(abs), target);
      protectInside(resolveReal(gitdir));
    } else if (createHooks) {
      // Created on the host before the bind: the read-only hooks directory then exists and nothing can be planted.
      try {
        mkdirSync(join(abs, 'hooks'));
      } catch {
        // exists
      }
    }
    // Symlinked hooks or config and a configured hooksPath can point back into the writable workspace.
    for (const sub of ['hooks', 'config']) {
      const real = resolveReal(join(gitdir, sub));
      if (real && real !== join(resolveReal(gitdir) ?? gitdir, sub)) protectInside(real);
    }
    const hooksPath = hooksPathOf(join(gitdir, 'config'));
    if (hooksPath) protectInside(resolveReal(resolve(dirname(abs), hooksPath)));
  };
  walk(root, '');
  if (linkedForbidden.size > 0) {
    const masked = new Set(masks.map((m) => m.rel));
    const links = (dir: string, relDir: string): void => {
      for (const e of entries(dir)) {
        const rel = relDir ? `${relDir}/${e.name}` : e.name;
        if (masked.has(rel) || maskedDirs.has(rel)) continue;
        if (e.isDirectory()) links(join(dir, e.name), rel);
        else if (e.isFile()) {
          try {
            const st = lstatSync(join(dir, e.name));
            if (st.nlink > 1 && linkedForbidden.has(`${st.dev}:${st.ino}`)) masks.push({ rel, kind: 'file' });
          } catch {
            // vanished
          }
        }
      }
    };
    links(root, '');
  }
  // Read-only rebinds first, so a mask inside one (a forbidden file under .git/hooks) still applies on top.
  return [...readonly, ...masks];
}

function tooLarge(root: string, limit: number): SandboxRunError {
  return new SandboxRunError(
    'sandbox.workspace_too_large',
    `workspace ${root} has more than ${limit} entries to check for forbidden paths; use a smaller workspace`,
  );
}

/** The target of a `.git` file (`gitdir: <path>`), if it is one. */
function gitdirOf(file: string): string | undefined {
  try {
    const text = readFileSync(file, { encoding: 'utf8', flag: 'r' }).slice(0, 4096);
    const line = text.split('\n')[0]?.trim() ?? '';
    return line.startsWith('gitdir:') ? line.slice(7).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** `core.hooksPath` from a repository config (the last one wins, as in git). Linear: a split, no backtracking. */
function hooksPathOf(config: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(config, 'utf8').slice(0, 1 << 20);
  } catch {
    return undefined;
  }
  let found: string | undefined;
  for (const raw of text.split('\n')) {
    const eq = raw.indexOf('=');
    if (eq < 0 || raw.slice(0, eq).trim().toLowerCase() !== 'hookspath') continue;
    found = raw
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return found;
}

/**
 * Every entry named `.git` (directory, file or symlink, at any depth, symlinks not followed) with what it is:
 * compared before and after a run to find repository metadata the sandbox created or swapped.
 */
export function gitEntries(root: string, limit: number): Map<string, string> {
  const out = new Map<string, string>();
  let seen = 0;
  const walk = (dir: string, relDir: string): void => {
    let list: Dirent[];
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of list) {
      if (++seen > limit) throw tooLarge(root, limit);
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const abs = join(dir, e.name);
      if (e.name === '.git') {
        try {
          const st = lstatSync(abs);
          const link = st.isSymbolicLink() ? readlinkSync(abs) : '';
          out.set(rel, `${st.mode}:${st.dev}:${st.ino}:${link}`);
        } catch {
          // vanished
        }
      }
      if (e.isDirectory()) walk(abs, rel);
    }
  };
  walk(root, '');
  return out;
}

/** realpath that reports a missing path as undefined. */
export function resolveReal(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
