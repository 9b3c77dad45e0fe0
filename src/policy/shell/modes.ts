import type { Reason } from '../../core/decision.js';
import { type CommandAnalysis, reason, show, type Word } from './command.js';
import { scan, values } from './options.js';

/** The built-in `chmod_world` rule: modes that let others write or set setuid, setgid or sticky bits. */

/**
 * What a mode grants, when dangerous: setuid, setgid or sticky bits, or write access for others. Numeric modes of
 * any length (`00777`, `04755`), `=4755`, and symbolic clauses with several operations (`o+r+w`) or copied
 * permissions (`o=u`). A mode chmod would reject is reported too (it cannot be told harmless).
 */
export function modeRisk(mode: string, umask = false): string | undefined {
  const octal = (n: number) =>
    !umask && (n & 0o7000) !== 0
      ? 'sets the setuid, setgid or sticky bit'
      : (umask ? (n & 0o002) === 0 : (n & 0o002) !== 0)
        ? 'lets others write'
        : undefined;
  if (/^[0-7]+$/.test(mode)) return octal(Number.parseInt(mode, 8));
  for (const clause of mode.split(',')) {
    let i = 0;
    let who = '';
    while (i < clause.length && 'ugoa'.includes(clause[i]!)) who += clause[i++];
    if (i === clause.length) return `has the mode ${mode}, which does not parse`;
    const others = who === '' ? umask : /[oa]/.test(who);
    while (i < clause.length) {
      const op = clause[i++]!;
      if (!'-+='.includes(op)) return `has the mode ${mode}, which does not parse`;
      let perms = '';
      while (i < clause.length && 'rwxXstugo01234567'.includes(clause[i]!)) perms += clause[i++];
      if (op === '-') continue;
      if (/^[0-7]+$/.test(perms)) {
        const r = who === '' && !umask ? octal(Number.parseInt(perms, 8)) : `has the mode ${mode}`;
        if (r) return r;
      } else if (!umask && /[st]/.test(perms)) return 'sets the setuid, setgid or sticky bit';
      // `o=u` copies the owner's permissions, write included.
      else if (others && (perms.includes('w') || /[ug]/.test(perms))) return 'lets others write';
    }
  }
  return undefined;
}

/** Built-in rule: modes that let others write or set setuid/setgid/sticky bits (chmod, install/mkdir -m, umask). */
export function modeFindings(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  for (const c of a.commands) {
    const name = c.name;
    let modes: Word[] = [];
    if (name === 'chmod') {
      if (c.args.some((w) => w.value?.startsWith('--reference'))) {
        out.push(
          reason('chmod_world', 'chmod --reference copies a mode the rules cannot see', show(c), 'builtin.chmod_world'),
        );
        continue;
      }
      // The mode is the first word that is not an option (`-R`, `--verbose`); `-w` is a mode, not an option.
      const at = c.args.findIndex((w) => w.value === null || !/^(--.+|-[cfvRHLP]+)$/.test(w.value));
      const mode = c.args[at]?.value === '--' ? c.args[at + 1] : c.args[at];
      modes = mode ? [mode] : [];
    } else if (name === 'install' || name === 'mkdir' || name === 'mkfifo' || name === 'mknod') {
      modes = values(scan(c.args, { short: name === 'install' ? 'mogSt' : 'mZ', long: ['mode'] }), '-m', '--mode');
    } else if (name === 'umask') {
      modes = scan(c.args, {}).operands.slice(0, 1);
    }
    for (const m of modes) {
      const why = m.value === null ? 'has a mode only known at run time' : modeRisk(m.value, name === 'umask');
      if (why) out.push(reason('chmod_world', `${name} ${why}`, show(c), 'builtin.chmod_world'));
    }
  }
  return out;
}
