import { createRequire } from 'node:module';
import { posix } from 'node:path';
import RE2 from 're2';
import type { Reason } from '../core/decision.js';
import type { PathRule } from './paths.js';
import { matchSegment } from './resources.js';
import { deviceWrites, modeFindings, rmRootFindings, writeFindings } from './shell-writes.js';

/**
 * Shell command rules. Commands are parsed with mvdan/sh (the `mvdan-sh` GopherJS build, a real POSIX/bash
 * parser), never matched as substrings: every simple command in pipelines, lists, subshells, functions, `$(…)`,
 * `<(…)`, here-documents and `sh -c '…'` strings is found and checked, after quotes and escapes are resolved
 * and wrapper programs (`env`, `command`, `xargs`, `timeout`, …) are looked through. Unparseable input is denied.
 */

// mvdan-sh is GopherJS output. Its public wrappers (Walk, NodeType, field getters) re-wrap every Go value on each
// access and cost milliseconds per command; the internal Go structs behind `__internal_object__` are plain JS
// objects, read here directly: a struct pointer's type is `constructor.string` (`*syntax.CallExpr`), a slice is
// `{$array, $offset, $length}`, a Go string is a JS string of its UTF-8 bytes.
interface ShNode {
  readonly [key: string]: unknown;
}
interface ShParser {
  Parse(src: string, name: string): { __internal_object__: ShNode };
}
interface ShSyntax {
  NewParser(): ShParser;
}

const require = createRequire(import.meta.url);
let syntax: ShSyntax | undefined;
function sh(): ShSyntax {
  syntax ??= (require('mvdan-sh') as { syntax: ShSyntax }).syntax;
  return syntax;
}
let sharedParser: ShParser | undefined;

/** A Go nil pointer: reading its fields throws. */
function isNil(n: unknown): boolean {
  return typeof n === 'object' && n !== null && (n.constructor as { nil?: unknown } | undefined)?.nil === n;
}

function nodeType(n: ShNode): string {
  const t = (n.constructor as { string?: string } | undefined)?.string;
  return t?.startsWith('*syntax.') ? t.slice(8) : '';
}

function list(v: unknown): ShNode[] {
  const sl = v as { $array?: ShNode[]; $offset?: number; $length?: number } | null | undefined;
  if (!sl || !Array.isArray(sl.$array)) return [];
  return sl.$array.slice(sl.$offset ?? 0, (sl.$offset ?? 0) + (sl.$length ?? 0));
}

/** A Go string (UTF-8 bytes as JS chars) as a JS string. */
function goString(v: unknown): string {
  const s = String(v ?? '');
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** Visits every syntax node below `n` (pre-order); `fn` returning false skips a node's children. */
function walk(n: ShNode, fn: (x: ShNode) => boolean, depth = 0): void {
  if (depth > 2000) throw new Error('syntax tree nested too deeply');
  if (isNil(n)) return;
  if (nodeType(n) !== '' && !fn(n)) return;
  for (const k of Object.keys(n)) {
    if (k === '$val') continue;
    const v = n[k];
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray((v as { $array?: unknown }).$array)) {
      for (const e of list(v)) if (e && typeof e === 'object') walk(e, fn, depth + 1);
    } else if (nodeType(v as ShNode) !== '') walk(v as ShNode, fn, depth + 1);
  }
}

const OP_PIPE = 12;
const OP_PIPE_ALL = 13;
export const MAX_COMMAND_LENGTH = 16 * 1024;
const MAX_NESTING = 4;

/** A word after quote removal; `value` is null when any part is only known at run time (`$X`, `$(…)`). */
export interface Word {
  value: string | null;
  /** The static text before the first dynamic part. */
  prefix: string;
  /** Contains `$(…)`/`<(…)` whose commands include a downloader. */
  downloads: boolean;
  /** Has unquoted glob or brace-expansion syntax, so the shell may turn it into other words. */
  expands?: boolean;
  /** `{}` in `find … -exec`: one of find's matches, below the start paths (which are checked as written to). */
  findMatch?: boolean;
}

