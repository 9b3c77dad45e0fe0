import { createPrivateKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { createClientAssertion } from '../../src/identity/client.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { testStoreOptions } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

describe('approvals and grants over HTTP', () => {
  let tmp: ReturnType<typeof tempDir>;
  let gh: Gatehouse;
  let app: FastifyInstance;
  let auth: { authorization: string };

  beforeEach(async () => {
    tmp = tempDir();
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'a.txt'), 'a');
    gh = await Gatehouse.open({
      ...testStoreOptions(),
      config: {
        version: 1,
        identity: { agents: { alice: { roles: ['assistant'] }, bob: { roles: [] } } },
        roles: { assistant: { grants: [{ tools: ['email.send', 'fs.read', 'web.fetch'] }] } },
        tools: {
          'email.send': { risk: 'high', sink: 'external' },
          'fs.read': { risk: 'low', args: { path: {} } },
          'web.fetch': { risk: 'medium', args: { url: {} } },
        },
        policy: { workspace: ws },
      },
      data: join(tmp.dir, 'data'),
      clock: new ManualClock(Date.now()),
    });
    app = await buildServer(gh);
    const { token } = await (await OperatorDirectory.open(gh.store, () => gh.clock.now())).add('carol');
    auth = { authorization: `Bearer ${token}` };
  });
  afterEach(async () => {
    await app.close();
    await gh.close();
    tmp.cleanup();
  });

  it('lists, shows and approves a request; the approved action then runs once', async () => {
    const email = {
      kind: 'tool_call',
      agent: 'alice',
      session: 's',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    } as const;
    const first = await gh.decide(email);
    expect(first.effect).toBe('review');
    const id = first.approvalRequest!;

    expect((await app.inject({ method: 'GET', url: '/v1/approvals' })).statusCode).toBe(401);
    const list = await app.inject({ method: 'GET', url: '/v1/approvals?status=pending', headers: auth });
    expect(list.statusCode).toBe(200);
    expect(list.json().approvals.map((a: { id: string }) => a.id)).toEqual([id]);
    const one = await app.inject({ method: 'GET', url: `/v1/approvals/${id}`, headers: auth });
    expect(one.json()).toMatchObject({
      id,
      status: 'pending',
      agent: 'alice',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    });
    expect(
      (await app.inject({ method: 'GET', url: '/v1/approvals/apr-0000000000000000', headers: auth })).statusCode,
    ).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/approvals/nope', headers: auth })).statusCode).toBe(400);

    const ok = await app.inject({
      method: 'POST',
      url: `/v1/approvals/${id}/approve`,
      headers: auth,
      payload: { reason: 'expected' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'approved', approver: 'operator:carol', reason: 'expected' });
    expect(
      (await app.inject({ method: 'POST', url: `/v1/approvals/${id}/deny`, headers: auth, payload: {} })).statusCode,
    ).toBe(409);

    expect((await gh.decide(email)).effect).toBe('allow');
    expect((await gh.decide(email)).effect).toBe('review');
  });

  it('grants at runtime, explains, shows visible tools and revokes', async () => {
    const denied = await gh.decide({ kind: 'tool_call', agent: 'bob', tool: 'fs.read', args: { path: 'a.txt' } });
    expect(denied.effect).toBe('deny');
    expect(
      (await app.inject({ method: 'POST', url: '/v1/grants', payload: { agent: 'bob', tools: ['fs.read'] } }))
        .statusCode,
    ).toBe(401);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: auth,
      payload: { agent: 'bob', tools: ['fs.read'], resources: ['workspace/**'], ttl_ms: 3_600_000 },
    });
    expect(created.statusCode).toBe(201);
    const g = created.json();
    expect(g.policyEpoch).toBe(denied.policyEpoch + 1);
    expect(
      (await gh.decide({ kind: 'tool_call', agent: 'bob', tool: 'fs.read', args: { path: 'a.txt' } })).effect,
    ).toBe('allow');

    const tools = await app.inject({ method: 'GET', url: '/v1/policy/tools/bob', headers: auth });
    expect(tools.json().tools).toEqual(['fs.read']);
    const explained = await app.inject({
      method: 'POST',
      url: '/v1/policy/explain',
      headers: auth,
      payload: { kind: 'tool_call', agent: 'bob', tool: 'fs.read', args: { path: '../../etc/passwd' } },
    });
    expect(explained.json()).toMatchObject({ effect: 'deny', args: { ok: false }, decision: { effect: 'deny' } });
    // The pipeline's judgement carries the engine's reasons among the other stages' (tier, catalogue).
    expect(explained.json().decision.reasons.map((r: { code: string }) => r.code)).toEqual(
      expect.arrayContaining(explained.json().reasons.map((r: { code: string }) => r.code)),
    );

    const bad = await app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: auth,
      payload: { agent: 'bob', tools: ['fs.read'], when: 'nope ==' },
    });
    expect(bad.statusCode).toBe(400);
    const revoked = await app.inject({ method: 'DELETE', url: `/v1/grants/${g.id}`, headers: auth });
    expect(revoked.json().revoked).toEqual([g.id]);
    expect(
      (await gh.decide({ kind: 'tool_call', agent: 'bob', tool: 'fs.read', args: { path: 'a.txt' } })).effect,
    ).toBe('deny');
  });

  it("an agent delegates a narrowed copy of its own grant with its own token, never someone else's", async () => {
    const reg = await gh.identity.register({ id: 'lead', roles: [], generateKey: 'Ed25519' }, 'host');
    const key = createPrivateKey(reg.privateKeyPem!);
    const tok = await app.inject({
      method: 'POST',
      url: '/v1/token',
      payload: {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await createClientAssertion({ agent: 'lead', privateKey: key, audience: 'gatehouse' }),
      },
    });
    expect(tok.statusCode).toBe(200);
    const agentAuth = { authorization: `Bearer ${tok.json().access_token as string}` };
    const own = (
      await app.inject({
        method: 'POST',
        url: '/v1/grants',
        headers: auth,
        payload: { agent: 'lead', tools: ['fs.*'], resources: ['workspace/**'], delegable: true, ttl_ms: 3_600_000 },
      })
    ).json();
    const other = (
      await app.inject({
        method: 'POST',
        url: '/v1/grants',
        headers: auth,
        payload: { agent: 'alice', tools: ['fs.read'], delegable: true },
      })
    ).json();

    expect(
      (await app.inject({ method: 'POST', url: `/v1/grants/${own.id}/delegate`, payload: { to: 'bob' } })).statusCode,
    ).toBe(401);
    const wider = await app.inject({
      method: 'POST',
      url: `/v1/grants/${own.id}/delegate`,
      headers: agentAuth,
      payload: { to: 'bob', tools: ['email.send'] },
    });
    expect(wider.statusCode).toBe(409);
    expect(wider.json().error).toBe('grant.not_subset');
    const notMine = await app.inject({
      method: 'POST',
      url: `/v1/grants/${other.id}/delegate`,
      headers: agentAuth,
      payload: { to: 'bob' },
    });
    expect(notMine.statusCode).toBe(403);
    const ok = await app.inject({
      method: 'POST',
      url: `/v1/grants/${own.id}/delegate`,
      headers: agentAuth,
      payload: { to: 'bob', tools: ['fs.read'], resources: ['workspace/a.txt'] },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ agent: 'bob', parent: own.id, grantedBy: 'agent:lead', depth: 1 });
    expect(
      (await gh.decide({ kind: 'tool_call', agent: 'bob', tool: 'fs.read', args: { path: 'a.txt' } })).effect,
    ).toBe('allow');
    await app.inject({ method: 'DELETE', url: `/v1/grants/${own.id}`, headers: auth });
    expect(
      (await gh.decide({ kind: 'tool_call', agent: 'bob', tool: 'fs.read', args: { path: 'a.txt' } })).effect,
    ).toBe('deny');
  });

  it('the seed scenarios over HTTP with an agent token: read proceeds, API call is flagged, email waits, runs once', async () => {
    const reg = await gh.identity.register({ id: 'carl', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
    const key = createPrivateKey(reg.privateKeyPem!);
    const tok = await app.inject({
      method: 'POST',
      url: '/v1/token',
      payload: {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await createClientAssertion({ agent: 'carl', privateKey: key, audience: 'gatehouse' }),
      },
    });
    const headers = { authorization: `Bearer ${tok.json().access_token as string}` };
    const decide = async (payload: Record<string, unknown>) =>
      (
        await app.inject({
          method: 'POST',
          url: '/v1/decide',
          headers,
          payload: { kind: 'tool_call', agent: 'carl', session: 'default', ...payload },
        })
      ).json();

    expect(await decide({ tool: 'fs.read', args: { path: 'a.txt' } })).toMatchObject({ effect: 'allow', tier: 'low' });
    expect(await decide({ tool: 'web.fetch', args: { url: 'https://api.example.com/v1' } })).toMatchObject({
      effect: 'allow',
      flagged: true,
    });
    expect(await decide({ tool: 'web.fetch', args: { url: 'http://0x7f.1/' } })).toMatchObject({ effect: 'deny' });
    const first = await decide({ tool: 'email.send', args: { to: 'x@example.com' } });
    expect(first.effect).toBe('review');
    const ok = await app.inject({
      method: 'POST',
      url: `/v1/approvals/${first.approvalRequest}/approve`,
      headers: auth,
      payload: {},
    });
    expect(ok.statusCode).toBe(200);
    // The agent's own token is not an operator token: it cannot approve.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/approvals/${first.approvalRequest}/approve`,
          headers,
          payload: {},
        })
      ).statusCode,
    ).toBe(401);
    expect((await decide({ tool: 'email.send', args: { to: 'other@example.com' } })).effect).toBe('review');
    expect(await decide({ tool: 'email.send', args: { to: 'x@example.com' } })).toMatchObject({
      effect: 'allow',
      approval: { id: first.approvalRequest },
    });
    expect((await decide({ tool: 'email.send', args: { to: 'x@example.com' } })).effect).toBe('review');
  });
});
