import { spawn } from 'node:child_process';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { CLI } from '../helpers/cli.js';
import {
  auditEvents,
  cli,
  connectProxy,
  EVERYTHING_SERVER,
  FIXTURE,
  listingDecisions,
  proxyHarness,
  textOf,
  waitFor,
} from './helpers.js';

const { ws, fixture, track } = proxyHarness();

describe('gatehouse mcp lifecycle and malformed traffic', () => {
  it('exits cleanly when the upstream dies (on_upstream_exit: exit)', async () => {
    const w = ws();
    const p = await fixture(w);
    const pid = Number(textOf(await p.client.callTool({ name: 'pid', arguments: {} })));
    const closed = new Promise<void>((r) => {
      p.client.onclose = () => r();
    });
    process.kill(pid, 'SIGKILL');
    await closed;
    await expect(p.client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow();
    expect(p.stderr()).toMatch(/upstream fix is gone/);
    expect(auditEvents(w).some((e) => e.type === 'mcp.upstream.died')).toBe(true);
  });

  it('restarts a dead upstream (on_upstream_exit: reconnect) and answers a clean error meanwhile', async () => {
    const w = ws('mcp:\n  on_upstream_exit: reconnect\n  reconnect: { max_attempts: 3, backoff: 300ms }\n');
    const p = await fixture(w);
    const pid = Number(textOf(await p.client.callTool({ name: 'pid', arguments: {} })));
    // A call in flight when the server dies fails with a clean JSON-RPC error naming the server.
    const inFlight = p.client.callTool({ name: 'slow', arguments: { steps: 1000 } });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, 'SIGKILL');
    await expect(inFlight).rejects.toThrow(/upstream MCP server fix closed the connection/);
    // Until it is back, calls are answered with an error too (or, once restarted, served).
    const during = await p.client.callTool({ name: 'pid', arguments: {} }).then(
      () => 'answered',
      (e: unknown) => (e instanceof McpError ? e.message : String(e)),
    );
    expect(during).toMatch(/^(answered|.*restarting.*)$/);
    const again = await waitFor(
      () => (p.stderr().includes('reconnected') ? true : undefined),
      10_000,
      'the upstream to come back',
    );
    expect(again).toBe(true);
    const newPid = Number(textOf(await p.client.callTool({ name: 'pid', arguments: {} })));
    expect(newPid).toBeGreaterThan(0);
    expect(newPid).not.toBe(pid);
  });

  it('answers malformed client messages with JSON-RPC errors and does not crash', async () => {
    const w = ws();
    const child = spawn(
      process.execPath,
      [
        CLI,
        '--config',
        w.config,
        '--data',
        w.data,
        'mcp',
        '--agent',
        'claude',
        '--name',
        'fix',
        '--',
        process.execPath,
        FIXTURE,
      ],
      {
        cwd: w.dir,
        env: { PATH: process.env.PATH ?? '', FIXTURE_DEFS: w.defs },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const send = (s: string) => child.stdin.write(`${s}\n`);
    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    );
    await waitFor(() => (out.includes('"id":1') ? true : undefined), 20_000, 'initialize');
    send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    send('{this is not json');
    send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 42 }));
    send(JSON.stringify([1, 2, 3]));
    send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { arguments: 'not an object' } }));
    send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }));
    await waitFor(() => (out.includes('"id":9') ? true : undefined), 10_000, 'ping');
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: unknown; error?: { code: number } });
    expect(lines.filter((l) => l.id === null && l.error?.code === -32700)).toHaveLength(1);
    expect(lines.find((l) => l.id === 7)?.error?.code).toBe(-32600);
    expect(lines.filter((l) => l.id === null && l.error?.code === -32600)).toHaveLength(1);
    expect(lines.find((l) => l.id === 8)?.error?.code).toBe(-32602);
    expect(lines.find((l) => l.id === 9)?.error).toBeUndefined();
    child.stdin.end();
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(auditEvents(w).filter((e) => e.type === 'mcp.message.rejected').length).toBe(3);
  });
});

