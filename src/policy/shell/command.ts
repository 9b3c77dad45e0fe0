import type { Reason } from '../../core/decision.js';

/** The data model of an analysed command: words, simple commands, the analysis, and findings about them. */

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

/** A command as the user reads it, dynamic words shown as `$?`. */
export function show(c: SimpleCommand): string {
  return [c.program ?? '$?', ...c.args.map((a) => a.value ?? `${a.prefix}$?`)].join(' ');
}

/** A finding of the command rules: `args.command.<code>`, evidence cut to 200 characters. */
export function reason(code: string, message: string, evidence: string, ruleId?: string): Reason {
  return { code: `args.command.${code}`, message, evidence: evidence.slice(0, 200), ...(ruleId ? { ruleId } : {}) };
}
