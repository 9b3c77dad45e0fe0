import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { base64url, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityCodes } from '../../src/identity/errors.js';
import type { TokenResponse } from '../../src/identity/tokens.js';
import { auditEvents, type Fixture, makeFixture } from './fixture.js';

let f: Fixture;
let tokens: TokenResponse;

beforeEach(async () => {
  f = await makeFixture();
  const r = await f.identity.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
  expect(r.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
  tokens = await f.identity.issueToken('mailer', { actor: 'host' });
});
afterEach(async () => f.close());

const action = (agent = 'mailer', session = 'default') =>
  ({ kind: 'tool_call', tool: 'fs.read', agent, session, source: 'user' }) as const;

/** Signs claims with Gatehouse's own token key: a token that only fails on what the test changes. */
async function forge(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: KeyObject | Uint8Array | undefined = undefined,
): Promise<string> {
  const signing = (await f.keyring.active('token-signing'))!;
  const now = Math.floor(f.clock.now() / 1000);
  const agent = f.identity.registry.get('mailer')!;
  const body = {
    iss: f.identity.issuer,
    sub: 'mailer',
    aud: 'gatehouse',
    jti: `forged-${Math.random().toString(36).slice(2)}`,
    iat: now,
    nbf: now,
    exp: now + 300,
    gen: agent.generation,
    cnf: { jkt: agent.key!.jkt },
    ...claims,
  };
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: signing.kid, ...header } as { alg: string })
    .sign(key ?? (await f.keyring.privateKey(signing.kid)));
}

async function rejects(token: string, code: string): Promise<void> {
  await expect(f.identity.tokens.verify(token)).rejects.toMatchObject({ code });
}

describe('access tokens: valid ones', () => {
  it('carry iss, sub, aud, jti, iat, exp, gen and cnf.jkt in an EdDSA at+jwt', async () => {
    const [h, p] = tokens.access_token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: 'spiffe://gatehouse.local', sub: 'mailer', aud: 'gatehouse', gen: 1 });
    expect(payload.exp - payload.iat).toBe(600);
    expect(payload.cnf.jkt).toBe(f.identity.registry.get('mailer')!.key!.jkt);
    expect(typeof payload.jti).toBe('string');
    const v = await f.identity.tokens.verify(tokens.access_token);
    expect(v).toMatchObject({ agent: 'mailer', jti: payload.jti, generation: 1 });
    expect(tokens.refresh_token).toMatch(/^ghr_[A-Za-z0-9_-]{43}$/);
  });

  it('authenticate gives a principal with method token and the registry roles', async () => {
    const p = await f.identity.authenticate({ kind: 'bearer', token: tokens.access_token }, action());
    expect(p).toMatchObject({ agent: 'mailer', roles: ['assistant'], method: 'token', proofOfPossession: false });
  });

  it('verify from the cache still sees a revocation made after it was cached', async () => {
    await f.identity.tokens.verify(tokens.access_token);
    expect(f.identity.tokens.cacheSize).toBe(1);
    await f.identity.tokens.revokeAccess(tokens.jti, 'test', 'host');
    await rejects(tokens.access_token, IdentityCodes.tokenRevoked);
  });

  it('a cached token expires on time', async () => {
    await f.identity.tokens.verify(tokens.access_token);
    f.clock.advance(600_000 + 31_000);
    await rejects(tokens.access_token, IdentityCodes.tokenExpired);
  });
});

