import RE2 from 're2';
import type { Word } from './command.js';

/**
 * What the rules know about programs by name: shells, interpreters, downloaders, runners, wrappers, privilege
 * raisers, environment variables that run code, and the options that make a program run a command it is given.
 */

export const SHELLS = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'fish',
  'csh',
  'tcsh',
  'yash',
  'busybox',
]);
export const INTERPRETERS = new Set([
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
export const DOWNLOADERS = new Set([
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
export const CODE_ENV = new Set([
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

export const PRIVILEGE = new Set(['sudo', 'su', 'doas', 'pkexec', 'runuser', 'setpriv', 'sudoedit']);

/** Wrapper programs and how many leading option-like words (plus option arguments) they take before the command. */
export const WRAPPERS: Record<string, { optsWithArg?: Set<string>; fixedArgs?: number; assigns?: boolean }> = {
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
export function isInterpreter(name: string): boolean {
  return INTERPRETERS.has(name) || VERSIONED_INTERPRETER.test(name) || RUNNERS.has(name);
}

/**
 * What a known program runs besides itself, when the rules cannot see it: the reason, or undefined. Arguments and
 * options that make an otherwise harmless program a command runner (the class, not one spelling per program).
 */
export function runsHidden(name: string, args: Word[]): string | undefined {
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
