import { AsyncLocalStorage } from 'node:async_hooks';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Effect } from '../core/decision.js';
import { ConfigError, GatehouseError, InputError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';

/** Exit codes of the CLI contract (DESIGN.md section 4). */
export const EXIT = { ok: 0, runtime: 1, usage: 2, denied: 3, review: 4 } as const;

/** What a CLI run reads and writes; anything left out is the real process's. */
export interface CliIo {
  /** All of stdin; given means stdin is not a terminal. */
  stdin?: string | Buffer;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Variables set (or, when undefined, removed) for the run on top of process.env. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Whether stdout is a terminal (human output); defaults to process.stdout.isTTY, or false when stdout is given. */
  isTTY?: boolean;
}

export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: string | Buffer | undefined;
  isTTY: boolean;
  /** Output captured rather than the process's: modules that write to process.stdout are routed here. */
  captured: boolean;
  exitCode: number;
}

const context = new AsyncLocalStorage<CliContext>();

function processContext(): CliContext {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: undefined,
    isTTY: process.stdout.isTTY === true,
    captured: false,
    exitCode: EXIT.ok,
  };
}

/** The context of the running command (the process's own streams outside runCli). */
export function cli(): CliContext {
  return context.getStore() ?? processContext();
}

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or TERM is dumb. */
export function useColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return cli().isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}

let routed = false;
/**
 * Command modules write with process.stdout.write; inside a captured run those writes go to the run's writers.
 * Installed once, on the first captured run; outside one it passes through unchanged.
 */
function routeProcessStreams(): void {
  if (routed) return;
  routed = true;
  for (const [stream, pick] of [
    [process.stdout, (c: CliContext) => c.stdout],
    [process.stderr, (c: CliContext) => c.stderr],
  ] as const) {
    const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const ctx = context.getStore();
      if (!ctx?.captured) return original(chunk, ...rest);
      pick(ctx)(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (cb) queueMicrotask(cb);
      return true;
    }) as typeof stream.write;
  }
}

// cwd and env are process-wide, so runs that replace them take turns.
let turn: Promise<unknown> = Promise.resolve();

/** Runs `fn` with `io` as the CLI's stdin, stdout, stderr, env and cwd; restores cwd and env afterwards. */
export async function runWithIo<T>(io: CliIo, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const captured = io.stdout !== undefined || io.stderr !== undefined;
  const ctx: CliContext = {
    ...processContext(),
    ...(io.stdout ? { stdout: io.stdout } : {}),
    ...(io.stderr ? { stderr: io.stderr } : {}),
    stdin: io.stdin,
    isTTY: io.isTTY ?? (captured ? false : process.stdout.isTTY === true),
    captured,
  };
  if (!captured && io.cwd === undefined && io.env === undefined) return context.run(ctx, () => fn(ctx));
  if (captured) routeProcessStreams();
  const run = turn.then(async () => {
    const cwd = process.cwd();
    const saved = Object.entries(io.env ?? {}).map(([k]) => [k, process.env[k]] as const);
    const set = (k: string, v: string | undefined) => {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    };
    try {
      for (const [k, v] of Object.entries(io.env ?? {})) set(k, v);
      if (io.cwd !== undefined) process.chdir(io.cwd);
      return await context.run(ctx, () => fn(ctx));
    } finally {
      process.chdir(cwd);
      for (const [k, v] of saved) set(k, v);
    }
  });
  turn = run.catch(() => undefined);
  return run;
}

export interface GlobalOptions {
  config: string;
  data: string;
  debug: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { config?: string; data?: string; debug?: boolean };
  return { config: o.config ?? 'gatehouse.yaml', data: o.data ?? '.gatehouse', debug: o.debug === true };
}

/** Opens Gatehouse with the global options, runs `fn`, and always closes it. */
export async function withGatehouse<T>(
  cmd: Command,
  fn: (gh: Gatehouse) => Promise<T>,
  opts: { recordPolicyLoad?: boolean } = {},
): Promise<T> {
  const g = globalOptions(cmd);
  // Loaded on first use: `--help` and commands that need no pipeline start without it.
  const { Gatehouse } = await import('../gatehouse.js');
  const gh = await Gatehouse.open({ config: g.config, data: g.data, ...opts });
  try {
    return await fn(gh);
  } finally {
    await gh.close();
  }
}

export function exitCodeFor(effect: Effect): number {
  return effect === 'allow' ? EXIT.ok : effect === 'deny' ? EXIT.denied : EXIT.review;
}

/** The exit code an error maps to: invalid input or config is 2, anything else 1. */
export function exitCodeForError(err: unknown): number {
  if (err instanceof ConfigError || err instanceof InputError) return EXIT.usage;
  if (err instanceof GatehouseError && err.code.startsWith('input.')) return EXIT.usage;
  return EXIT.runtime;
}

/** Prints one clear line on stderr (a stack only with --debug) and sets the exit code. */
export function reportError(err: unknown, debug: boolean): number {
  const code = exitCodeForError(err);
  const msg = err instanceof Error ? err.message : String(err);
  const { stderr } = cli();
  stderr(`gatehouse: ${msg}\n`);
  if (debug && err instanceof Error && err.stack) stderr(`${err.stack}\n`);
  return code;
}

export function printJson(value: unknown): void {
  cli().stdout(`${JSON.stringify(value)}\n`);
}

/** Whether stdin is a terminal (nothing piped in). */
export function stdinIsTTY(): boolean {
  const { stdin } = cli();
  return stdin === undefined && process.stdin.isTTY === true;
}

/** All of stdin as bytes; empty on a terminal. */
export async function readStdinBytes(): Promise<Buffer> {
  const { stdin } = cli();
  if (stdin !== undefined) return typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin;
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

export async function readStdin(): Promise<string> {
  return (await readStdinBytes()).toString('utf8');
}

async function* stdinLines(): AsyncGenerator<string> {
  const { stdin } = cli();
  if (stdin !== undefined) {
    yield* (typeof stdin === 'string' ? stdin : stdin.toString('utf8')).split(/\r?\n/);
    return;
  }
  yield* createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
}

/** Parses JSON from a named source; the error says where it broke. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(what, `invalid JSON: ${(err as Error).message}`);
  }
}

/**
 * Batch mode: one JSON object per line on stdin, one result per line on stdout, in order. A malformed line
 * gets `{id, error}` and the rest go on; the run exits 0 unless the run itself failed.
 */
export async function runJsonl(
  handle: (obj: Record<string, unknown>, lineNo: number) => Promise<Record<string, unknown>>,
): Promise<void> {
  let lineNo = 0;
  for await (const line of stdinLines()) {
    lineNo += 1;
    if (line.trim() === '') continue;
    let obj: unknown;
    let id: unknown = null;
    try {
      obj = JSON.parse(line);
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
        throw new InputError(`line ${lineNo}`, 'expected a JSON object');
      id = (obj as Record<string, unknown>).id ?? null;
      printJson({ id, ...(await handle(obj as Record<string, unknown>, lineNo)) });
    } catch (err) {
      const msg = err instanceof SyntaxError ? `line ${lineNo}: invalid JSON: ${err.message}` : (err as Error).message;
      printJson({ id, error: msg });
    }
  }
}

/** Wraps a command action: errors become one line on stderr and the contract's exit code. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = cli();
    try {
      ctx.exitCode = (await fn(...args)) ?? EXIT.ok;
    } catch (err) {
      ctx.exitCode = reportError(err, globalOptions(cmd).debug);
    }
  };
}
