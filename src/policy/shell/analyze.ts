import { posix } from 'node:path';
import { goString, isNil, list, nodeType, parse, type ShNode, walk } from './ast.js';
import type { CommandAnalysis, SimpleCommand, Word } from './command.js';
import { CODE_ENV, DOWNLOADERS, runsHidden, SHELLS, WRAPPERS } from './programs.js';
import { containsDownloader, wordOf } from './words.js';

/**
 * Parsing and walking: every simple command of a command string, wherever it is nested, with wrappers unwrapped,
 * `sh -c`, trap and alias bodies parsed recursively, redirections and pipelines recorded.
 */

const OP_PIPE = 12;
const OP_PIPE_ALL = 13;
export const MAX_COMMAND_LENGTH = 16 * 1024;
const MAX_NESTING = 4;

/**
 * Parses `src` and lists every simple command in it, wherever it is nested. Input that does not parse, or whose
 * tree is too deep to analyse, is reported as not ok (the caller denies it).
 */
export function analyzeCommand(src: string, depth = 0): CommandAnalysis {
  try {
    return analyze(src, depth);
  } catch (err) {
    return { ok: false, error: `cannot analyse: ${(err as Error).message}`, commands: [], pipelines: [], nested: [] };
  }
}

function analyze(src: string, depth: number): CommandAnalysis {
  if (src.length > MAX_COMMAND_LENGTH)
    return {
      ok: false,
      error: `command longer than ${MAX_COMMAND_LENGTH} bytes`,
      commands: [],
      pipelines: [],
      nested: [],
    };
  if (src.includes('\u0000'))
    return { ok: false, error: 'command contains a NUL byte', commands: [], pipelines: [], nested: [] };
  let file: ShNode;
  try {
    // Nested scripts (`sh -c`) are parsed while the outer tree is in use: they get a parser of their own.
    file = parse(src, depth > 0);
  } catch (err) {
    return { ok: false, error: String(err).split('\n')[0] ?? 'parse error', commands: [], pipelines: [], nested: [] };
  }
  const commands: SimpleCommand[] = [];
  const pipelines: number[][][] = [];
  const nested: CommandAnalysis[] = [];
  const callIndex = new Map<ShNode, [number, number]>();
  const fedByDownload = new Set<ShNode>();
  const saved: string[] = [];
  const writes: (string | null)[] = [];
  const redirectWords: Word[] = [];
  let pending: string | undefined;
  walk(file, (n) => {
    if (pending) return false;
    const t = nodeType(n);
    if (t === 'Stmt') redirects(n, fedByDownload, saved, writes, redirectWords);
    if (t === 'CallExpr') {
      const args = list(n.Args).map(wordOf);
      const first = commands.length;
      for (const as of list(n.Assigns)) {
        const v = goString((as.Name as ShNode | undefined)?.Value);
        if (CODE_ENV.has(v)) commands.push(hiddenBy(`${v}=`, [], `${v} makes the next program run code`));
      }
      if (args.length > 0) {
        commands.push(
          ...expand(
            args,
            depth,
            (e) => (pending ??= e),
            (a) => nested.push(a),
          ),
        );
        if (fedByDownload.has(n)) for (const c of commands.slice(first)) c.stdinDownloads = true;
      }
      callIndex.set(n, [first, commands.length]);
    }
    return true;
  });
  if (pending) return { ok: false, error: pending, commands: [], pipelines: [], nested: [] };
  // Pipelines: a downloader stage followed by an interpreter stage is download-and-execute.
  walk(file, (n) => {
    if (nodeType(n) === 'BinaryCmd' && (n.Op === OP_PIPE || n.Op === OP_PIPE_ALL)) {
      const stages: ShNode[] = [];
      const flatten = (x: ShNode) => {
        const cmd = x.Cmd as ShNode | undefined;
        if (cmd && nodeType(cmd) === 'BinaryCmd' && (cmd.Op === OP_PIPE || cmd.Op === OP_PIPE_ALL)) {
          flatten(cmd.X as ShNode);
          flatten(cmd.Y as ShNode);
        } else stages.push(x);
      };
      flatten(n.X as ShNode);
      flatten(n.Y as ShNode);
      const pipe: number[][] = stages.map((st) => {
        const idx: number[] = [];
        walk(st, (x) => {
          const r = nodeType(x) === 'CallExpr' ? callIndex.get(x) : undefined;
          if (r) for (let i = r[0]; i < r[1]; i++) idx.push(i);
          return true;
        });
        return idx;
      });
      const p = pipelines.length;
      pipelines.push(pipe);
      pipe.forEach((idx, s) => {
        for (const i of idx) {
          const c = commands[i];
          if (c && c.pipeline < 0) {
            c.pipeline = p;
            c.stage = s;
          }
        }
      });
      return false;
    }
    return true;
  });
  return {
    ok: true,
    commands,
    pipelines,
    nested,
    ...(saved.length > 0 ? { saved } : {}),
    ...(writes.length > 0 ? { writes } : {}),
    ...(redirectWords.length > 0 ? { redirects: redirectWords } : {}),
  };
}

