import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { createClientAssertion, createProof } from '../../src/identity/client.js';
import { buildServer } from '../../src/server/app.js';
import { credentialsFrom, trustedProxyList } from '../../src/server/auth.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { testStoreOptions } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

let cleanup: () => void;
let gh: Gatehouse;
let app: FastifyInstance;
let key: KeyObject;
let opToken: string;

beforeEach(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    ...testStoreOptions(),
    config: {
      version: 1,
      tools: { 'fs.read': { risk: 'low' } },
      roles: { reader: { grants: [{ tools: ['fs.read'] }] } },
      identity: { client_cert_header: 'x-client-cert', trusted_proxies: ['127.0.0.1'] },
    },
    data: t.dir,
  });
  app = await buildServer(gh);
  const r = await gh.identity.register({ id: 'mailer', roles: ['reader'], generateKey: 'Ed25519' }, 'host');
  key = createPrivateKey(r.privateKeyPem!);
  opToken = (await (await OperatorDirectory.open(gh.store, () => Date.now())).add('alice')).token;
});
afterEach(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

async function token(): Promise<{ access_token: string; refresh_token: string; jti: string }> {
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
  expect(r.headers['cache-control']).toBe('no-store');
  return r.json();
}

describe('identity over HTTP', () => {
  it('POST /v1/token with a private_key_jwt assertion (JSON or form), then decide with the token', async () => {
    const t = await token();
    expect(t).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    const form = await app.inject({
      method: 'POST',
      url: '/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await createClientAssertion({ agent: 'mailer', privateKey: key, audience: 'gatehouse' }),
      }).toString(),
    });
    expect(form.statusCode).toBe(200);
    const d = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization: `Bearer ${t.access_token}` },
      payload: { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' },
    });
    expect(d.json()).toMatchObject({ effect: 'allow' });
  });

  it('a bad assertion is 401 with its reason code; an unknown grant is refused', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const r = await app.inject({
      method: 'POST',
      url: '/v1/token',
      payload: {
        grant_type: 'client_credentials',
        client_assertion: await createClientAssertion({ agent: 'mailer', privateKey: other, audience: 'gatehouse' }),
      },
    });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ error: 'identity.assertion_bad_signature' });
    const pw = await app.inject({ method: 'POST', url: '/v1/token', payload: { grant_type: 'password' } });
    expect(pw.statusCode).toBe(401);
    const extra = await app.inject({
      method: 'POST',
      url: '/v1/token',
      payload: { grant_type: 'x', client_secret: 's' },
    });
    expect(extra.statusCode).toBe(400);
  });

  it('refresh rotates; reuse is refused and the family dies; revoke per RFC 7009', async () => {
    const t = await token();
    const r1 = await app.inject({
      method: 'POST',
      url: '/v1/token/refresh',
      payload: { refresh_token: t.refresh_token },
    });
    expect(r1.statusCode).toBe(200);
    const again = await app.inject({
      method: 'POST',
      url: '/v1/token/refresh',
      payload: { refresh_token: t.refresh_token },
    });
    expect(again.statusCode).toBe(401);
    expect(again.json().error).toBe('identity.refresh_reused');
    expect(gh.identity.registry.get('mailer')!.status).toBe('compromised');
    await expect(gh.identity.setStatus('mailer', 'active', { actor: 'host' })).rejects.toThrow(/rotate its key/);
    key = createPrivateKey((await gh.identity.rotate('mailer', { generateKey: 'Ed25519' }, 'host')).privateKeyPem!);
    expect(gh.identity.registry.get('mailer')!.status).toBe('active');
    const t2 = await token();
    const rev = await app.inject({ method: 'POST', url: '/v1/token/revoke', payload: { token: t2.access_token } });
    expect(rev.json()).toEqual({ revoked: true });
    const d = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization: `Bearer ${t2.access_token}` },
      payload: { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' },
    });
    expect(d.json().reasons.map((x: { code: string }) => x.code)).toEqual(['identity.token_revoked']);
    const unknown = await app.inject({ method: 'POST', url: '/v1/token/revoke', payload: { token: 'whatever' } });
    expect(unknown.json()).toEqual({ revoked: false });
  });

  it('GET /.well-known/jwks.json publishes only public keys', async () => {
    const r = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const jwks = r.json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('challenge nonce → proof-of-possession grant, and a PoP header on decide', async () => {
    const c = await app.inject({ method: 'POST', url: '/v1/challenge', payload: { agent: 'mailer' } });
    const { nonce } = c.json();
    const proof = await createProof({ privateKey: key, nonce, audience: 'gatehouse', method: 'token' });
    const r = await app.inject({
      method: 'POST',
      url: '/v1/token',
      payload: {
        grant_type: 'urn:gatehouse:params:grant-type:proof-of-possession',
        agent: 'mailer',
        proof,
        session: 's1',
      },
    });
    expect(r.statusCode).toBe(200);
    const t = r.json();
    const c2 = await app.inject({
      method: 'POST',
      url: '/v1/challenge',
      headers: { authorization: `Bearer ${t.access_token}` },
    });
    expect(c2.json()).toMatchObject({ agent: 'mailer', audience: 'gatehouse' });
    const pop = await createProof({
      privateKey: key,
      nonce: c2.json().nonce,
      audience: 'gatehouse',
      method: 'tool_call:fs.read',
      accessToken: t.access_token,
    });
    const d = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization: `Bearer ${t.access_token}`, 'gatehouse-pop': pop },
      payload: { kind: 'tool_call', agent: 'mailer', session: 's1', tool: 'fs.read' },
    });
    expect(d.json().effect).toBe('allow');
    expect(d.json().verdicts[0].facts.principal.proofOfPossession).toBe(true);
    const unknownAgent = await app.inject({ method: 'POST', url: '/v1/challenge', payload: { agent: 'ghost' } });
    expect(unknownAgent.statusCode).toBe(404);
  });

  it('agent management needs an operator token or the admin role; agents cannot register others', async () => {
    const t = await token();
    const byAgent = await app.inject({
      method: 'POST',
      url: '/v1/agents',
      headers: { authorization: `Bearer ${t.access_token}` },
      payload: { id: 'evil', roles: ['admin'] },
    });
    expect(byAgent.statusCode).toBe(403);
    const none = await app.inject({ method: 'POST', url: '/v1/agents', payload: { id: 'evil' } });
    expect(none.statusCode).toBe(401);
    const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/agents',
      headers: { authorization: `Bearer ${opToken}` },
      payload: { id: 'writer', roles: ['reader'], public_key: pub },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().agent).toMatchObject({ id: 'writer', status: 'active', key: { alg: 'Ed25519', origin: 'agent' } });
    expect(ok.json().private_key).toBeUndefined();
    const gen = await app.inject({
      method: 'POST',
      url: '/v1/agents',
      headers: { authorization: `Bearer ${opToken}` },
      payload: { id: 'gen', generate_key: 'Ed25519' },
    });
    expect(gen.json().private_key).toMatch(/BEGIN PRIVATE KEY/);
    const s = await app.inject({
      method: 'POST',
      url: '/v1/agents/mailer/status',
      headers: { authorization: `Bearer ${opToken}` },
      payload: { status: 'suspended', reason: 'test' },
    });
    expect(s.json().agent.status).toBe('suspended');
    const d = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      headers: { authorization: `Bearer ${t.access_token}` },
      payload: { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' },
    });
    expect(d.json().reasons.map((x: { code: string }) => x.code)).toEqual(['identity.agent_suspended']);
    const list = await app.inject({
      method: 'GET',
      url: '/v1/agents',
      headers: { authorization: `Bearer ${opToken}` },
    });
    expect(
      list
        .json()
        .agents.map((a: { id: string }) => a.id)
        .sort(),
    ).toEqual(['gen', 'mailer', 'writer']);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/agents',
      headers: { authorization: `Bearer ${opToken}` },
      payload: { id: 'x', public_key: 'not a key' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('an agent gets its own certificate; the chain and CRL are public', async () => {
    const t = await token();
    const c = await app.inject({
      method: 'POST',
      url: '/v1/agents/mailer/certificate',
      headers: { authorization: `Bearer ${t.access_token}` },
      payload: {},
    });
    expect(c.statusCode).toBe(200);
    expect(c.json()).toMatchObject({ spiffe_id: 'spiffe://gatehouse.local/agent/mailer' });
    const chain = await app.inject({ method: 'GET', url: '/v1/ca/chain' });
    expect(chain.body.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const crl = await app.inject({ method: 'GET', url: '/v1/ca/crl' });
    expect(crl.body).toMatch(/BEGIN X509 CRL/);
    // Behind a TLS-terminating proxy that passes the verified client certificate on.
    const header = { 'x-client-cert': encodeURIComponent(c.json().certificate) };
    const viaCert = await app.inject({
      method: 'POST',
      url: '/v1/token',
      headers: header,
      payload: { grant_type: 'client_credentials' },
    });
    expect(viaCert.statusCode).toBe(200);
    const show = await app.inject({ method: 'GET', url: '/v1/agents/mailer', headers: header });
    expect(show.json().certificates).toHaveLength(1);
  });

  it('an agent rotates its own key only with a proof of possession', async () => {
    const t = await token();
    const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const noProof = await app.inject({
      method: 'POST',
      url: '/v1/agents/mailer/rotate',
      headers: { authorization: `Bearer ${t.access_token}` },
      payload: { public_key: pub },
    });
    expect(noProof.statusCode).toBe(403);
    const { nonce } = (await app.inject({ method: 'POST', url: '/v1/challenge', payload: { agent: 'mailer' } })).json();
    const proof = await createProof({
      privateKey: key,
      nonce,
      audience: 'gatehouse',
      method: 'agents:rotate',
      accessToken: t.access_token,
    });
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/agents/mailer/rotate',
      headers: { authorization: `Bearer ${t.access_token}`, 'gatehouse-pop': proof },
      payload: { public_key: pub },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().agent.generation).toBe(2);
  });
});

describe('credentialsFrom', () => {
  const req = (headers: Record<string, string>) =>
    ({ headers, raw: { socket: { remoteAddress: '127.0.0.1' } } }) as unknown as Parameters<typeof credentialsFrom>[0];
  it('takes a bearer token and PoP header; ignores a certificate header unless configured', () => {
    expect(credentialsFrom(req({ authorization: 'Bearer abc.def.ghi', 'gatehouse-pop': 'p.q.r' }))).toEqual({
      kind: 'bearer',
      token: 'abc.def.ghi',
      proof: 'p.q.r',
    });
    expect(credentialsFrom(req({ 'x-client-cert': 'x' }))).toBeUndefined();
    const viaProxy = { clientCertHeader: 'X-Client-Cert', trustedProxies: trustedProxyList(['127.0.0.1']) };
    expect(credentialsFrom(req({ 'x-client-cert': 'pem%20here' }), viaProxy)).toEqual({
      kind: 'certificate',
      pem: 'pem here',
    });
    expect(credentialsFrom(req({ authorization: 'Basic dXNlcjpwYXNz' }))).toBeUndefined();
  });
});
