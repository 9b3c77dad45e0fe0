import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, onTestFailed } from 'vitest';
import { CLI } from '../helpers/cli.js';

const require = createRequire(import.meta.url);

export const FIXTURE = fileURLToPath(new URL('./fixtures/changing-server.mjs', import.meta.url));
export const FS_SERVER = join(
  dirname(require.resolve('@modelcontextprotocol/server-filesystem/package.json')),
  'dist/index.js',
);
export const EVERYTHING_SERVER = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

export interface Workspace {
  dir: string;
  root: string;
  config: string;
  data: string;
  defs: string;
  cleanup(): void;
}

/** A temp dir with a workspace root, a config and a data dir. */
export function workspace(configYaml: (root: string) => string): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'gh-mcp-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  const config = join(dir, 'gatehouse.yaml');
  writeFileSync(config, configYaml(root));
  const defs = join(dir, 'defs.json');
  writeFileSync(defs, '{}');
  return {
    dir,
    root,
    config,
    data: join(dir, '.gatehouse'),
    defs,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Proxied {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  close(): Promise<void>;
}

/** Starts `gatehouse mcp … -- <server>` as a real process and connects the SDK's Client to it over stdio. */
export async function connectProxy(
  ws: Workspace,
  proxyArgs: string[],
  server: string[],
  opts: { env?: Record<string, string>; client?: ClientOptions; inTest?: boolean } = {},
): Promise<Proxied> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--config', ws.config, '--data', ws.data, 'mcp', ...proxyArgs, '--', ...server],
    env: { PATH: process.env.PATH ?? '', FIXTURE_DEFS: ws.defs, ...opts.env },
    cwd: ws.dir,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  // When a test fails, show what the proxy said on stderr (only inside a test, not in beforeAll).
  if (opts.inTest !== false)
    onTestFailed(() => {
      if (err) console.error(`gatehouse mcp stderr:\n${err}`);
    });
  const client = new Client({ name: 'gatehouse-test', version: '1.0.0' }, opts.client ?? {});
  await client.connect(transport);
  return {
    client,
    transport,
    stderr: () => err,
    close: async () => {
      const pid = transport.pid;
      await client.close();
      // The proxy finishes its audit writes and exits; the next process on this data dir starts after that.
      if (pid !== null) await waitFor(() => (alive(pid) ? undefined : true), 10_000, 'the proxy to exit');
    },
  };
}

/** Runs the real CLI synchronously. */
export function cli(
  ws: Workspace,
  args: string[],
  env: Record<string, string> = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, '--config', ws.config, '--data', ws.data, ...args], {
    cwd: ws.dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every audit event written so far (all segments). */
export function auditEvents(ws: Workspace): Record<string, unknown>[] {
  const dir = join(ws.data, 'audit');
  const out: Record<string, unknown>[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.trim()) out.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return out;
}

/** The `tool_listing` decisions in the audit log, optionally only those carrying a reason `code`. */
export function listingDecisions(ws: Workspace, code?: string): Record<string, unknown>[] {
  return auditEvents(ws).filter(
    (e) =>
      e.type === 'decision' &&
      (e.action as { kind?: string } | undefined)?.kind === 'tool_listing' &&
      (code === undefined || ((e.reasons ?? []) as { code: string }[]).some((r) => r.code === code)),
  );
}

export function textOf(result: unknown): string {
  const content = ((result as { content?: unknown }).content ?? []) as { type: string; text?: string }[];
  return content
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** A random, well-formed AWS access key id (base32 body), so no fixture holds a real-looking constant. */
export function awsKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = 'AKIA';
  for (let i = 0; i < 16; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(fn: () => T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The policy the proxy tests run under; `extra` is appended YAML. */
export function fixtureConfig(extra = ''): (root: string) => string {
  return () => `version: 1
identity:
  agents:
    claude: { roles: [mcpuser] }
roles:
  mcpuser:
    grants:
      - tools: ["fs.*", "fix.*", "ev.*", "mcp.resource:ev", "mcp.prompt:ev"]
tools:
  fs.read_text_file: { risk: low, output: untrusted, args: { path: {} } }
  fs.write_file: { risk: low, args: { path: {} } }
  fs.list_allowed_directories: { risk: low }
  fix.echo: { risk: low }
  fix.deploy: { risk: high }
  fix.rugpull: { risk: low }
  fix.pid: { risk: low }
  fix.env: { risk: low }
  fix.malformed: { risk: low }
  fix.slow: { risk: low }
  fix.mutate: { risk: low }
  fix.calc: { risk: low }
  ev.echo: { risk: low, output: untrusted }
  ev.get-sum: { risk: low }
  "mcp.resource:ev": { risk: low }
  "mcp.prompt:ev": { risk: low }
policy:
  workspace: ./root
  forbid:
    - { tools: ["fs.write_file"], when: "'untrusted_instructions' in session.labels", reason: "no writes after untrusted input" }
${extra}`;
}

/**
 * The proxy tests' shared harness: a workspace per test with the fixture policy, proxies connected as agent `claude`,
 * and everything closed and removed after each test.
 */
export function proxyHarness(): {
  ws: (extra?: string) => Workspace;
  proxy: (
    w: Workspace,
    server: string[],
    args?: string[],
    opts?: Parameters<typeof connectProxy>[3],
  ) => Promise<Proxied>;
  fixture: (w: Workspace) => Promise<Proxied>;
  /** Closes a proxy the test connected itself after the test. */
  track: (p: Proxied) => void;
} {
  const open: Proxied[] = [];
  const spaces: Workspace[] = [];
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close().catch(() => {});
    for (const w of spaces.splice(0)) w.cleanup();
  });
  const ws = (extra = ''): Workspace => {
    const w = workspace(fixtureConfig(extra));
    spaces.push(w);
    return w;
  };
  const proxy = async (
    w: Workspace,
    server: string[],
    args: string[] = [],
    opts: Parameters<typeof connectProxy>[3] = {},
  ): Promise<Proxied> => {
    const p = await connectProxy(w, ['--agent', 'claude', ...args], server, opts);
    open.push(p);
    return p;
  };
  const fixture = (w: Workspace) => proxy(w, [process.execPath, FIXTURE], ['--name', 'fix']);
  return { ws, proxy, fixture, track: (p) => open.push(p) };
}