/** A placeholder for a command that `by` runs and the rules cannot see: unknown program, so never allowlisted. */
function hiddenBy(by: string, wrappers: string[], why: string): SimpleCommand {
  return {
    program: null,
    name: null,
    args: [{ value: why, prefix: why, downloads: false }],
    pipeline: -1,
    stage: -1,
    wrappers,
    hidden: by,
  };
}

const REDIRECT_OUT = new Set([54, 55, 60, 64, 65]); // > >> >| &> &>>
const REDIRECT_RDWR = 57; // <>
const REDIRECT_DUP_OUT = 59; // >&N, >&-, and `>& file` (bash: stdout and stderr to file)

/** Redirections of a statement: input fed by a download, and a downloader's output saved to a file. */
function redirects(
  stmt: ShNode,
  fedByDownload: Set<ShNode>,
  saved: string[],
  writes: (string | null)[],
  targets: Word[],
): void {
  const cmd = stmt.Cmd as ShNode | undefined;
  for (const r of list(stmt.Redirs)) {
    const word = r.Word as ShNode | undefined;
    const op = r.Op as number;
    const w: Word = word && !isNil(word) ? wordOf(word) : { value: null, prefix: '', downloads: false };
    if (REDIRECT_OUT.has(op)) writes.push(w.value);
    if (REDIRECT_OUT.has(op) || op === REDIRECT_RDWR) targets.push(w);
    else if (op === REDIRECT_DUP_OUT && !(w.value !== null && /^([0-9]+-?|-)$/.test(w.value))) targets.push(w);
  }
  if (!cmd || isNil(cmd) || nodeType(cmd) !== 'CallExpr') return;
  for (const r of list(stmt.Redirs)) {
    const word = r.Word as ShNode | undefined;
    const hdoc = r.Hdoc as ShNode | undefined;
    const op = r.Op as number;
    if (REDIRECT_OUT.has(op)) {
      const first = list(cmd.Args)[0];
      const prog = first ? wordOf(first).value : null;
      const target = word && !isNil(word) ? wordOf(word).value : null;
      if (prog && DOWNLOADERS.has(posix.basename(prog)) && target) saved.push(target);
      continue;
    }
    if ((word && !isNil(word) && containsDownloader(word)) || (hdoc && !isNil(hdoc) && containsDownloader(hdoc))) {
      fedByDownload.add(cmd);
    }
  }
}

/** Commands run in a directory only known at run time when `chdir`. */
function moved(cs: SimpleCommand[], chdir: boolean, nested: CommandAnalysis[]): SimpleCommand[] {
  if (chdir) {
    for (const c of cs) c.cwdUnknown = true;
    for (const a of nested) a.cwdUnknown = true;
  }
  return cs;
}