describe('access tokens: adversarial, each with its own reason code', () => {
  it('alg none', async () => {
    const [, p] = tokens.access_token.split('.');
    const h = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
    await rejects(`${h}.${p}.`, IdentityCodes.tokenAlgNotAllowed);
  });

  it('HS256 signed with the public key (algorithm confusion)', async () => {
    const signing = (await f.keyring.active('token-signing'))!;
    const pem = signing.publicKey.export({ format: 'pem', type: 'spki' });
    const t = await forge({}, { alg: 'HS256' }, createSecretKey(Buffer.from(pem)));
    await rejects(t, IdentityCodes.tokenAlgNotAllowed);
  });

  it('tampered payload (signature no longer matches)', async () => {
    const [h, p, s] = tokens.access_token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.sub = 'admin';
    await rejects(`${h}.${base64url.encode(JSON.stringify(payload))}.${s}`, IdentityCodes.tokenBadSignature);
  });

  it('signed by another Ed25519 key under our kid', async () => {
    const t = await forge({}, {}, generateKeyPairSync('ed25519').privateKey);
    await rejects(t, IdentityCodes.tokenBadSignature);
  });

  it('expired', async () => {
    f.clock.advance(600_000 + 31_000);
    await rejects(tokens.access_token, IdentityCodes.tokenExpired);
  });

  it('expired within the skew is still accepted, beyond it not', async () => {
    f.clock.advance(600_000 + 20_000);
    await expect(f.identity.tokens.verify(tokens.access_token)).resolves.toMatchObject({ agent: 'mailer' });
  });

  it('nbf in the future', async () => {
    const now = Math.floor(f.clock.now() / 1000);
    await rejects(await forge({ nbf: now + 120 }), IdentityCodes.tokenNotYetValid);
  });

  it('wrong aud', async () => {
    await rejects(await forge({ aud: 'someone-else' }), IdentityCodes.tokenAudience);
  });

  it('wrong iss', async () => {
    await rejects(await forge({ iss: 'spiffe://evil.example' }), IdentityCodes.tokenIssuer);
  });

  it('wrong typ (an ID token or plain JWT)', async () => {
    await rejects(await forge({}, { typ: 'JWT' }), IdentityCodes.tokenType);
  });

  it('unknown kid', async () => {
    await rejects(await forge({}, { kid: 'token-signing-nope' }), IdentityCodes.tokenUnknownKey);
  });

  it('missing gen or cnf', async () => {
    await rejects(await forge({ gen: undefined }), IdentityCodes.tokenClaims);
    await rejects(await forge({ cnf: undefined }), IdentityCodes.tokenClaims);
  });

  it('revoked jti', async () => {
    await f.identity.tokens.revokeAccess(tokens.jti, 'test', 'host');
    await rejects(tokens.access_token, IdentityCodes.tokenRevoked);
  });

  it('old generation (kill switch)', async () => {
    await f.identity.registry.bumpGeneration('mailer', { actor: 'host', reason: 'test' });
    await rejects(tokens.access_token, IdentityCodes.tokenGeneration);
    const fresh = await f.identity.issueToken('mailer', { actor: 'host' });
    await expect(f.identity.tokens.verify(fresh.access_token)).resolves.toMatchObject({ generation: 2 });
  });

  it('token of a suspended agent', async () => {
    await f.identity.setStatus('mailer', 'suspended', { actor: 'host' });
    await rejects(tokens.access_token, IdentityCodes.agentSuspended);
  });

  it('token of a revoked agent', async () => {
    await f.identity.setStatus('mailer', 'revoked', { actor: 'host' });
    await rejects(tokens.access_token, IdentityCodes.agentRevoked);
  });

  it('token of a quarantined or compromised agent', async () => {
    await f.identity.setStatus('mailer', 'quarantined', { actor: 'host' });
    await rejects(tokens.access_token, IdentityCodes.agentQuarantined);
    await f.identity.setStatus('mailer', 'compromised', { actor: 'host' });
    await rejects(tokens.access_token, IdentityCodes.agentCompromised);
  });

  it('token bound to a key the agent no longer has', async () => {
    const t = await forge({ cnf: { jkt: 'x'.repeat(43) } });
    await rejects(t, IdentityCodes.tokenKeyMismatch);
  });

  it('garbage and truncated tokens', async () => {
    for (const g of ['', 'garbage', 'a.b', '....', '{"alg":"none"}', 'x'.repeat(20_000), `${tokens.access_token}\n`]) {
      await rejects(g, IdentityCodes.tokenMalformed);
    }
    const t = tokens.access_token;
    await rejects(t.slice(0, t.lastIndexOf('.')), IdentityCodes.tokenMalformed);
    await rejects(t.slice(0, t.length - 10), IdentityCodes.tokenBadSignature);
    await rejects(`${t.slice(0, 20)}.${t.split('.')[1]}.${t.split('.')[2]}`, IdentityCodes.tokenMalformed);
  });

  it('a token for another agent is refused for this action (sub must match)', async () => {
    await f.identity.register({ id: 'other', generateKey: 'Ed25519' }, 'host');
    await expect(
      f.identity.authenticate({ kind: 'bearer', token: tokens.access_token }, action('other')),
    ).rejects.toMatchObject({
      code: IdentityCodes.tokenSubjectMismatch,
    });
  });

  it('a session-bound token is refused for another session', async () => {
    const bound = await f.identity.issueToken('mailer', { actor: 'host', session: 's1' });
    await expect(
      f.identity.authenticate({ kind: 'bearer', token: bound.access_token }, action('mailer', 's1')),
    ).resolves.toBeTruthy();
    await expect(
      f.identity.authenticate({ kind: 'bearer', token: bound.access_token }, action('mailer', 's2')),
    ).rejects.toMatchObject({
      code: IdentityCodes.tokenSessionMismatch,
    });
  });

  it('the regexes on untrusted token input are linear: a 1 MB adversarial string finishes fast', async () => {
    const evil = `${'a'.repeat(500_000)}.${'b'.repeat(500_000)}`;
    const t0 = performance.now();
    await rejects(evil, IdentityCodes.tokenMalformed);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('revocation across processes and signing key rotation', () => {
  it('a revocation or suspension made by another process applies within sync_interval', async () => {
    const other = await f.reopen();
    await other.tokens.verify(tokens.access_token);
    await f.identity.tokens.revokeAccess(tokens.jti, 'test', 'operator:x');
    const outcome = (t: string) =>
      other.tokens.verify(t).then(
        () => 'valid',
        (e: { code?: string }) => e.code,
      );
    await expect.poll(() => outcome(tokens.access_token)).toBe(IdentityCodes.tokenRevoked);
    const t2 = await f.identity.issueToken('mailer', { actor: 'host' });
    await other.tokens.verify(t2.access_token);
    await f.identity.setStatus('mailer', 'suspended', { actor: 'operator:x' });
    await expect.poll(() => outcome(t2.access_token)).toBe(IdentityCodes.agentSuspended);
  });

  it('tokens signed before a key rotation verify through the overlap; the JWKS lists both keys', async () => {
    const before = (await f.keyring.active('token-signing'))!.kid;
    await f.identity.tokens.rotateSigningKey('host');
    const after = (await f.keyring.active('token-signing'))!.kid;
    expect(after).not.toBe(before);
    await expect(f.identity.tokens.verify(tokens.access_token)).resolves.toBeTruthy();
    const jwks = await f.identity.tokens.jwks();
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([before, after].sort());
    expect(jwks.keys.every((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && !('d' in k))).toBe(true);
    const fresh = await f.identity.issueToken('mailer', { actor: 'host' });
    expect(JSON.parse(Buffer.from(fresh.access_token.split('.')[0]!, 'base64url').toString()).kid).toBe(after);
  });

  it('the signing key rotates by itself after signing_key_rotation', async () => {
    const before = (await f.keyring.active('token-signing'))!.kid;
    f.clock.advance(31 * 86_400_000);
    await f.identity.setStatus('mailer', 'active', { actor: 'host' });
    const t = await f.identity.issueToken('mailer', { actor: 'host' });
    expect(JSON.parse(Buffer.from(t.access_token.split('.')[0]!, 'base64url').toString()).kid).not.toBe(before);
  });

  it('issuance and revocation are audited by jti, never with the token itself', async () => {
    await f.identity.tokens.revokeAccess(tokens.jti, 'test', 'host');
    const events = await auditEvents(f);
    const issued = events.find((e) => e.type === 'identity.token_issued');
    expect(issued).toMatchObject({ agent: 'mailer', data: { jti: tokens.jti, method: 'host' } });
    expect(events.find((e) => e.type === 'identity.token_revoked')).toMatchObject({ data: { jti: tokens.jti } });
    const text = JSON.stringify(events);
    expect(text).not.toContain(tokens.access_token);
    expect(text).not.toContain(tokens.refresh_token!);
    expect(text).not.toContain(tokens.access_token.split('.')[2]!);
  });
});