export interface SimpleCommand {
  /** Program as written (static), or null when dynamic. */
  program: string | null;
  /** Basename of the program after unwrapping wrappers, e.g. `rm` for `/usr/bin/env /bin/rm`. */
  name: string | null;
  args: Word[];
  /** Index of the pipeline this command is a stage of, and its position in it. */
  pipeline: number;
  stage: number;
  /** Programs that wrapped it (`sudo`, `env`, …). */
  wrappers: string[];
  /** The wrappers' own words (options and fixed arguments: `time -o FILE`, `flock LOCKFILE`), outermost first. */
  wrapperArgs?: { name: string; args: Word[] }[];
  /** Its standard input comes from a download (`bash <<< "$(curl …)"`, `sh < <(wget …)`). */
  stdinDownloads?: boolean;
  /**
   * Set on a placeholder for a command this one runs that the rules cannot see (`python3 -c`, `awk 'system()'`,
   * `git -c alias.x=!cmd`, `BASH_ENV=f bash`): the program that runs it. Its `name` is null, so it is unknown.
   */
  hidden?: string;
  /** Runs in a directory only known at run time (`find -execdir`): its relative paths are unknown. */
  cwdUnknown?: boolean;
}

export interface CommandAnalysis {
  ok: boolean;
  error?: string;
  commands: SimpleCommand[];
  /** Pipelines as lists of command indexes per stage. */
  pipelines: number[][][];
  /** Analyses of `sh -c '…'` scripts; their commands are also inlined into `commands`. */
  nested: CommandAnalysis[];
  /** Files a downloader's output is redirected into (`curl … > x.sh`). */
  saved?: string[];
  /** Output redirection targets (`> f`, `>> f`, `&> f`); null when only known at run time. */
  writes?: (string | null)[];
  /** Files redirections write to (`>`, `>>`, `2>`, `&>`, `>|`, `<>`, `>& file`), as words. */
  redirects?: Word[];
  /** A nested script run in a directory only known at run time (`env -C DIR sh -c …`, `find -execdir sh -c …`). */
  cwdUnknown?: boolean;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'yash', 'busybox']);
const INTERPRETERS = new Set([
  ...SHELLS,
  'python',
  'python2',
  'python3',
  'perl',
  'ruby',
  'node',
  'nodejs',
  'php',
  'lua',
  'source',
  '.',
  'eval',
]);
const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'fetch',
  'aria2c',
  'http',
  'https',
  'lwp-request',
  'get',
  'GET',
  'ftp',
  'tftp',
]);
/** Interpreters whose versioned names also run code: python3.11, perl5.36, node20, lua5.4, ruby3.1. */
const VERSIONED_INTERPRETER =
  /^(python|pypy|perl|ruby|node|php|lua|luajit|tclsh|wish|Rscript|R|guile|osascript)[0-9.]*$/;

/** Programs whose whole purpose is to run code or commands they are given: what they run is unknown to the rules. */
const RUNNERS = new Set([
  'awk',
  'gawk',
  'mawk',
  'nawk',
  'expect',
  'ssh',
  'parallel',
  'script',
  'watch',
  'unshare',
  'nsenter',
  'systemd-run',
  'firejail',
  'bwrap',
  'gdb',
]);

/** Environment variables that make a later program run code of the setter's choosing. */
const CODE_ENV = new Set([
  'BASH_ENV',
  'ENV',
  'PROMPT_COMMAND',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'PERL5OPT',
  'PERL5LIB',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PYTHONHOME',
  'NODE_OPTIONS',
  'RUBYOPT',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXTERNAL_DIFF',
  'GIT_PAGER',
  'GIT_EDITOR',
  'GIT_ASKPASS',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_GLOBAL',
  'GIT_EXEC_PATH',
  'PAGER',
  'EDITOR',
  'VISUAL',
  'MANPAGER',
  'LESSOPEN',
]);

/** sed's `e` command (`1e cmd`, `/x/e`) or `s///e` flag runs a shell command. */
const SED_EXEC = new RE2(String.raw`(^|[;{}
0-9$/!,\s])\s*e(\s|;|}|$)|/[gIipmM0-9]*e[gIipmM0-9]*\s*(;|}|$)`);

const PRIVILEGE = new Set(['sudo', 'su', 'doas', 'pkexec', 'runuser', 'setpriv', 'sudoedit']);

