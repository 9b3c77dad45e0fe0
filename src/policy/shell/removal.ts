import { posix } from 'node:path';
import type { Reason } from '../../core/decision.js';
import { type CommandAnalysis, reason, type SimpleCommand, show, type Word } from './command.js';
import { at, type Cwds, cwds } from './cwd.js';
import { has, type Opt, scan } from './options.js';
import { commandWrites } from './targets.js';

/** The built-in `rm_root` rule: recursive removals of /, system directories, homes and what is above the start. */

/** Directories whose recursive removal destroys the system or a home (`~` is any user's home, `~root` too). */
export const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/opt',
  '/proc',
  '/root',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
  '~',
]);

/**
 * Why removing everything below `p` (normalised; relative to the command's starting directory) destroys what
 * it must not, or undefined: a system directory or a home, anything in /proc, /sys or /dev (`/proc/self/root` is
 * `/`), or a directory above the starting one (`..`, which in the sandbox's /workspace is `/`).
 */
function destroys(p: string): string | undefined {
  if (SYSTEM_DIRS.has(p)) return `${p} is a system directory or a home`;
  if (/^\/(proc|sys|dev)\//.test(p)) return `${p} is in /proc, /sys or /dev (/proc/self/root is /)`;
  if (p === '..' || p.startsWith('../')) return `${p} is above the directory the command starts in`;
  return undefined;
}

/** A home directory spelling (`~`, `~root`, `~root/x`) as `~…`; `~+` is the current directory. Null: `~-`. */
function home(v: string): string | null {
  const slash = v.indexOf('/');
  const head = slash < 0 ? v : v.slice(0, slash);
  const rest = slash < 0 ? '' : v.slice(slash);
  if (head === '~+') return `.${rest}`;
  if (head === '~-') return null;
  return `~${rest}`;
}

/** What a recursive removal of word `w` reaches, from each possible directory; a reason when it is destroying. */
function removalRisk(w: Word, dirs: Cwds, cwdUnknown: boolean): string | undefined {
  if (w.value === null) return 'the target is only known at run time (it may be /, ~ or ..)';
  let v = w.value;
  if (w.expands) {
    if (v.includes('{')) return `${v} has brace expansion`;
    // A glob removes what its directory holds: `/etc/*` is as bad as `/etc`.
    const segs = v.split('/');
    const g = segs.findIndex((x) => /[*?[]/.test(x));
    if (g >= 0) v = segs.slice(0, g).join('/') || (v.startsWith('/') ? '/' : '.');
  }
  if (v.startsWith('~')) {
    const h = home(v);
    if (h === null) return `${v} is the previous directory, only known at run time`;
    v = h;
    if (v.startsWith('~')) return destroys(v.length > 1 ? posix.normalize(v).replace(/\/+$/, '') : v);
  }
  if (v.startsWith('/')) return destroys(posix.normalize(v).replace(/(.)\/+$/, '$1'));
  if ('unknown' in dirs) return `${v} is relative, and ${dirs.unknown}`;
  if (cwdUnknown) return `${v} is relative to a directory only known at run time`;
  for (const d of dirs.dirs) {
    const why = destroys(posix.normalize(at(d, v)).replace(/(.)\/+$/, '$1'));
    if (why) return why;
  }
  return undefined;
}

/** rm's long options, which getopt accepts abbreviated to any unambiguous prefix (`--rec`, `--no-p`). */
const RM_LONG = ['recursive', 'no-preserve-root', 'preserve-root', 'force', 'interactive', 'one-file-system', 'dir'];

function rmLong(o: Opt): string | undefined {
  if (!o.name.startsWith('--')) return undefined;
  const n = o.name.slice(2);
  const hits = RM_LONG.filter((l) => l.startsWith(n));
  return hits.includes(n) ? n : hits.length === 1 ? hits[0] : undefined;
}

/**
 * Built-in rule, with or without path rules: a recursive removal (`rm -r`, `find -delete`) of /, a system
 * directory, a home, /proc paths or a directory above the starting one, in every spelling (`../../..`, `~root`,
 * `/proc/self/root/*`, `//`, `/.`, `/etc/*`, `cd / && rm -rf ./*`, `--rec`, `find -L / -delete`), or of a target
 * only known at run time. A link made in the same command to such a directory (`ln -s / r && rm -rf r/*`)
 * counts as one.
 */
export function rmRootFindings(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  const dirs = cwds(a);
  const deny = (c: SimpleCommand, why: string) =>
    out.push(reason('rm_root', `${c.name} removes recursively: ${why}`, show(c), 'builtin.rm_root'));
  let removes = false;
  for (const c of a.commands) {
    if (c.name === 'rm') {
      const s = scan(c.args, {});
      const long = s.opts.map(rmLong);
      if (long.includes('no-preserve-root')) deny(c, '--no-preserve-root');
      if (!s.dynamic && !has(s, '-r', '-R') && !long.includes('recursive')) continue;
      removes = true;
      for (const o of s.operands) {
        const why = removalRisk(o, dirs, c.cwdUnknown === true);
        if (why) deny(c, why);
      }
    } else if (c.name === 'find' && c.args.some((w) => w.value === '-delete')) {
      removes = true;
      for (const t of commandWrites(c)) {
        // `find -L` follows links out of the directories it deletes in.
        const why = t.unresolved ?? (t.by === 'find' ? removalRisk(t.word, dirs, c.cwdUnknown === true) : undefined);
        if (why) deny(c, why);
      }
    }
  }
  if (!removes) return out;
  for (const c of a.commands) {
    if (c.name !== 'ln' && c.name !== 'cp') continue;
    for (const t of commandWrites(c)) {
      if (t.by !== 'ln -s' && t.by !== 'cp -s') continue;
      const why = removalRisk(t.word, dirs, c.cwdUnknown === true);
      if (why) deny(c, `it links to ${why}`);
    }
  }
  return out;
}
