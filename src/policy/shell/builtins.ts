import { posix } from 'node:path';
import type { Reason } from '../../core/decision.js';
import { type CommandAnalysis, reason, show } from './command.js';
import { modeFindings } from './modes.js';
import { DOWNLOADERS, INTERPRETERS, isInterpreter, PRIVILEGE } from './programs.js';
import { rmRootFindings } from './removal.js';
import { deviceWrites } from './writes.js';

/** The built-in dangerous-command rules, on unless a rule says `builtin: false`. */

/** The built-in dangerous-command rules. */
export function builtinFindings(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  for (const c of a.commands) {
    const ev = show(c);
    for (const w of c.wrappers) {
      if (PRIVILEGE.has(w))
        out.push(reason('privilege', `${w} runs a command with raised privileges`, ev, 'builtin.privilege'));
    }
    if (c.name === null) {
      out.push(
        reason('dynamic_program', 'the program to run is only known at run time', ev, 'builtin.dynamic_program'),
      );
      continue;
    }
    const name = c.name;
    if (PRIVILEGE.has(name)) out.push(reason('privilege', `${name} raises privileges`, ev, 'builtin.privilege'));
    if (name === 'eval') out.push(reason('eval', 'eval runs text as code', ev, 'builtin.eval'));
    if (INTERPRETERS.has(name) && (c.stdinDownloads || c.args.some((x) => x.downloads))) {
      out.push(reason('download_exec', 'runs code fetched from the network', ev, 'builtin.download_exec'));
    }
    if (name === 'dd' && c.args.some((x) => x.value?.startsWith('of=/dev/'))) {
      out.push(reason('disk_write', 'dd writes to a device', ev, 'builtin.disk_write'));
    }
    if (name.startsWith('mkfs') || name === 'wipefs' || name === 'mke2fs' || name === 'mkswap')
      out.push(reason('disk_write', `${name} destroys a file system`, ev, 'builtin.disk_write'));
  }
  for (const n of a.nested)
    out.push(
      ...builtinFindings({ ...n, commands: n.commands.map((c) => ({ ...c, wrappers: [] })) }).filter(
        (r) => r.ruleId === 'builtin.download_exec',
      ),
    );
  out.push(...rmRootFindings(a), ...deviceWrites(a), ...modeFindings(a));
  // Download piped into an interpreter, in any stage order with stages in between.
  for (const pipe of a.pipelines) {
    let downloaded = false;
    for (const stage of pipe) {
      for (const i of stage) {
        const c = a.commands[i]!;
        if (downloaded && (c.hidden !== undefined || (c.name !== null && isInterpreter(c.name)))) {
          out.push(reason('download_exec', 'pipes a download into an interpreter', show(c), 'builtin.download_exec'));
        }
      }
      if (stage.some((i) => DOWNLOADERS.has(a.commands[i]!.name ?? ''))) downloaded = true;
    }
  }
  // Download to a file, then run that file.
  const saved = new Set<string>((a.saved ?? []).map((f) => posix.normalize(f)));
  for (const c of a.commands) {
    if (c.name && DOWNLOADERS.has(c.name)) {
      for (let i = 0; i < c.args.length; i++) {
        const v = c.args[i]!.value;
        if ((v === '-o' || v === '-O' || v === '--output' || v === '--output-document') && c.args[i + 1]?.value) {
          saved.add(posix.normalize(c.args[i + 1]!.value!));
        }
      }
      continue;
    }
    const targets = [c.program, ...(c.name && INTERPRETERS.has(c.name) ? c.args.map((x) => x.value) : [])];
    if (targets.some((t) => t !== null && saved.has(posix.normalize(t)))) {
      out.push(reason('download_exec', 'runs a file it just downloaded', show(c), 'builtin.download_exec'));
    }
  }
  return out;
}
