import { posix } from 'node:path';
import { type CommandAnalysis, show } from './command.js';
import { scan } from './options.js';

/** The directories a command's relative paths may be relative to, after the `cd`s it makes. */

const MAX_CWDS = 8;

/** `p` from directory `from` (absolute `p` as it is), with `..` kept: the kernel resolves it after symlinks. */
export function at(from: string, p: string): string {
  return p.startsWith('/') || from === '.' ? p : `${from}/${p}`;
}

/** `.` segments and repeated slashes dropped, `..` kept (`a/./b//../c` is `a/b/../c`). */
export function tidy(p: string): string {
  const segs = p.split('/').filter((s, i) => s !== '.' && (s !== '' || i === 0));
  return segs.length === 0 ? '.' : segs.length === 1 && segs[0] === '' ? '/' : segs.join('/');
}

/** A `cd` operand POSIX looks up in `CDPATH` (inherited, so unknown here): not `/…`, `.`, `..`, `./…`, `../…`. */
function searchesCdpath(dir: string): boolean {
  return !/^(\/|\.\.?(\/|$))/.test(dir);
}

export type Cwds = { dirs: string[] } | { unknown: string };

/**
 * Directories relative paths may be relative to (`.` is the workspace): every `cd` is assumed to take effect
 * wherever it is (in a subshell or not), so a relative target must be allowed from each. `cd` resolves `..`
 * lexically (`-L`) but physically with `-P` and when the lexical directory does not exist (bash retries the
 * operand as written), so an operand with `..` yields both. Unknown when a `cd` goes somewhere only known at run
 * time (`cd`, `cd -`, `cd ~`, `cd $X`, `pushd`, `popd`, a name looked up in `CDPATH`).
 */
export function cwds(a: CommandAnalysis): Cwds {
  let set = ['.'];
  for (const c of a.commands) {
    if (c.name === 'pushd' || c.name === 'popd') return { unknown: `${c.name} changes to a directory stack entry` };
    if (c.name !== 'cd') continue;
    const s = scan(c.args, {});
    const dir = s.operands[0];
    if (s.dynamic || !dir || dir.value === null || dir.expands || dir.value === '-' || dir.value.startsWith('~'))
      return { unknown: `${show(c)} changes to a directory only known at run time` };
    if (searchesCdpath(dir.value))
      return { unknown: `${show(c)} may change to a directory in an inherited CDPATH (write cd ./${dir.value})` };
    const next = new Set(set);
    for (const cwd of set) {
      const raw = tidy(at(cwd, dir.value));
      next.add(posix.normalize(raw));
      next.add(raw);
    }
    set = [...next];
    if (set.length > MAX_CWDS) return { unknown: `more than ${MAX_CWDS} directories the command may run in` };
  }
  return { dirs: set };
}
