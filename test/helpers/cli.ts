import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  input?: string;
  env?: Record<string, string | undefined>;
  /** Run as if stdout were a terminal (human output), in process only. */
  isTTY?: boolean;
}

/** Runs the CLI in this process (src, through runCli) in `cwd` with `input` on stdin. */
export async function gatehouse(args: string[], opts: CliOptions): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    cwd: opts.cwd,
    stdin: opts.input ?? '',
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.isTTY !== undefined ? { isTTY: opts.isTTY } : {}),
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

/** Runs the built CLI (`npm test` builds first) as a real process: for what depends on one (exit, signals, stdio). */
export function gatehouseProcess(args: string[], opts: CliOptions): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    input: opts.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
