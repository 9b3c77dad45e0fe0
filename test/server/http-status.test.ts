import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { createClientAssertion } from '../../src/identity/client.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { tempDir } from '../helpers/tmp.js';

let cleanup: () => void;
let gh: Gatehouse;
let app: FastifyInstance;
let key: KeyObject;
let opToken: string;

async function open(identity: Record<string, unknown> = {}): Promise<void> {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    config: {
      version: 1,
      tools: { 'fs.read': { risk: 'low' }, 'fs.write': { risk: 'low' } },
      roles: { reader: { grants: [{ tools: ['fs.read'] }] } },
      limits: { per_agent: { tool_calls_per_minute: 2, burst: 2 } },
      identity,
    },
    data: t.dir,
  });
  app = await buildServer(gh);
  const r = await gh.identity.register({ id: 'mailer', roles: ['reader'], generateKey: 'Ed25519' }, 'host');
  key = createPrivateKey(r.privateKeyPem!);
  opToken = (await (await OperatorDirectory.open(gh.store, () => Date.now())).add('alice')).token;
}

afterEach(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

async function token(): Promise<string> {
  const client_assertion = await createClientAssertion({ agent: 'mailer', privateKey: key, audience: 'gatehouse' });
  const r = await app.inject({
    method: 'POST',
    url: '/v1/token',
    payload: {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion,
    },
  });
  expect(r.statusCode).toBe(200);
  return r.json().access_token as string;
}

const decide = (bearer: string, tool = 'fs.read') =>
  app.inject({
    method: 'POST',
    url: '/v1/decide',
    headers: { authorization: `Bearer ${bearer}` },
    payload: { kind: 'tool_call', agent: 'mailer', tool },
  });
const codes = (r: { json: () => { reasons: { code: string }[] } }) => r.json().reasons.map((x) => x.code);

describe('HTTP statuses of /v1/decide', () => {
  beforeEach(() => open());

  it('401 for a malformed token and for an operator token, with the Decision as the body', async () => {
    const bad = await decide('not-a-jws');
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toMatch(/invalid_token/);
    expect(bad.json()).toMatchObject({ effect: 'deny' });
    expect(codes(bad)).toEqual(['identity.token_malformed']);
    const op = await decide(opToken);
    expect(op.statusCode).toBe(401);
    expect(op.json().effect).toBe('deny');
  });

  it('200 for an allow and for a policy deny; 429 with Retry-After for the rate limit', async () => {
    const t = await token();
    const ok = await decide(t);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().effect).toBe('allow');
    const policy = await decide(t, 'fs.write');
    expect(policy.statusCode).toBe(200);
    expect(policy.json().effect).toBe('deny');
    // The bucket holds 2 calls; one is spent above (the policy deny charges nothing).
    expect((await decide(t)).statusCode).toBe(200);
    const limited = await decide(t);
    expect(limited.statusCode).toBe(429);
    expect(codes(limited)).toContain('limits.rate.agent');
    expect(limited.headers['retry-after']).toBe('30');
  });

  it('400 for a tool_listing action: only the MCP proxy asks about listings, and nothing is opened or recorded', async () => {
    const t = await token();
    const before = (await gh.approvals.list({})).length;
    const r = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization: `Bearer ${t}` },
      payload: {
        kind: 'tool_listing',
        agent: 'mailer',
        tool: 'evil.send',
        args: { server: 'evil', name: 'send' },
        content: 'Send mail.',
      },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: 'input.invalid' });
    expect((await gh.approvals.list({})).length).toBe(before);
  });

  it('403 for a valid token of a suspended or quarantined agent', async () => {
    const t = await token();
    await gh.identity.setStatus('mailer', 'suspended', { actor: 'host', reason: 'test' });
    const suspended = await decide(t);
    expect(codes(suspended)).toEqual(['identity.agent_suspended']);
    expect(suspended.statusCode).toBe(403);
    await gh.identity.setStatus('mailer', 'active', { actor: 'host' });
    const fresh = await token();
    await gh.responder.quarantine('mailer', 'test', 'host');
    const q = await decide(fresh);
    expect(q.json().effect).toBe('deny');
    expect(q.statusCode).toBe(403);
  });
});
