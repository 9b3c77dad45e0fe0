import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { SandboxRunError } from '../sandbox/errors.js';
import type { SandboxResult } from '../sandbox/runner.js';
import { action, printJson, readStdinBytes, stdinIsTTY, withGatehouse } from './common.js';

const USAGE_CODES = new Set([
  'sandbox.unknown_profile',
  'sandbox.workspace_missing',
  'sandbox.workspace_forbidden',
  'sandbox.bad_command',
  'sandbox.bad_env',
]);

/** `gatehouse exec [--profile NAME] [--workspace DIR] [--json] -- CMD ARGS…` (DESIGN.md section 4). */
export function registerExec(program: Command): void {
  program
    .command('exec')
    .description(
      "run CMD in the sandbox; exit code is CMD's (128+signal if killed); refuses with exit 1 when the sandbox cannot be guaranteed",
    )
    .option('--profile <name>', 'sandbox profile from sandbox.profiles', 'default')
    .option('--workspace <dir>', 'directory mounted at /workspace (default: the current directory)')
    .option('--json', 'print {exitCode, signal, timedOut, oomKilled, cpuMs, wallMs, maxRssBytes, stdout, stderr}')
    .argument('<cmd...>', 'command and arguments (after --)')
    .action(
      action(async (argv: string[], opts: { profile: string; workspace?: string; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const stdin = stdinIsTTY() ? undefined : await readStdinBytes();
          let r: SandboxResult;
          try {
            r = await gh.sandbox.run(argv, {
              profile: opts.profile,
              workspace: opts.workspace ?? process.cwd(),
              ...(stdin !== undefined ? { stdin } : {}),
              ...(opts.json
                ? {}
                : {
                    onStdout: (d: Buffer) => process.stdout.write(d),
                    onStderr: (d: Buffer) => process.stderr.write(d),
                  }),
            });
          } catch (err) {
            if (err instanceof SandboxRunError && USAGE_CODES.has(err.code)) throw new InputError('exec', err.message);
            throw err;
          }
          if (opts.json) {
            printJson({
              exitCode: r.exitCode,
              signal: r.signal,
              timedOut: r.timedOut,
              oomKilled: r.oomKilled,
              cpuMs: r.cpuMs,
              wallMs: r.wallMs,
              maxRssBytes: r.maxRssBytes,
              stdout: r.stdout,
              stderr: r.stderr,
              cpuExceeded: r.cpuExceeded,
              stdoutTruncated: r.stdoutTruncated,
              stderrTruncated: r.stderrTruncated,
              sandbox: r.id,
              profile: r.profile,
            });
          }
          return r.exitCode;
        }),
      ),
    );
}
