import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { addToCatalogue, readConfigText, replaceFile } from '../config/edit.js';
import type { McpUpstreamConfig } from '../config/sections/mcp.js';
import { InputError } from '../core/errors.js';
import { Gatehouse } from '../gatehouse.js';
import { McpHttpProxy } from '../mcp/http.js';
import { resolveProxyIdentity } from '../mcp/identity.js';
import { type InitTool, inspectServers } from '../mcp/init.js';
import { ToolPins } from '../mcp/pinning.js';
import { McpProxy } from '../mcp/proxy.js';
import { LineTransport } from '../mcp/transport.js';
import { action, EXIT, globalOptions, printJson, withGatehouse } from './common.js';
import { printList, when } from './output.js';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION = /^[A-Za-z0-9_.:@/-]{1,256}$/;
const ROLE = /^[A-Za-z0-9_.:@/-]{1,128}$/;

/** A stable server name from the command when --name is not given (pins are kept per name). */
export function defaultServerName(command: string, args: readonly string[]): string {
  const launchers = /^(node|npx|bunx|bun|deno|uvx|uv|python3?|pipx|docker|pnpm|yarn)$/;
  const cmd = basename(command).replace(/\.(exe|cmd)$/i, '');
  const target = launchers.test(cmd) ? (args.find((a) => !a.startsWith('-') && a !== 'run') ?? cmd) : cmd;
  const base = basename(target)
    .replace(/\.(m?js|ts|py)$/, '')
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return (base === 'index' || base === 'main' ? basename(dirname(dirname(target))) : base).slice(0, 64) || 'server';
}

function stderr(line: string): void {
  process.stderr.write(`gatehouse mcp: ${line}\n`);
}

