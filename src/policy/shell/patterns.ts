import { posix } from 'node:path';
import { matchSegment } from '../resources.js';
import { analyzeCommand } from './analyze.js';
import type { CommandAnalysis, SimpleCommand, Word } from './command.js';
import { DOWNLOADERS, SHELLS } from './programs.js';

/** User command patterns (`rm -rf /`, `curl * | sh`), parsed as commands and matched flag- and operand-wise. */

/** Long options some programs spell out, mapped to their short form so `--recursive --force` equals `-rf`. */
const LONG_FLAGS: Record<string, Record<string, string>> = {
  rm: { recursive: 'r', force: 'f', dir: 'd', verbose: 'v', interactive: 'i' },
  chmod: { recursive: 'R', verbose: 'v', changes: 'c', silent: 'f', quiet: 'f' },
  chown: { recursive: 'R' },
  cp: { recursive: 'r', force: 'f' },
  curl: { silent: 's', location: 'L', output: 'o', insecure: 'k' },
  wget: { quiet: 'q', 'output-document': 'O' },
};
const FLAG_EQUIVALENTS: Record<string, Record<string, string>> = { rm: { R: 'r' }, cp: { R: 'r' } };

interface Parsed {
  flags: Set<string>;
  operands: Word[];
}

function parseArgs(name: string, args: Word[]): Parsed {
  const flags = new Set<string>();
  const operands: Word[] = [];
  const longs = LONG_FLAGS[name] ?? {};
  const eq = FLAG_EQUIVALENTS[name] ?? {};
  let options = true;
  for (const a of args) {
    const v = a.value;
    if (options && v === '--') {
      options = false;
      continue;
    }
    if (options && v?.startsWith('--') && v.length > 2) {
      const long = v.slice(2).split('=')[0]!;
      // getopt takes any unambiguous prefix of a long option (`--rec` is `--recursive`).
      const hits = Object.keys(longs).filter((l) => l.startsWith(long));
      const short = Object.hasOwn(longs, long) ? longs[long] : hits.length === 1 ? longs[hits[0]!] : undefined;
      flags.add(short ? (eq[short] ?? short) : `--${long}`);
      continue;
    }
    // chmod's symbolic modes (-w, -x) look like options; keep them as operands.
    if (options && v !== null && /^-[A-Za-z]+$/.test(v) && !(name === 'chmod' && /^-[rwxXst]+$/.test(v))) {
      for (const ch of v.slice(1)) flags.add(eq[ch] ?? ch);
      continue;
    }
    operands.push(a);
  }
  return { flags, operands };
}

function normPath(p: string): string {
  if (p === '~' || p.startsWith('~/')) return posix.normalize(`~/${p.slice(2)}`).replace(/\/+$/, '') || '~';
  if (!p.startsWith('/')) return p;
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** The directory a glob operand covers: `/*` covers `/`, `/usr/*` covers `/usr`. */
function globBase(p: string): string | undefined {
  const segs = p.split('/');
  const i = segs.findIndex((s) => /[*?[]/.test(s));
  if (i < 0) return undefined;
  return normPath(segs.slice(0, i).join('/') || '/');
}

interface StagePattern {
  name: string;
  flags: Set<string>;
  operands: string[];
  /** The pattern ends in `*`: any further arguments. */
  rest: boolean;
}

export interface CommandPattern {
  source: string;
  stages: StagePattern[];
}

/** Program families: a pattern naming one member matches all (`sh` matches bash, zsh…; `curl` matches wget…). */
function family(name: string): string {
  if (SHELLS.has(name)) return 'sh';
  if (DOWNLOADERS.has(name)) return 'curl';
  return name;
}

/** Compiles a command pattern by parsing it as a shell pipeline; throws on a pattern that is not one. */
export function compileCommandPattern(source: string): CommandPattern {
  const a = analyzeCommand(source);
  if (!a.ok) throw new TypeError(`command pattern "${source}" does not parse: ${a.error}`);
  let order: number[];
  if (a.pipelines.length === 1) order = a.pipelines[0]!.map((st) => st[0]!);
  else if (a.pipelines.length === 0 && a.commands.length === 1) order = [0];
  else throw new TypeError(`command pattern "${source}" must be one command or one pipeline`);
  const stages = order.map((i) => {
    const c = a.commands[i]!;
    if (c.name === null) throw new TypeError(`command pattern "${source}" must name its program`);
    const { flags, operands } = parseArgs(c.name, c.args);
    const ops = operands.map((o) => o.value ?? '*');
    const rest = ops.length > 0 && ops[ops.length - 1] === '*';
    return { name: c.name, flags, operands: rest ? ops.slice(0, -1) : ops, rest };
  });
  return { source, stages };
}

function operandMatches(pattern: string, w: Word, conservative: boolean): boolean {
  if (pattern === '*') return true;
  if (w.value === null) return conservative;
  if (pattern.startsWith('/') || pattern.startsWith('~')) {
    const p = normPath(pattern);
    const v = normPath(w.value);
    if (/[*?]/.test(p)) return matchSegment(p, v);
    return v === p || globBase(w.value) === p;
  }
  return matchSegment(pattern, w.value);
}

export function stageMatches(sp: StagePattern, c: SimpleCommand, conservative: boolean): boolean {
  if (c.name === null) return conservative;
  if (family(c.name) !== family(sp.name) && c.name !== sp.name) return false;
  if (sp.flags.size === 0 && sp.operands.length === 0) return true;
  const { flags, operands } = parseArgs(c.name, c.args);
  for (const f of sp.flags) if (!flags.has(f)) return false;
  return sp.operands.every((p) => operands.some((o) => operandMatches(p, o, conservative)));
}

/**
 * Whether `pattern` matches somewhere in the analysed command. A deny check is conservative: a word only known
 * at run time might be anything, so it matches.
 */
export function patternMatches(pattern: CommandPattern, a: CommandAnalysis, conservative: boolean): boolean {
  if (pattern.stages.length === 1) return a.commands.some((c) => stageMatches(pattern.stages[0]!, c, conservative));
  for (const pipe of a.pipelines) {
    let k = 0;
    for (const stage of pipe) {
      if (
        k < pattern.stages.length &&
        stage.some((i) => stageMatches(pattern.stages[k]!, a.commands[i]!, conservative))
      )
        k++;
    }
    if (k === pattern.stages.length) return true;
  }
  return a.nested.some((n) => patternMatches(pattern, n, conservative));
}