describe('gatehouse mcp identity', () => {
  it('acts for the agent of a token or a key from the environment, which never reach the server', async () => {
    const w = ws();
    const gh = await Gatehouse.open({ config: w.config, data: w.data });
    const { privateKeyPem } = await gh.identity.register(
      { id: 'keyed', roles: ['mcpuser'], generateKey: 'Ed25519' },
      'host',
    );
    const token = (await gh.identity.issueToken('keyed', { actor: 'host' })).access_token;
    await gh.close();

    const byToken = await connectProxy(w, ['--name', 'fix'], [process.execPath, FIXTURE], {
      env: { GATEHOUSE_TOKEN: token },
    });
    track(byToken);
    expect(textOf(await byToken.client.callTool({ name: 'echo', arguments: { text: 'token' } }))).toBe('token');
    expect(textOf(await byToken.client.callTool({ name: 'env', arguments: { name: 'GATEHOUSE_TOKEN' } }))).toBe(
      '(unset)',
    );
    expect(byToken.stderr()).toContain('agent keyed (token)');
    await byToken.close();

    const byKey = await connectProxy(w, ['--name', 'fix', '--agent', 'keyed'], [process.execPath, FIXTURE], {
      env: { GATEHOUSE_AGENT_KEY: privateKeyPem! },
    });
    track(byKey);
    expect(textOf(await byKey.client.callTool({ name: 'echo', arguments: { text: 'key' } }))).toBe('key');
    expect(textOf(await byKey.client.callTool({ name: 'env', arguments: { name: 'GATEHOUSE_AGENT_KEY' } }))).toBe(
      '(unset)',
    );
    await byKey.close();

    const mismatch = cli(w, ['mcp', '--agent', 'claude', '--name', 'fix', '--', process.execPath, FIXTURE], {
      GATEHOUSE_TOKEN: token,
    });
    expect(mismatch.code, mismatch.stderr).toBe(2);
    expect(mismatch.stderr).toContain('is for agent keyed, not claude');
    const unknown = cli(w, ['mcp', '--agent', 'nobody', '--name', 'fix', '--', process.execPath, FIXTURE]);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('agent nobody is not registered');
    const decisions = auditEvents(w).filter((e) => e.type === 'decision' && e.agent === 'keyed');
    expect(decisions.length).toBeGreaterThanOrEqual(4);
    expect(decisions.every((e) => e.actor === 'token')).toBe(true);
  });
});

describe('gatehouse mcp with several upstream servers', () => {
  it('namespaces tools, reports shadowing and screens what server-everything returns', async () => {
    const w = ws(`mcp:
  agent: claude
  servers:
    fix: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE)}] }
    ev: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING_SERVER)}, stdio] }
`);
    const p = await connectProxy(w, [], [], {});
    track(p);
    const names = (await p.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('fix__echo');
    expect(names).toContain('ev__echo');
    expect(names).toContain('ev__get-sum');
    const r = await p.client.callTool({ name: 'ev__echo', arguments: { message: 'hello' } });
    expect(textOf(r)).toContain('hello');
    const sum = await p.client.callTool({ name: 'ev__get-sum', arguments: { a: 2, b: 3 } });
    expect(textOf(sum)).toContain('5');
    // Resources and prompts come back through the pipeline too (decisions of kind tool_result).
    const resources = (await p.client.listResources()).resources;
    expect(resources.length).toBeGreaterThan(0);
    const textual = resources.find((r) => r.mimeType?.startsWith('text/')) ?? resources[0]!;
    const read = await p.client.readResource({ uri: textual.uri });
    expect(read.contents.length).toBeGreaterThan(0);
    expect((read._meta as { gatehouse?: { decisions: string[] } }).gatehouse).toBeDefined();
    const prompts = (await p.client.listPrompts()).prompts;
    const simple = prompts.find((x) => !(x.arguments ?? []).some((a) => a.required));
    expect(simple?.name.startsWith('ev__')).toBe(true);
    const got = await p.client.getPrompt({ name: simple!.name });
    expect(got.messages.length).toBeGreaterThan(0);
    await p.close();
    // The same name on both servers: offered under both prefixes, each listing decision flagged.
    const shadow = listingDecisions(w, 'mcp.shadowing.duplicate_name');
    expect(shadow.map((e) => (e.action as { tool: string }).tool).sort()).toEqual(['ev.echo', 'fix.echo']);
    expect(shadow.every((e) => e.decision === 'allow' && e.flagged === true)).toBe(true);
    expect(p.stderr()).toContain('SHADOWING');
    const types = new Set(auditEvents(w).map((e) => e.type));
    for (const t of ['mcp.resources.listed', 'mcp.resource.read', 'mcp.prompts.listed', 'mcp.prompt.get'])
      expect(types).toContain(t);
  });
});
