import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { type CliIo, EXIT, runWithIo } from './common.js';

export type { CliIo } from './common.js';

type Register = (program: Command) => void;

// response.ts registers both `response` and `monitor`.
const loadResponse = async (): Promise<Register> => (await import('./response.js')).registerResponse;

/**
 * The command table. `--help` lists these summaries without importing any command module; a command's module
 * is imported only when that command runs. test/e2e/cli.test.ts checks each summary against its module.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Register> }> = {
  init: {
    summary: 'write a commented gatehouse.yaml and create the data dir, master key, CA, signing and audit keys',
    load: async () => (await import('./init.js')).registerInit,
  },
  serve: {
    summary: 'run the HTTP(S) gateway (initialises gatehouse.yaml and the data dir on first run)',
    load: async () => (await import('./serve.js')).registerServe,
  },
  decide: {
    summary: 'read an Action (JSON) on stdin and print the Decision; exit 0 allow, 3 deny, 4 review',
    load: async () => (await import('./decide.js')).registerDecide,
  },
  policy: {
    summary: 'policy work: validate, explain, test, replay',
    load: async () => (await import('./policy.js')).registerPolicy,
  },
  approvals: {
    summary: 'the human gate: list, show, approve and deny approval requests',
    load: async () => (await import('./approvals.js')).registerApprovals,
  },
  grants: {
    summary: 'runtime grants: temporary capabilities, delegation, revocation',
    load: async () => (await import('./grants.js')).registerGrants,
  },
  audit: {
    summary: 'the tamper-evident audit log',
    load: async () => (await import('./audit.js')).registerAudit,
  },
  agents: {
    summary: 'agent registry: register, list, show, roles, suspend, resume, revoke, quarantine, rotate, cert, crl',
    load: async () => (await import('./agents.js')).registerAgents,
  },
  token: {
    summary: 'access tokens: issue, verify, refresh, revoke',
    load: async () => (await import('./token.js')).registerToken,
  },
  operators: {
    summary: 'humans who administer Gatehouse over HTTP and the dashboard',
    load: async () => (await import('./operators.js')).registerOperators,
  },
  redact: {
    summary: 'filter secrets, PII and exfiltration from stdin text; plain mode prints the redacted text',
    load: async () => (await import('./redact.js')).registerRedact,
  },
  scan: {
    summary: 'screen stdin text for prompt injection (exit 3 when blocked, 4 when it needs review)',
    load: async () => (await import('./scan.js')).registerScan,
  },
  secrets: {
    summary: 'the credential vault: agents use {{secret:NAME}} handles, never values',
    load: async () => (await import('./secrets.js')).registerSecrets,
  },
  response: { summary: 'incident response: quarantine and restore agents', load: loadResponse },
  monitor: {
    summary: 'per-agent behavioural baselines (mean and spread per observation window)',
    load: loadResponse,
  },
  exec: {
    summary:
      "run CMD in the sandbox; exit code is CMD's (128+signal if killed); refuses with exit 1 when the sandbox cannot be guaranteed",
    load: async () => (await import('./exec.js')).registerExec,
  },
  mcp: {
    summary: 'MCP proxy: put Gatehouse between an MCP client and MCP servers (stdio, or streamable HTTP with --http)',
    load: async () => (await import('./mcp.js')).registerMcp,
  },
  completion: {
    summary: 'print a shell completion script: gatehouse completion bash|zsh|fish',
    load: async () => (await import('./completion.js')).registerCompletion,
  },
};

/** Global options that take a value: the command name is the first operand after them. */
const VALUE_OPTIONS = new Set(['--config', '--data']);

/** The command `argv` names (`help X` names X), or undefined for none or an unknown one. */
export function commandNamed(argv: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < argv.length && operands.length < 2; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) operands.push(a);
  }
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Builds the program: every command as a summary stub, except `only`, which is loaded and registered for real. */
export async function buildProgram(only: string | 'all' | undefined, io: Required<Pick<CliIo, 'stdout' | 'stderr'>>) {
  const program = new Command('gatehouse')
    .description('Gatehouse: authenticate, screen, authorize, gate, sandbox, filter and audit what AI agents do')
    .version(version(), '-V, --version', 'print the version')
    .option('--config <file>', 'configuration file', 'gatehouse.yaml')
    .option('--data <dir>', 'data directory (store, keys, audit log)', '.gatehouse')
    .option('--debug', 'print stack traces with errors')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run gatehouse --help for usage)');
  const loaders = new Set(
    Object.entries(COMMANDS)
      .filter(([name]) => only === 'all' || only === name)
      .map(([, e]) => e.load),
  );
  for (const load of loaders) (await load())(program);
  const registered = new Set(program.commands.map((c) => c.name()));
  for (const [name, entry] of Object.entries(COMMANDS))
    if (!registered.has(name)) program.command(name).description(entry.summary);
  // Subcommands inherit the root's output and error handling, so usage errors never exit the process.
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code of the contract (DESIGN.md
 * section 4). It never calls process.exit, so tests run it in-process; `io` replaces stdin, stdout, stderr, env
 * and cwd for the run.
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  return runWithIo(io, async (ctx) => {
    try {
      const program = await buildProgram(commandNamed(argv), ctx);
      await program.parseAsync([...argv], { from: 'user' });
      return ctx.exitCode;
    } catch (err) {
      if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      ctx.stderr(`gatehouse: ${(err as Error).message}\n`);
      return EXIT.runtime;
    }
  });
}
