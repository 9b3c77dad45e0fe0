import { lstatSync, readdirSync, statSync } from 'node:fs';
import RE2 from 're2';

/** Directory entries one glob may list before it is denied as too large to check. */
export const MAX_GLOB_ENTRIES = 10_000;

const GLOB = /[*?[]/;

/** A glob segment as an RE2 pattern; a bracket expression becomes "any one character" (a superset). */
export function segmentPattern(seg: string): RE2 {
  let src = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (c === '[') {
      // `]` right after `[`, `[!` or `[^` is part of the set.
      let j = i + 1;
      if (seg[j] === '!' || seg[j] === '^') j++;
      if (seg[j] === ']') j++;
      const close = seg.indexOf(']', j);
      if (close < 0) src += '\\[';
      else {
        src += '.';
        i = close;
      }
    } else src += c.replace(/[\\^$.*+?()[\]{}|]/, '\\$&');
  }
  return new RE2(`^(?s:${src})$`);
}

/**
 * What an unquoted glob in a write target matches now, so each match is checked as a target: `sub/*` may hold
 * a link out of the workspace that `chmod`, `tee` or `>` would write through. Matching over-approximates the
 * shell (a bracket matches any one character, `*` matches dotfiles as under `dotglob`, `**` any depth as under
 * `globstar`), so no match the shell could make is missed; `.` and `..` are never matched (callers deny
 * patterns that could). RE2 keeps matching linear in the name. Undefined when there are too many entries to
 * check: the caller denies. Directories are followed through links, as the shell does.
 */
export function expandGlob(abs: string): string[] | undefined {
  const segs = abs.split('/');
  let visited = 0;
  let frontier = ['/'];
  const entries = (dir: string): string[] => {
    try {
      if (!statSync(dir).isDirectory()) return [];
      const names = readdirSync(dir);
      visited += names.length;
      return names;
    } catch {
      return [];
    }
  };
  const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
  for (const seg of segs) {
    if (seg === '') continue;
    if (!GLOB.test(seg)) {
      frontier = frontier.map((d) => join(d, seg));
      continue;
    }
    const next: string[] = [];
    if (seg === '**') {
      // Every descendant, links to directories not entered (bash's globstar does not follow them).
      const stack = [...frontier];
      while (stack.length > 0) {
        const d = stack.pop()!;
        next.push(d);
        for (const n of entries(d)) {
          const p = join(d, n);
          if (lstatSync(p, { throwIfNoEntry: false })?.isDirectory()) stack.push(p);
          else next.push(p);
        }
        if (visited > MAX_GLOB_ENTRIES) return undefined;
      }
    } else {
      const re = segmentPattern(seg);
      for (const d of frontier) {
        for (const n of entries(d)) if (re.test(n)) next.push(join(d, n));
        if (visited > MAX_GLOB_ENTRIES) return undefined;
      }
    }
    frontier = next;
  }
  return frontier;
}

/** Every link below the directory `abs` (links not entered), or undefined past MAX_GLOB_ENTRIES entries. */
export function linksUnder(abs: string): string[] | undefined {
  const found: string[] = [];
  const stack = [abs];
  let visited = 0;
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    visited += names.length;
    if (visited > MAX_GLOB_ENTRIES) return undefined;
    for (const n of names) {
      const p = `${d}/${n}`;
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) found.push(p);
      else if (st?.isDirectory()) stack.push(p);
    }
  }
  return found;
}