/** Wrapper programs and how many leading option-like words (plus option arguments) they take before the command. */
const WRAPPERS: Record<string, { optsWithArg?: Set<string>; fixedArgs?: number; assigns?: boolean }> = {
  sudo: { optsWithArg: new Set(['-u', '-g', '-C', '-h', '-p', '-r', '-t', '-U', '-D']) },
  doas: { optsWithArg: new Set(['-u', '-C']) },
  env: { optsWithArg: new Set(['-u', '-C', '-S', '--unset', '--chdir']), assigns: true },
  nice: { optsWithArg: new Set(['-n', '--adjustment']) },
  nohup: {},
  time: { optsWithArg: new Set(['-f', '-o', '--format', '--output']) },
  command: {},
  builtin: {},
  exec: { optsWithArg: new Set(['-a']) },
  timeout: { optsWithArg: new Set(['-s', '-k', '--signal', '--kill-after']), fixedArgs: 1 },
  stdbuf: { optsWithArg: new Set(['-i', '-o', '-e']) },
  setsid: {},
  ionice: { optsWithArg: new Set(['-c', '-n', '-p']) },
  chrt: { fixedArgs: 1 },
  taskset: { fixedArgs: 1 },
  chroot: { fixedArgs: 1 },
  xargs: { optsWithArg: new Set(['-a', '-d', '-E', '-e', '-I', '-i', '-L', '-l', '-n', '-P', '-s']) },
  busybox: {},
  watch: { optsWithArg: new Set(['-n', '-d']) },
  strace: {
    optsWithArg: new Set(['-a', '-b', '-e', '-E', '-I', '-o', '-O', '-p', '-P', '-s', '-S', '-u', '-U', '-X']),
  },
  ltrace: { optsWithArg: new Set(['-a', '-e', '-F', '-l', '-n', '-o', '-p', '-s', '-u', '-w', '-x', '-A', '-D']) },
  valgrind: {},
  unbuffer: {},
  flock: { optsWithArg: new Set(['-w', '--timeout', '-E', '--conflict-exit-code']), fixedArgs: 1 },
  setarch: { fixedArgs: 1 },
  linux32: {},
  linux64: {},
  prlimit: {},
  numactl: {},
  cgexec: { optsWithArg: new Set(['-g']) },
  'start-stop-daemon': {},
};

/** Whether a program runs code it is given (shells without a script we can read, interpreters, runners). */
function isInterpreter(name: string): boolean {
  return INTERPRETERS.has(name) || VERSIONED_INTERPRETER.test(name) || RUNNERS.has(name);
}

/**
 * What a known program runs besides itself, when the rules cannot see it: the reason, or undefined. Arguments and
 * options that make an otherwise harmless program a command runner (the class, not one spelling per program).
 */
function runsHidden(name: string, args: Word[]): string | undefined {
  const vals = args.map((a) => a.value);
  const has = (pred: (v: string) => boolean) => vals.some((v) => v !== null && pred(v));
  if (RUNNERS.has(name)) return `${name} runs commands it is given`;
  if (INTERPRETERS.has(name) && !SHELLS.has(name) && name !== 'eval') return `${name} runs code it is given`;
  if (VERSIONED_INTERPRETER.test(name)) return `${name} runs code it is given`;
  switch (name) {
    case 'git':
      // -c/--config-env set aliases (`!cmd`), pagers, editors, ssh commands, hooks paths, filters, fsmonitor.
      if (
        has(
          (v) =>
            v === '-c' ||
            v.startsWith('--config-env') ||
            v.startsWith('--exec-path') ||
            v === '--upload-pack' ||
            v.startsWith('--upload-pack=') ||
            v.startsWith('--receive-pack'),
        )
      )
        return 'git -c/--config-env can define a command (alias !cmd, core.pager, core.sshCommand)';
      return undefined;
    case 'sed': {
      const scripts: string[] = [];
      for (let i = 0; i < vals.length; i++) {
        const v = vals[i];
        if (v === '-e' || v === '--expression') scripts.push(vals[i + 1] ?? '');
        else if (v?.startsWith('--expression=')) scripts.push(v.slice(13));
        else if (v === '-f' || v?.startsWith('--file')) return 'sed -f runs a script file';
      }
      if (scripts.length === 0) {
        const first = vals.find((v) => v === null || !v.startsWith('-'));
        scripts.push(first ?? '');
      }
      if (scripts.some((x) => x === null || SED_EXEC.test(x))) return "sed's e command runs a shell command";
      return undefined;
    }
    case 'tar':
    case 'bsdtar':
      if (
        has(
          (v) =>
            /^--(checkpoint-action|to-command|use-compress-program|info-script|new-volume-script|rsh-command|rmt-command)/.test(
              v,
            ) ||
            v === '-I' ||
            v === '-F',
        )
      )
        return 'tar runs a command from its options';
      return undefined;
    case 'rsync':
      if (has((v) => v === '-e' || v.startsWith('--rsh') || v.startsWith('--rsync-path')))
        return 'rsync -e runs a command';
      return undefined;
    case 'scp':
    case 'sftp':
      // -S names the ssh program; -o and -F set ssh options such as ProxyCommand and LocalCommand.
      if (has((v) => /^-[A-Za-z0-9]*[SoF]/.test(v))) return `${name} -S/-o/-F can run a command`;
      return undefined;
    case 'zip':
      if (has((v) => v === '-TT' || v.startsWith('--unzip-command'))) return 'zip -TT runs a command';
      return undefined;
    case 'env':
      if (has((v) => v === '-S' || v.startsWith('--split-string') || /^-[a-zA-Z]*S/.test(v)))
        return 'env -S runs a command line it splits';
      return undefined;
    case 'flock':
    case 'su':
    case 'runuser':
      if (has((v) => v === '-c' || v.startsWith('--command'))) return `${name} -c runs a command line`;
      return undefined;
    case 'sudo':
      if (has((v) => v === '-s' || v === '-i' || v === '--shell' || v === '--login')) return 'sudo -s runs a shell';
      return undefined;
    default:
      return undefined;
  }
}