/** Unwraps wrappers (`env FOO=1 nice -n 5 rm …` → `rm …`) and inlines `sh -c '…'` scripts. */
function expand(
  args: Word[],
  depth: number,
  fail: (e: string) => void,
  nest: (a: CommandAnalysis) => void,
): SimpleCommand[] {
  const wrappers: string[] = [];
  const wrapperArgs: { name: string; args: Word[] }[] = [];
  let rest = args;
  const out: SimpleCommand[] = [];
  // `env -C DIR cmd`, `sudo -D DIR cmd`: the command runs in another directory.
  let chdir = false;
  const nestedHere: CommandAnalysis[] = [];
  const nestHere = (a: CommandAnalysis) => {
    nestedHere.push(a);
    nest(a);
  };
  for (let guard = 0; guard < 16; guard++) {
    const prog = rest[0];
    if (!prog) return moved(out, chdir, nestedHere);
    // A program word the shell may still expand (`/bin/r?`, `{rm,-rf,/}`) is only known at run time.
    const name = prog.value === null || prog.expands ? null : posix.basename(prog.value);
    const w = name === null ? undefined : WRAPPERS[name];
    if (!w || rest.length === 1) {
      out.unshift({
        program: prog.value,
        name,
        args: rest.slice(1),
        pipeline: -1,
        stage: -1,
        wrappers,
        ...(wrapperArgs.length > 0 ? { wrapperArgs } : {}),
      });
      const why = name === null ? undefined : runsHidden(name, rest.slice(1));
      if (why) out.push(hiddenBy(name!, [...wrappers], why));
      if (name !== null && SHELLS.has(name)) {
        const script = shellScript(rest.slice(1));
        // Without a -c script we can read, a shell runs its standard input (pipe, heredoc, here-string) or a file.
        if (!script) out.push(hiddenBy(name, [...wrappers], `${name} runs a script the rules cannot see`));
        if (script) {
          if (script.value === null) {
            // `sh -c "$X"`: what runs is decided at run time.
            out[0]!.args.push({ value: null, prefix: '', downloads: script.downloads });
          } else if (depth >= MAX_NESTING) {
            fail(`shell -c scripts nested deeper than ${MAX_NESTING} levels`);
          } else {
            const inner = analyzeCommand(script.value, depth + 1);
            if (!inner.ok) fail(`sh -c script: ${inner.error}`);
            nestHere(inner);
            for (const c of inner.commands)
              out.push({ ...c, pipeline: -1, stage: -1, wrappers: [...wrappers, name, ...c.wrappers] });
          }
        }
      }
      if (name === 'trap' && rest[1]) {
        // A trap body runs when the signal (or EXIT, ERR, DEBUG) fires: check it as a command.
        const body = rest[1].value;
        if (body === null || depth >= MAX_NESTING)
          out.push(hiddenBy('trap', [...wrappers], 'trap body only known at run time'));
        else {
          const inner = analyzeCommand(body, depth + 1);
          if (!inner.ok) fail(`trap body: ${inner.error}`);
          nestHere(inner);
          for (const c of inner.commands)
            out.push({ ...c, pipeline: -1, stage: -1, wrappers: [...wrappers, 'trap', ...c.wrappers] });
        }
      }
      if (name === 'alias') {
        // An alias body runs wherever the alias is used: check it as a command.
        for (const w of rest.slice(1)) {
          const eq = w.value?.indexOf('=') ?? -1;
          if (eq <= 0 || depth >= MAX_NESTING) continue;
          const inner = analyzeCommand(w.value!.slice(eq + 1), depth + 1);
          if (!inner.ok) fail(`alias body: ${inner.error}`);
          nestHere(inner);
          for (const c of inner.commands)
            out.push({ ...c, pipeline: -1, stage: -1, wrappers: [...wrappers, 'alias', ...c.wrappers] });
        }
      }
      if (name === 'find') {
        // find … -exec CMD {} ; runs CMD on every match: check CMD like any other command.
        for (let i = 1; i < rest.length; i++) {
          const v = rest[i]!.value;
          if (v !== '-exec' && v !== '-execdir' && v !== '-ok' && v !== '-okdir') continue;
          let j = i + 1;
          while (j < rest.length && rest[j]!.value !== ';' && rest[j]!.value !== '+') j++;
          const inner = rest
            .slice(i + 1, j)
            .map((w) => (w.value === '{}' ? { value: null, prefix: '', downloads: false, findMatch: true } : w));
          // -execdir/-okdir run in each match's directory: relative paths there are relative to it.
          const elsewhere = v === '-execdir' || v === '-okdir';
          const execNested: CommandAnalysis[] = [];
          const nestExec = (a: CommandAnalysis) => {
            execNested.push(a);
            nestHere(a);
          };
          if (inner.length > 0)
            out.push(
              ...expand(inner, depth, fail, nestExec).map((c) => ({
                ...c,
                wrappers: [...wrappers, 'find', ...c.wrappers],
                ...(elsewhere ? { cwdUnknown: true } : {}),
              })),
            );
          if (elsewhere) for (const a of execNested) a.cwdUnknown = true;
          i = j;
        }
      }
      return moved(out, chdir, nestedHere);
    }
    const why = runsHidden(name!, rest.slice(1));
    if (why) out.push(hiddenBy(name!, [...wrappers], why));
    wrappers.push(name!);
    // Skip the wrapper's own options (and their arguments), assignments and fixed arguments.
    let i = 1;
    while (i < rest.length) {
      const v = rest[i]!.value;
      if (v === null) break;
      if (v === '--') {
        i++;
        break;
      }
      if (w.assigns && /^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) {
        const key = v.slice(0, v.indexOf('='));
        if (CODE_ENV.has(key)) out.push(hiddenBy(`${key}=`, [...wrappers], `${key} makes the next program run code`));
        i++;
        continue;
      }
      if (v.startsWith('-') && v.length > 1) {
        if ((name === 'env' || name === 'sudo') && /^(-[A-Za-z]*[CD]|--chdir)/.test(v)) chdir = true;
        i += w.optsWithArg?.has(v) ? 2 : 1;
        continue;
      }
      break;
    }
    i += w.fixedArgs ?? 0;
    wrapperArgs.push({ name: name!, args: rest.slice(1, i) });
    // xargs appends words read at run time: the wrapped command gets a dynamic operand.
    rest = name === 'xargs' ? [...rest.slice(i), { value: null, prefix: '', downloads: false }] : rest.slice(i);
    if (rest.length === 0) {
      out.unshift({ program: prog.value, name, args: [], pipeline: -1, stage: -1, wrappers: wrappers.slice(0, -1) });
      return moved(out, chdir, nestedHere);
    }
  }
  fail('too many nested wrapper programs');
  return moved(out, chdir, nestedHere);
}

/** The script argument of `sh -c SCRIPT`, if any. */
function shellScript(args: Word[]): Word | undefined {
  let c = false;
  for (let i = 0; i < args.length; i++) {
    const v = args[i]!.value;
    if (v === null) return c ? args[i] : undefined;
    if (c) {
      // `bash -c -- SCRIPT`: the script is the first word after the options.
      if (v === '--' || v === '-') continue;
      if (v.startsWith('-') || v.startsWith('+')) {
        if (/^[-+][oO]$/.test(v)) i++;
        continue;
      }
      return args[i];
    }
    if (v === '--') return undefined;
    if (/^[-+][oO]$/.test(v)) {
      i++; // -o posix, +O extglob: the option's argument
      continue;
    }
    if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(v)) c = true;
    else if (!v.startsWith('-') && !v.startsWith('+')) return undefined;
  }
  return undefined;
}
