import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClientAssertion, createProof } from '../../src/identity/client.js';
import { IdentityCodes } from '../../src/identity/errors.js';
import { POP_GRANT } from '../../src/identity/service.js';
import { auditEvents, type Fixture, makeFixture } from './fixture.js';

let f: Fixture;
let key: KeyObject;
beforeEach(async () => {
  f = await makeFixture();
  const r = await f.identity.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
  key = createPrivateKey(r.privateKeyPem!);
});
afterEach(async () => f.close());

const action = { kind: 'tool_call', tool: 'email.send', agent: 'mailer', session: 'default', source: 'user' } as const;
const METHOD = 'tool_call:email.send';

async function proofFor(
  opts: { method?: string; audience?: string; nonce?: string; privateKey?: KeyObject; accessToken?: string } = {},
) {
  const nonce = opts.nonce ?? (await f.identity.challenges.issue('mailer')).nonce;
  return createProof({
    privateKey: opts.privateKey ?? key,
    nonce,
    audience: opts.audience ?? 'gatehouse',
    method: opts.method ?? METHOD,
    now: f.clock.now(),
    ...(opts.accessToken ? { accessToken: opts.accessToken } : {}),
  });
}

describe('proof of possession', () => {
  it('a nonce issued by one gateway is good once on another, and then refused everywhere', async () => {
    // Another Identity on the same store: a second gateway behind the load balancer.
    const other = await f.reopen();
    await other.sync();
    const agent = other.registry.get('mailer')!;
    const proof = await proofFor();
    await other.challenges.verify(proof, { agent, method: METHOD });
    await expect(other.challenges.verify(proof, { agent, method: METHOD })).rejects.toMatchObject({
      code: IdentityCodes.popNonceReplayed,
    });
    await expect(
      f.identity.challenges.verify(proof, { agent: f.identity.registry.get('mailer')!, method: METHOD }),
    ).rejects.toMatchObject({ code: IdentityCodes.popNonceReplayed });
    // Two gateways racing with the same proof: exactly one wins.
    const raced = await proofFor();
    const outcomes = await Promise.allSettled([
      f.identity.challenges.verify(raced, { agent, method: METHOD }),
      other.challenges.verify(raced, { agent, method: METHOD }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });

  it('a fresh proof with the token sets principal.proofOfPossession', async () => {
    const t = await f.identity.issueToken('mailer', { actor: 'host' });
    const proof = await proofFor({ accessToken: t.access_token });
    const p = await f.identity.authenticate({ kind: 'bearer', token: t.access_token, proof }, action);
    expect(p.proofOfPossession).toBe(true);
  });

  it('replayed nonce', async () => {
    const t = await f.identity.issueToken('mailer', { actor: 'host' });
    const proof = await proofFor({ accessToken: t.access_token });
    await f.identity.authenticate({ kind: 'bearer', token: t.access_token, proof }, action);
    await expect(
      f.identity.authenticate({ kind: 'bearer', token: t.access_token, proof }, action),
    ).rejects.toMatchObject({
      code: IdentityCodes.popNonceReplayed,
    });
  });

  it('expired nonce (60 s)', async () => {
    const agent = f.identity.registry.get('mailer')!;
    const proof = await proofFor();
    f.clock.advance(60_001);
    await expect(f.identity.challenges.verify(proof, { agent, method: METHOD })).rejects.toMatchObject({
      code: IdentityCodes.popNonceExpired,
    });
  });

  it('signed by another key', async () => {
    const agent = f.identity.registry.get('mailer')!;
    const proof = await proofFor({ privateKey: generateKeyPairSync('ed25519').privateKey });
    await expect(f.identity.challenges.verify(proof, { agent, method: METHOD })).rejects.toMatchObject({
      code: IdentityCodes.popBadSignature,
    });
  });

  it('a nonce Gatehouse never issued, or one issued to another agent', async () => {
    const agent = f.identity.registry.get('mailer')!;
    const proof = await proofFor({ nonce: 'A'.repeat(43) });
    await expect(f.identity.challenges.verify(proof, { agent, method: METHOD })).rejects.toMatchObject({
      code: IdentityCodes.popNonceUnknown,
    });
    await f.identity.register({ id: 'other', generateKey: 'Ed25519' }, 'host');
    const theirs = (await f.identity.challenges.issue('other')).nonce;
    await expect(
      f.identity.challenges.verify(await proofFor({ nonce: theirs }), { agent, method: METHOD }),
    ).rejects.toMatchObject({
      code: IdentityCodes.popAgentMismatch,
    });
  });

  it('wrong audience, wrong method, other access token, stale time', async () => {
    const agent = f.identity.registry.get('mailer')!;
    const t = await f.identity.issueToken('mailer', { actor: 'host' });
    const other = await f.identity.issueToken('mailer', { actor: 'host' });
    await expect(
      f.identity.challenges.verify(await proofFor({ audience: 'elsewhere' }), { agent, method: METHOD }),
    ).rejects.toMatchObject({
      code: IdentityCodes.popAudience,
    });
    await expect(
      f.identity.challenges.verify(await proofFor({ method: 'tool_call:fs.read' }), { agent, method: METHOD }),
    ).rejects.toMatchObject({
      code: IdentityCodes.popMethod,
    });
    await expect(
      f.identity.challenges.verify(await proofFor({ accessToken: other.access_token }), {
        agent,
        method: METHOD,
        accessToken: t.access_token,
      }),
    ).rejects.toMatchObject({ code: IdentityCodes.popTokenMismatch });
    const nonce = (await f.identity.challenges.issue('mailer')).nonce;
    const stale = await createProof({
      privateKey: key,
      nonce,
      audience: 'gatehouse',
      method: METHOD,
      now: f.clock.now() - 10 * 60_000,
    });
    await expect(f.identity.challenges.verify(stale, { agent, method: METHOD })).rejects.toMatchObject({
      code: IdentityCodes.popStale,
    });
  });

  it('malformed proofs and algorithm games', async () => {
    const agent = f.identity.registry.get('mailer')!;
    for (const g of ['', 'x', 'a.b.c.d', `${'a'.repeat(100)}.${'b'.repeat(100)}.`]) {
      await expect(f.identity.challenges.verify(g, { agent, method: METHOD })).rejects.toMatchObject({
        code: IdentityCodes.popMalformed,
      });
    }
    const nonce = (await f.identity.challenges.issue('mailer')).nonce;
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'gh-pop+jwt' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ nonce, aud: 'gatehouse', htm: METHOD, iat: 1 })).toString('base64url');
    await expect(f.identity.challenges.verify(`${header}.${body}.`, { agent, method: METHOD })).rejects.toMatchObject({
      code: IdentityCodes.tokenAlgNotAllowed,
    });
  });

  it('nonces per agent are bounded, and free up when they expire', async () => {
    for (let i = 0; i < 32; i++) await f.identity.challenges.issue('mailer');
    await expect(f.identity.challenges.issue('mailer')).rejects.toMatchObject({ code: IdentityCodes.popRateLimited });
    // Strangers asking in the agent's name have their own allowance and cannot starve it.
    for (let i = 0; i < 32; i++) await f.identity.challenges.issue('mailer', { anonymous: true });
    await expect(f.identity.challenges.issue('mailer', { anonymous: true })).rejects.toMatchObject({
      code: IdentityCodes.popRateLimited,
    });
    f.clock.advance(60_001);
    expect((await f.identity.challenges.issue('mailer')).nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await f.identity.challenges.issue('mailer', { anonymous: true })).nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('a proof gets a token (the proof-of-possession grant)', async () => {
    const nonce = (await f.identity.challenges.issue('mailer')).nonce;
    const proof = await createProof({
      privateKey: key,
      nonce,
      audience: 'gatehouse',
      method: 'token',
      now: f.clock.now(),
    });
    const t = await f.identity.grant({ grant_type: POP_GRANT, agent: 'mailer', proof });
    await expect(f.identity.tokens.verify(t.access_token)).resolves.toMatchObject({ agent: 'mailer' });
    await expect(f.identity.grant({ grant_type: POP_GRANT, agent: 'mailer', proof })).rejects.toMatchObject({
      code: IdentityCodes.popNonceReplayed,
    });
    const failed = (await auditEvents(f)).filter((e) => e.type === 'identity.authentication_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ agent: 'mailer', reasons: [{ code: IdentityCodes.popNonceReplayed }] });
    expect(JSON.stringify(failed)).not.toContain(nonce);
  });
});

describe('client assertions (RFC 7523 private_key_jwt)', () => {
  const grant = (client_assertion: string) =>
    f.identity.grant({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion,
    });

  it('get a token bound to the agent key, once per assertion', async () => {
    const a = await createClientAssertion({
      agent: 'mailer',
      privateKey: key,
      audience: 'gatehouse',
      now: f.clock.now(),
    });
    const t = await grant(a);
    await expect(f.identity.tokens.verify(t.access_token)).resolves.toMatchObject({
      agent: 'mailer',
      jkt: f.identity.registry.get('mailer')!.key!.jkt,
    });
    await expect(grant(a)).rejects.toMatchObject({ code: IdentityCodes.assertionReplayed });
  });

  it('are refused when signed by another key, for another audience, expired, too long-lived, or for an inactive agent', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const now = f.clock.now();
    await expect(
      grant(await createClientAssertion({ agent: 'mailer', privateKey: other, audience: 'gatehouse', now })),
    ).rejects.toMatchObject({
      code: IdentityCodes.assertionBadSignature,
    });
    await expect(
      grant(await createClientAssertion({ agent: 'mailer', privateKey: key, audience: 'x', now })),
    ).rejects.toMatchObject({
      code: IdentityCodes.assertionAudience,
    });
    await expect(
      grant(
        await createClientAssertion({
          agent: 'mailer',
          privateKey: key,
          audience: 'gatehouse',
          now: now - 10 * 60_000,
        }),
      ),
    ).rejects.toMatchObject({ code: IdentityCodes.assertionExpired });
    await expect(
      grant(
        await createClientAssertion({
          agent: 'mailer',
          privateKey: key,
          audience: 'gatehouse',
          now,
          lifetimeSeconds: 3600,
        }),
      ),
    ).rejects.toMatchObject({ code: IdentityCodes.assertionInvalid });
    await expect(
      grant(await createClientAssertion({ agent: 'nobody', privateKey: key, audience: 'gatehouse', now })),
    ).rejects.toMatchObject({
      code: IdentityCodes.agentUnknown,
    });
    await f.identity.setStatus('mailer', 'suspended', { actor: 'host' });
    await expect(
      grant(await createClientAssertion({ agent: 'mailer', privateKey: key, audience: 'gatehouse', now })),
    ).rejects.toMatchObject({
      code: IdentityCodes.agentSuspended,
    });
  });

  it('work with ECDSA P-384 agent keys the agent registered itself', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    await f.identity.register(
      { id: 'p384', publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString() },
      'host',
    );
    expect(f.identity.registry.get('p384')!.key).toMatchObject({ alg: 'P-384', origin: 'agent' });
    const t = await grant(
      await createClientAssertion({ agent: 'p384', privateKey, audience: 'gatehouse', now: f.clock.now() }),
    );
    await expect(f.identity.tokens.verify(t.access_token)).resolves.toMatchObject({ agent: 'p384' });
    const nonce = (await f.identity.challenges.issue('p384')).nonce;
    const proof = await createProof({ privateKey, nonce, audience: 'gatehouse', method: 'token', now: f.clock.now() });
    await expect(
      f.identity.challenges.verify(proof, { agent: f.identity.registry.get('p384')!, method: 'token' }),
    ).resolves.toBeUndefined();
  });

  it('no static shared secrets: unknown grant types and bare client_credentials are refused', async () => {
    await expect(f.identity.grant({ grant_type: 'password' })).rejects.toMatchObject({
      code: IdentityCodes.noCredentials,
    });
    await expect(f.identity.grant({ grant_type: 'client_credentials' })).rejects.toMatchObject({
      code: IdentityCodes.noCredentials,
    });
  });
});