/** ANSI-C quoting (`$'\x72\x6d'`): decode escapes so the word is what bash would pass. */
function decodeAnsiC(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      e: '\x1b',
      E: '\x1b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      "'": "'",
      '"': '"',
      '?': '?',
    };
    if (n in simple) out += simple[n];
    else if (n === 'x' || n === 'u' || n === 'U') {
      const max = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      let hex = '';
      while (hex.length < max && /[0-9a-fA-F]/.test(s[i + 1] ?? '')) hex += s[++i];
      out += hex ? String.fromCodePoint(Number.parseInt(hex, 16)) : `\\${n}`;
    } else if (n >= '0' && n <= '7') {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(s[i + 1] ?? '')) oct += s[++i];
      out += String.fromCharCode(Number.parseInt(oct, 8) & 0xff);
    } else if (n === 'c' && i + 1 < s.length) {
      out += String.fromCharCode(s[++i]!.charCodeAt(0) & 0x1f);
    } else out += `\\${n}`;
  }
  return out;
}

/** Backslash removal outside quotes: `\x` is `x`, a backslash-newline disappears. */
function unescapeUnquoted(s: string): string {
  return s.replace(/\\(\n|.)/gs, (_m, c: string) => (c === '\n' ? '' : c));
}

/** Inside double quotes a backslash escapes only `$`, `` ` ``, `"`, `\` and newline. */
function unescapeDouble(s: string): string {
  return s.replace(/\\([$`"\\\n])/g, (_m, c: string) => (c === '\n' ? '' : c));
}

function containsDownloader(n: ShNode): boolean {
  let found = false;
  walk(n, (x) => {
    if (found) return false;
    if (nodeType(x) === 'CallExpr') {
      const first = list(x.Args)[0];
      const w = first ? wordOf(first) : undefined;
      if (w?.value && DOWNLOADERS.has(posix.basename(w.value))) found = true;
    }
    return true;
  });
  return found;
}

function wordOf(w: ShNode): Word {
  let value: string | null = '';
  let prefix = '';
  let downloads = false;
  let expands = false;
  const add = (text: string | null) => {
    if (text === null) {
      if (value !== null) prefix = value;
      value = null;
    } else if (value !== null) value += text;
  };
  const part = (p: ShNode, quoted: boolean) => {
    const t = nodeType(p);
    if (t === 'Lit') {
      const raw = goString(p.Value);
      if (!quoted && (/(^|[^\\])[*?[]/.test(raw) || /(^|[^\\])\{[^}]*(,|\.\.)[^}]*\}/.test(raw))) expands = true;
      add(quoted ? unescapeDouble(raw) : unescapeUnquoted(raw));
    } else if (t === 'SglQuoted') add(p.Dollar ? decodeAnsiC(goString(p.Value)) : goString(p.Value));
    else if (t === 'DblQuoted') for (const q of list(p.Parts)) part(q, true);
    else {
      if ((t === 'CmdSubst' || t === 'ProcSubst') && containsDownloader(p)) downloads = true;
      add(null);
    }
  };
  for (const p of list(w.Parts)) part(p, false);
  return { value, prefix: value ?? prefix, downloads, ...(expands ? { expands } : {}) };
}

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
    if (depth === 0) sharedParser ??= sh().NewParser();
    const parser = depth === 0 && sharedParser ? sharedParser : sh().NewParser();
    file = parser.Parse(src, 'command').__internal_object__;
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

// --- flags and operands --------------------------------------------------------------------------------------

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

export interface CommandVerdict {
  ok: boolean;
  reasons: Reason[];
}

function deny(code: string, message: string, evidence: string, ruleId?: string): Reason {
  return { code: `args.command.${code}`, message, evidence: evidence.slice(0, 200), ...(ruleId ? { ruleId } : {}) };
}

function show(c: SimpleCommand): string {
  return [c.program ?? '$?', ...c.args.map((a) => a.value ?? `${a.prefix}$?`)].join(' ');
}

/** The built-in dangerous-command rules. */
export function builtinFindings(a: CommandAnalysis): Reason[] {
  const out: Reason[] = [];
  for (const c of a.commands) {
    const ev = show(c);
    for (const w of c.wrappers) {
      if (PRIVILEGE.has(w))
        out.push(deny('privilege', `${w} runs a command with raised privileges`, ev, 'builtin.privilege'));
    }
    if (c.name === null) {
      out.push(deny('dynamic_program', 'the program to run is only known at run time', ev, 'builtin.dynamic_program'));
      continue;
    }
    const name = c.name;
    if (PRIVILEGE.has(name)) out.push(deny('privilege', `${name} raises privileges`, ev, 'builtin.privilege'));
    if (name === 'eval') out.push(deny('eval', 'eval runs text as code', ev, 'builtin.eval'));
    if (INTERPRETERS.has(name) && (c.stdinDownloads || c.args.some((x) => x.downloads))) {
      out.push(deny('download_exec', 'runs code fetched from the network', ev, 'builtin.download_exec'));
    }
    if (name === 'dd' && c.args.some((x) => x.value?.startsWith('of=/dev/'))) {
      out.push(deny('disk_write', 'dd writes to a device', ev, 'builtin.disk_write'));
    }
    if (name.startsWith('mkfs') || name === 'wipefs' || name === 'mke2fs' || name === 'mkswap')
      out.push(deny('disk_write', `${name} destroys a file system`, ev, 'builtin.disk_write'));
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
          out.push(deny('download_exec', 'pipes a download into an interpreter', show(c), 'builtin.download_exec'));
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
      out.push(deny('download_exec', 'runs a file it just downloaded', show(c), 'builtin.download_exec'));
    }
  }
  return out;
}

// --- user patterns (`rm -rf /`, `curl * | sh`) -----------------------------------------------------------------

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

function stageMatches(sp: StagePattern, c: SimpleCommand, conservative: boolean): boolean {
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

const analysisCache = new Map<string, CommandAnalysis>();
const CACHE_ENTRIES = 512;
const CACHE_MAX_LENGTH = 4096;

/** Parsing dominates the cost of a check and agents repeat commands: keep recent analyses (pure functions of the text). */
function cachedAnalysis(src: string): CommandAnalysis {
  const hit = analysisCache.get(src);
  if (hit) return hit;
  const a = analyzeCommand(src);
  if (src.length <= CACHE_MAX_LENGTH) {
    if (analysisCache.size >= CACHE_ENTRIES) analysisCache.delete(analysisCache.keys().next().value!);
    analysisCache.set(src, a);
  }
  return a;
}

/** Checks a command against the built-in rules and a rule's allow/deny patterns. */
export function checkCommand(
  src: string,
  opts: {
    builtin: boolean;
    allow?: readonly CommandPattern[];
    deny?: readonly CommandPattern[];
    arg: string;
    /** The path rules every file the command writes to must pass (as a path argument would). */
    paths?: PathRule;
  },
): CommandVerdict {
  const a = cachedAnalysis(src);
  if (!a.ok) {
    return {
      ok: false,
      reasons: [deny('unparseable', `${opts.arg} does not parse as a shell command: ${a.error}`, src)],
    };
  }
  const reasons: Reason[] = opts.builtin ? builtinFindings(a) : [];
  if (opts.paths) reasons.push(...writeFindings(a, opts.paths, opts.arg));
  for (const p of opts.deny ?? []) {
    if (patternMatches(p, a, true))
      reasons.push(deny('denied', `${opts.arg} matches the denied pattern "${p.source}"`, src, p.source));
  }
  if (opts.allow && opts.allow.length > 0) {
    for (const c of a.commands) {
      const allowed = opts.allow.some((p) => p.stages.length === 1 && stageMatches(p.stages[0]!, c, false));
      if (!allowed) reasons.push(deny('not_allowed', `${show(c)} is not in the allowed commands`, show(c)));
    }
  }
  return { ok: reasons.length === 0, reasons };
}
