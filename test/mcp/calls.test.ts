import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEvents,
  awsKeyId,
  cli,
  connectProxy,
  FIXTURE,
  fixtureConfig,
  type Proxied,
  proxyHarness,
  textOf,
  type Workspace,
  waitFor,
  workspace,
} from './helpers.js';

const { ws, proxy, fixture } = proxyHarness();

describe('gatehouse mcp tools/call through the pipeline (our test server)', () => {
  it('waits for approval of a high-risk tool and runs it after `gatehouse approvals approve`', async () => {
    const w = ws();
    const p = await fixture(w);
    const call = p.client.callTool({ name: 'deploy', arguments: { target: 'prod' } });
    // The proxy names the pending request on stderr; an operator approves it with the real CLI.
    const id = await waitFor(
      () => /waits for approval (apr-[0-9a-f]{16})/.exec(p.stderr())?.[1],
      20_000,
      'a pending approval',
    );
    const pending = JSON.parse(cli(w, ['approvals', 'show', id, '--json']).stdout) as { tool: string; status: string };
    expect(pending).toMatchObject({ tool: 'fix.deploy', status: 'pending' });
    const approve = cli(w, ['approvals', 'approve', id, '--reason', 'ship it']);
    expect(approve.code).toBe(0);
    const r = await call;
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toBe('deployed prod');
    await p.close();
    const events = auditEvents(w);
    expect(events.some((e) => e.type === 'approval.used')).toBe(true);
    expect(events.some((e) => e.type === 'mcp.approval.waiting')).toBe(true);
  });

  it('by default never asks the agent’s own client: an auto-accepting client cannot approve its own call', async () => {
    const w = ws('mcp:\n  approval_timeout: 2s\n');
    const p = await proxy(w, [process.execPath, FIXTURE], ['--name', 'fix'], {
      client: { capabilities: { elicitation: { form: {} } } },
    });
    let asked = 0;
    p.client.setRequestHandler(ElicitRequestSchema, async () => {
      asked++;
      return { action: 'accept', content: { approve: true } };
    });
    const r = await p.client.callTool({ name: 'deploy', arguments: { target: 'prod' } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('approval.timeout');
    expect(asked).toBe(0);
  });

  it('with elicitation on, asks the client and records it as a client-side approval; a declined call is denied', async () => {
    const w = ws('mcp:\n  elicitation: true\n');
    const p = await proxy(w, [process.execPath, FIXTURE], ['--name', 'fix'], {
      client: { capabilities: { elicitation: { form: {} } } },
    });
    const answers = [true, false];
    const asked: string[] = [];
    p.client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(String(req.params.message));
      return { action: 'accept', content: { approve: answers.shift() ?? false } };
    });
    const yes = await p.client.callTool({ name: 'deploy', arguments: { target: 'staging' } });
    expect(textOf(yes)).toBe('deployed staging');
    const no = await p.client.callTool({ name: 'deploy', arguments: { target: 'prod' } });
    expect(no.isError).toBe(true);
    expect(textOf(no)).toContain('approval.denied');
    expect(asked[0]).toContain('fix.deploy');
    expect(asked[0]).toContain('staging');
    await p.close();
    const approved = auditEvents(w).find((e) => e.type === 'approval.granted');
    expect(approved?.actor).toBe('mcp-client:gatehouse-test');
  });
});

describe('gatehouse mcp tools/call: timeouts, credentials, progress, malformed replies (one proxy)', () => {
  const secret = `tok_${awsKeyId().toLowerCase()}`;
  let w: Workspace;
  let p: Proxied;
  beforeAll(async () => {
    w = workspace(
      fixtureConfig(
        'mcp:\n  approval_timeout: 1s\ncredentials:\n  env:\n    api_token: { var: TEST_API_TOKEN, agents: ["claude"], tools: ["fix.echo"] }\n',
      ),
    );
    p = await connectProxy(w, ['--agent', 'claude', '--name', 'fix'], [process.execPath, FIXTURE], {
      env: { TEST_API_TOKEN: secret },
      inTest: false,
    });
  });
  afterAll(async () => {
    await p?.close();
    w?.cleanup();
  });

  it('denies a call whose approval does not come within the timeout', async () => {
    const r = await p.client.callTool({ name: 'deploy', arguments: { target: 'prod' } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('approval.timeout');
  });

  it('resolves credential handles only on the way to the server', async () => {
    const r = await p.client.callTool({ name: 'echo', arguments: { text: 'auth={{secret:api_token}}' } });
    // The server received the value; its echo is redacted on the way back, and the audit log keeps the handle only.
    expect(textOf(r)).not.toContain(secret);
    expect(textOf(r)).toMatch(/auth=\[REDACTED/);
    // The variable behind the credential is not in the server's environment either.
    const other = await p.client.callTool({ name: 'env', arguments: { name: 'TEST_API_TOKEN' } });
    expect(textOf(other)).toBe('(unset)');
    // A handle out of scope (this credential is for fix.echo only) is refused before the server sees it.
    const refused = await p.client.callTool({ name: 'env', arguments: { name: '{{secret:api_token}}' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('credentials.handle.out_of_scope');
  });

  it('passes progress notifications through', async () => {
    const seen: number[] = [];
    const r = await p.client.callTool({ name: 'slow', arguments: { steps: 3 } }, undefined, {
      onprogress: (n) => seen.push(n.progress),
    });
    expect(textOf(r)).toBe('done after 3 steps');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('rejects a malformed reply from the server with a JSON-RPC error and keeps going', async () => {
    await expect(p.client.callTool({ name: 'malformed', arguments: {} })).rejects.toThrow(/malformed/);
    expect(textOf(await p.client.callTool({ name: 'echo', arguments: { text: 'still here' } }))).toBe('still here');
  });

  it('left the credential value out of the audit log and recorded its use and the rejected message', async () => {
    await p.close();
    const events = auditEvents(w);
    expect(events.some((e) => e.type === 'credentials.used')).toBe(true);
    expect(JSON.stringify(events)).not.toContain(secret);
    expect(
      events.some((e) => e.type === 'mcp.message.rejected' && (e.data as { side: string }).side === 'upstream'),
    ).toBe(true);
  });
});
