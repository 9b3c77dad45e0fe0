import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { McpHttpProxy } from '../../src/mcp/http.js';
import { buildServer } from '../../src/server/app.js';
import { auditEvents, EVERYTHING_SERVER, FIXTURE, textOf, type Workspace, waitFor, workspace } from './helpers.js';

const CONFIG = () => `version: 1
roles:
  mcpuser:
    grants:
      - tools: ["fix.*", "ev.*"]
tools:
  fix.echo: { risk: low }
  fix.deploy: { risk: high }
  ev.echo: { risk: low }
mcp:
  approval_timeout: 1s
`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(w: Workspace, servers: Parameters<typeof McpHttpProxy.listen>[0]['servers']) {
  const gh = await Gatehouse.open({ config: w.config, data: w.data, env: { ...process.env, FIXTURE_DEFS: w.defs } });
  const http = await McpHttpProxy.listen({
    gatehouse: gh,
    servers,
    port: 0,
    env: { ...process.env, FIXTURE_DEFS: w.defs },
  });
  cleanups.push(async () => {
    await http.close();
    await gh.close();
  });
  for (const id of ['claude', 'other'])
    await gh.identity.register({ id, roles: ['mcpuser'], generateKey: 'Ed25519' }, 'host');
  const token = async (agent: string) => (await gh.identity.issueToken(agent, { actor: 'host' })).access_token;
  const connect = async (bearer: string) => {
    const transport = new StreamableHTTPClientTransport(new URL(http.url), {
      requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
    });
    const client = new Client({ name: 'http-test', version: '1' });
    await client.connect(transport);
    cleanups.push(() => client.close());
    return { client, transport };
  };
  return { gh, http, token, connect };
}

describe('gatehouse mcp over streamable HTTP', () => {
  it('needs an agent token; the MCP session is the Gatehouse session and belongs to its agent', async () => {
    const w = workspace(CONFIG);
    cleanups.push(() => w.cleanup());
    const { http, token, connect } = await setup(w, {
      fix: { command: process.execPath, args: [FIXTURE], env: {}, headers: {} },
    });
    const anonymous = await fetch(http.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    expect(anonymous.status).toBe(401);
    const forged = await fetch(http.url, {
      method: 'POST',
      headers: { authorization: 'Bearer not.a.token' },
      body: '{}',
    });
    expect(forged.status).toBe(401);

    const { client, transport } = await connect(await token('claude'));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'deploy']));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over http' } }))).toBe('over http');
    const held = await client.callTool({ name: 'deploy', arguments: { target: 'prod' } });
    expect(textOf(held)).toContain('approval.timeout');
    const session = transport.sessionId!;
    expect(session).toMatch(/^mcp-/);

    // Another agent's valid token cannot ride this session.
    const hijack = await fetch(http.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token('other')}`,
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-06-18',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(hijack.status).toBe(403);

    const bad = await fetch(http.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token('claude')}`,
        'mcp-session-id': session,
        'content-type': 'application/json',
      },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32700);

    const events = auditEvents(w);
    expect(events.some((e) => e.type === 'decision' && e.session === session && e.agent === 'claude')).toBe(true);
    expect(events.some((e) => e.type === 'mcp.session.started' && e.session === session)).toBe(true);
  });

  it('proxies an upstream that itself speaks streamable HTTP (server-everything)', async () => {
    const w = workspace(CONFIG);
    cleanups.push(() => w.cleanup());
    const port = await freePort();
    const upstream: ChildProcess = spawn(process.execPath, [EVERYTHING_SERVER, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanups.push(() => {
      upstream.kill();
    });
    let log = '';
    upstream.stderr?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    await waitFor(() => (log.includes('listening') ? true : undefined), 15_000, 'server-everything to listen');
    const { token, connect } = await setup(w, {
      ev: { url: `http://127.0.0.1:${port}/mcp`, args: [], env: {}, headers: {} },
    });
    const { client } = await connect(await token('claude'));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(['echo']);
    const r = await client.callTool({ name: 'echo', arguments: { message: 'both sides http' } });
    expect(textOf(r)).toContain('both sides http');
  });
  it('serves the configured servers on the gateway at /v1/mcp', async () => {
    const w = workspace(
      () =>
        `${CONFIG()}  servers:\n    fix: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE)}] }\n`,
    );
    cleanups.push(() => w.cleanup());
    const gh = await Gatehouse.open({ config: w.config, data: w.data });
    await gh.identity.register({ id: 'claude', roles: ['mcpuser'], generateKey: 'Ed25519' }, 'host');
    const app = await buildServer(gh);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(async () => {
      await app.close();
      await gh.close();
    });
    const token = (await gh.identity.issueToken('claude', { actor: 'host' })).access_token;
    const anonymous = await fetch(`${base}/v1/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/v1/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'gateway-test', version: '1' });
    await client.connect(transport);
    cleanups.push(() => client.close());
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'via gateway' } }))).toBe('via gateway');
    const bad = await fetch(`${base}/v1/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{oops',
    });
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });
});