export function registerMcp(program: Command): void {
  const mcp = program
    .command('mcp')
    .description(
      'MCP proxy: put Gatehouse between an MCP client and MCP servers (stdio, or streamable HTTP with --http)',
    )
    .argument(
      '[command...]',
      'the MCP server to start (after --); without it, the servers of mcp.servers in the config',
    )
    .option('--name <name>', 'name of the server given after -- (its tools are <name>.<tool> in the policy)')
    .option('--agent <agent>', 'the agent the proxy acts for (default mcp.agent; a token in GATEHOUSE_TOKEN names it)')
    .option('--server <names...>', 'only these servers of mcp.servers')
    .option('--session <id>', 'MCP/Gatehouse session id (default: a new random id)')
    .option('--http', 'serve streamable HTTP (mcp.http.host/port/path) instead of stdio; clients present agent tokens')
    .option('--host <host>', 'HTTP host (with --http)')
    .option('--port <port>', 'HTTP port (with --http)')
    .action(
      action(
        async (
          command: string[],
          opts: {
            name?: string;
            agent?: string;
            server?: string[];
            session?: string;
            http?: boolean;
            host?: string;
            port?: string;
          },
          cmd: Command,
        ) => {
          const g = globalOptions(cmd);
          const gh = await Gatehouse.open({ config: g.config, data: g.data });
          try {
            if (opts.session !== undefined && !SESSION.test(opts.session)) {
              throw new InputError('--session', 'a session id is 1-256 letters, digits and _ . : @ / -');
            }
            const servers = selectServers(gh.config.mcp.servers, command, opts);
            if (opts.http) return await serveHttp(gh, servers, opts);
            return await serveStdio(gh, servers, opts, dirname(resolve(g.config)));
          } finally {
            await gh.close();
          }
        },
      ),
    );

  mcp
    .command('init')
    .description(
      "start MCP servers, list their tools and propose catalogue entries from the tools' own annotations (--write adds them and pins the definitions)",
    )
    .argument('[command...]', 'the MCP server to start (after --); without it, the servers of mcp.servers')
    .option('--name <name>', 'name of the server given after -- (its tools are <name>.<tool>)')
    .option('--server <names...>', 'only these servers of mcp.servers')
    .option('--agent <agent>', 'the agent whose listing decisions are explained (default mcp.agent)')
    .option('--write', 'add the proposed entries to the config file and pin the definitions listed now')
    .option('--role <role>', 'with --write: grant exactly the proposed tools to this role (created if missing)')
    .option('--json', 'print {agent, tools: [...], written, pinned} as JSON')
    .action(
      action(async (command: string[], own: InitOptions, cmd: Command) => {
        // `mcp` itself takes --name, --server and --agent, so commander may hand them to the parent: merge both.
        const opts = { ...cmd.optsWithGlobals<InitOptions>(), ...own };
        if (opts.role !== undefined && !opts.write) throw new InputError('--role', 'grants only with --write');
        if (opts.role !== undefined && !ROLE.test(opts.role)) {
          throw new InputError('--role', 'role names use 1-128 letters, digits and _ . : @ / -');
        }
        const g = globalOptions(cmd);
        const gh = await Gatehouse.open({ config: g.config, data: g.data });
        try {
          const servers = selectServers(gh.config.mcp.servers, command, opts);
          const agent = opts.agent ?? gh.config.mcp.agent ?? 'mcp-init';
          const report = await inspectServers(gh, servers, agent, stderr);
          const proposed = report.tools.filter((t) => t.status === 'proposed');
          let written: string[] = [];
          let pinned = 0;
          if (opts.write) {
            const edit = addToCatalogue(
              readConfigText(g.config),
              {
                tools: proposed.map((t) => ({
                  name: t.name,
                  entry: t.suggestion!.entry,
                  comment: t.suggestion!.basis,
                })),
                ...(opts.role ? { grant: { role: opts.role, tools: proposed.map((t) => t.name) } } : {}),
              },
              g.config,
            );
            replaceFile(g.config, edit.text);
            written = edit.added;
            pinned = await pinListed(gh, report.tools);
          }
          if (opts.json) {
            printJson({
              agent: report.agent,
              tools: report.tools.map(({ definition: _d, suggestion, ...t }) => ({
                ...t,
                ...(suggestion ? { entry: suggestion.entry, basis: suggestion.basis } : {}),
              })),
              written,
              pinned,
            });
          } else
            process.stdout.write(renderInit(report.tools, { write: !!opts.write, written, pinned, role: opts.role }));
          return EXIT.ok;
        } finally {
          await gh.close();
        }
      }),
    );

  const pins = mcp.command('pins').description('tool-definition pins: list, accept a changed definition, reset');
  pins
    .command('list')
    .description('pinned tool definitions and the changes seen since')
    .option('--server <name>', 'only this server')
    .option('--json', 'print {pins: [...]} as JSON')
    .action(
      action(async (opts: { server?: string; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const list = await (await ToolPins.open(gh.store, gh.audit, gh.clock)).list(opts.server);
          printList(
            opts,
            { pins: list },
            {
              header: ['TOOL', 'PINNED HASH', 'PINNED', 'BY', 'PENDING CHANGES'],
              rows: list.map((p) => [
                `${p.server}.${p.tool}`,
                p.hash.slice(0, 16),
                when(p.pinnedAt),
                p.pinnedBy,
                p.changes
                  .filter((c) => c.status === 'pending')
                  .map((c) => c.hash.slice(0, 16))
                  .join(', ') || '-',
              ]),
              empty: 'no pinned tools',
            },
          );
          return EXIT.ok;
        }),
      ),
    );
  pins
    .command('accept <server> <tool>')
    .description('accept the changed definition of a tool as its new pin')
    .option('--hash <sha256>', 'the changed definition to accept (default: the newest)')
    .action(
      action(async (server: string, tool: string, opts: { hash?: string }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const pins = await ToolPins.open(gh.store, gh.audit, gh.clock);
          const hash = await pins.accept(server, tool, 'host', opts.hash);
          process.stdout.write(`${server}.${tool} is now pinned to ${hash}\n`);
          return EXIT.ok;
        }),
      ),
    );
  pins
    .command('reset <server> [tool]')
    .description('forget the pins of a server (or one tool): the next definitions seen are pinned afresh')
    .action(
      action(async (server: string, tool: string | undefined, _opts: unknown, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const n = await (await ToolPins.open(gh.store, gh.audit, gh.clock)).reset(server, tool, 'host');
          process.stdout.write(`removed ${n} pin(s)\n`);
          return EXIT.ok;
        }),
      ),
    );
}

interface InitOptions {
  name?: string;
  server?: string[];
  agent?: string;
  write?: boolean;
  role?: string;
  json?: boolean;
}

/** Pins every definition that is in the catalogue now and has no pin yet: pinning starts when the operator accepts. */
async function pinListed(gh: Gatehouse, tools: readonly InitTool[]): Promise<number> {
  const pins = await ToolPins.open(gh.store, gh.audit, gh.clock);
  let n = 0;
  for (const t of tools) {
    if (t.status === 'refused' || t.pin !== 'none') continue;
    const by = { pinnedBy: 'mcp-init', actor: 'host' };
    if (await pins.pinFirstSight(t.server, t.definition, { session: 'mcp-init' }, by)) n++;
  }
  return n;
}

