import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Effect } from '../core/decision.js';
import { ConfigError, GatehouseError, InputError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';

/** Exit codes of the CLI contract (DESIGN.md section 4). */
export const EXIT = { ok: 0, runtime: 1, usage: 2, denied: 3, review: 4 } as const;

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
  process.stderr.write(`gatehouse: ${msg}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return code;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
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
  const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  for await (const line of rl) {
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
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.ok;
    } catch (err) {
      process.exitCode = reportError(err, globalOptions(cmd).debug);
    }
  };
}
