import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { onTestFailed } from 'vitest';
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