function renderInit(
  tools: readonly InitTool[],
  o: { write: boolean; written: readonly string[]; pinned: number; role: string | undefined },
): string {
  const out: string[] = [];
  const proposed = tools.filter((t) => t.status === 'proposed');
  const count = (s: InitTool['status']) => tools.filter((t) => t.status === s).length;
  out.push(
    `${tools.length} tool(s): ${count('proposed')} proposed, ${count('catalogued')} already in the catalogue, ${count('refused')} refused`,
  );
  if (proposed.length > 0) {
    out.push('', 'tools:');
    for (const t of proposed) {
      for (const b of t.suggestion!.basis) out.push(`  # ${b}`);
      out.push(
        ...stringify({ [t.name]: t.suggestion!.entry }, { lineWidth: 0 })
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`),
      );
    }
  }
  for (const t of tools) {
    for (const f of t.findings)
      out.push(`${t.status === 'refused' ? 'REFUSED' : 'NOTE'} ${t.name}: ${f.code}: ${f.message}`);
    if (t.pin === 'changed')
      out.push(`PIN ${t.name}: the definition differs from its pin; see gatehouse mcp pins list`);
  }
  out.push('');
  if (o.write) {
    out.push(
      `added ${o.written.length} entr${o.written.length === 1 ? 'y' : 'ies'} to the catalogue; pinned ${o.pinned} definition(s)`,
    );
    if (o.role)
      out.push(`granted them to role ${o.role}; give an agent the role under identity.agents to let it see them`);
  } else if (proposed.length > 0) {
    out.push("review the entries (annotations are the server's own claims), then run again with --write [--role ROLE]");
  }
  return `${out.join('\n')}\n`;
}

function selectServers(
  configured: Record<string, McpUpstreamConfig>,
  command: string[],
  opts: { name?: string; server?: string[] },
): Record<string, McpUpstreamConfig> {
  if (command.length > 0) {
    const name = opts.name ?? defaultServerName(command[0]!, command.slice(1));
    if (!NAME.test(name)) throw new InputError('--name', 'server names use 1-64 letters, digits, _ and -');
    return { [name]: { command: command[0]!, args: command.slice(1), env: {}, headers: {} } };
  }
  if (opts.name) throw new InputError('--name', 'names the server given after --; give a command');
  const names = opts.server ?? Object.keys(configured);
  if (names.length === 0) {
    throw new InputError('command', 'give the MCP server to start after --, or configure mcp.servers');
  }
  const out: Record<string, McpUpstreamConfig> = {};
  for (const n of names) {
    const s = configured[n];
    if (!s) throw new InputError('--server', `no server ${n} in mcp.servers`);
    out[n] = s;
  }
  return out;
}

async function serveStdio(
  gh: Gatehouse,
  servers: Record<string, McpUpstreamConfig>,
  opts: { agent?: string; session?: string },
  configDir: string,
): Promise<number> {
  const identity = await resolveProxyIdentity(gh, gh.config.mcp, {
    ...(opts.agent ? { agent: opts.agent } : {}),
    env: process.env,
    configDir,
  });
  let exitCode: number = EXIT.ok;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const proxy = await McpProxy.start({
    gatehouse: gh,
    servers,
    identity,
    ...(opts.session ? { session: opts.session } : {}),
    log: stderr,
    onFatal: (why) => {
      stderr(`exiting: ${why}`);
      exitCode = EXIT.runtime;
      finish();
    },
  });
  const transport = new LineTransport(process.stdin, process.stdout, {
    side: 'client',
    onMalformed: (m) => proxy.malformed(m),
  });
  transport.onclose = () => finish();
  const stop = () => finish();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // A bug must not take the proxy (and the client's session) down: it is reported, and every decision stays awaited.
  const bug = (err: unknown) => stderr(`internal error: ${err instanceof Error ? err.message : String(err)}`);
  process.on('unhandledRejection', bug);
  await proxy.connect(transport);
  stderr(
    `session ${proxy.session}: agent ${identity.agent} (${identity.method}), servers ${Object.keys(servers).join(', ')}`,
  );
  await done;
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  process.off('unhandledRejection', bug);
  await proxy.close();
  process.stdin.destroy();
  return exitCode;
}

async function serveHttp(
  gh: Gatehouse,
  servers: Record<string, McpUpstreamConfig>,
  opts: { host?: string; port?: string },
): Promise<number> {
  const port = opts.port === undefined ? undefined : Number(opts.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new InputError('--port', 'expected a port number 0-65535');
  }
  const http = await McpHttpProxy.listen({
    gatehouse: gh,
    servers,
    ...(opts.host ? { host: opts.host } : {}),
    ...(port !== undefined ? { port } : {}),
    log: stderr,
  });
  stderr(`listening on ${http.url}`);
  await new Promise<void>((r) => {
    process.once('SIGTERM', r);
    process.once('SIGINT', r);
  });
  await http.close();
  return EXIT.ok;
}
