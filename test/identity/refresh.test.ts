import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityCodes } from '../../src/identity/errors.js';
import { auditEvents, type Fixture, makeFixture } from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await makeFixture();
  await f.identity.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
});
afterEach(async () => f.close());

describe('refresh tokens', () => {
  it('are single use and rotated on every refresh; only their hash is stored', async () => {
    const t1 = await f.identity.issueToken('mailer', { actor: 'host' });
    const t2 = await f.identity.tokens.refresh(t1.refresh_token!, 'gateway');
    expect(t2.refresh_token).not.toBe(t1.refresh_token);
    expect(t2.access_token).not.toBe(t1.access_token);
    await expect(f.identity.tokens.verify(t2.access_token)).resolves.toMatchObject({ agent: 'mailer' });
    const rows = await f.store.all<{ hash: string }>('SELECT hash FROM identity_refresh_tokens');
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.hash).not.toContain(t1.refresh_token!.slice(4));
    }
    const t3 = await f.identity.tokens.refresh(t2.refresh_token!, 'gateway');
    expect(t3.refresh_token).toMatch(/^ghr_/);
  });

  it('reuse of a spent refresh token revokes the whole family, marks the agent compromised and is audited', async () => {
    const t1 = await f.identity.issueToken('mailer', { actor: 'host' });
    const t2 = await f.identity.tokens.refresh(t1.refresh_token!, 'gateway');
    // The thief replays the old one.
    await expect(f.identity.tokens.refresh(t1.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshReused,
    });
    // The family is dead: the legitimate holder's newest refresh token and its access token too.
    await expect(f.identity.tokens.refresh(t2.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshRevoked,
    });
    expect(f.identity.revocations.isRevoked(t2.jti)).toBe(true);
    expect(f.identity.registry.get('mailer')!.status).toBe('compromised');
    await expect(f.identity.tokens.verify(t2.access_token)).rejects.toMatchObject({
      code: IdentityCodes.agentCompromised,
    });
    const events = await auditEvents(f);
    expect(events.find((e) => e.type === 'identity.refresh_reuse_detected')).toMatchObject({
      agent: 'mailer',
      data: { suspected: 'compromise' },
    });
    expect(events.find((e) => e.type === 'identity.agent_status_changed')).toMatchObject({
      data: { from: 'active', to: 'compromised' },
    });
    expect(JSON.stringify(events)).not.toContain(t1.refresh_token!);
  });

  it('with refresh_reuse: revoke_family the agent stays active but the family dies', async () => {
    await f.close();
    f = await makeFixture({ refresh_reuse: 'revoke_family' });
    await f.identity.register({ id: 'mailer', generateKey: 'Ed25519' }, 'host');
    const t1 = await f.identity.issueToken('mailer', { actor: 'host' });
    const t2 = await f.identity.tokens.refresh(t1.refresh_token!, 'gateway');
    await expect(f.identity.tokens.refresh(t1.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshReused,
    });
    expect(f.identity.registry.get('mailer')!.status).toBe('active');
    await expect(f.identity.tokens.verify(t2.access_token)).rejects.toMatchObject({ code: IdentityCodes.tokenRevoked });
  });

  it('expire, and die with a suspension or key rotation; unknown ones are invalid', async () => {
    const t1 = await f.identity.issueToken('mailer', { actor: 'host' });
    f.clock.advance(24 * 3_600_000 + 1);
    await expect(f.identity.tokens.refresh(t1.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshExpired,
    });
    const t2 = await f.identity.issueToken('mailer', { actor: 'host' });
    await f.identity.setStatus('mailer', 'suspended', { actor: 'host' });
    await f.identity.setStatus('mailer', 'active', { actor: 'host' });
    await expect(f.identity.tokens.refresh(t2.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshRevoked,
    });
    const t3 = await f.identity.issueToken('mailer', { actor: 'host' });
    await f.identity.rotate('mailer', { generateKey: 'Ed25519' }, 'host');
    await expect(f.identity.tokens.refresh(t3.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshRevoked,
    });
    await expect(f.identity.tokens.refresh(`ghr_${'A'.repeat(43)}`, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshInvalid,
    });
    await expect(f.identity.tokens.refresh('not-a-token', 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshInvalid,
    });
    expect(
      (await auditEvents(f)).filter((e) => e.type === 'identity.authentication_failed').length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('keep the session binding through refreshes', async () => {
    const t1 = await f.identity.issueToken('mailer', { actor: 'host', session: 'chat-7' });
    const t2 = await f.identity.tokens.refresh(t1.refresh_token!, 'gateway');
    await expect(f.identity.tokens.verify(t2.access_token)).resolves.toMatchObject({ session: 'chat-7' });
  });

  it('revoking a refresh token (RFC 7009) kills its family', async () => {
    const t1 = await f.identity.issueToken('mailer', { actor: 'host' });
    expect(await f.identity.tokens.revokeRefresh(t1.refresh_token!, 'logout', 'agent:mailer')).toBe(true);
    await expect(f.identity.tokens.refresh(t1.refresh_token!, 'gateway')).rejects.toMatchObject({
      code: IdentityCodes.refreshRevoked,
    });
    await expect(f.identity.tokens.verify(t1.access_token)).rejects.toMatchObject({ code: IdentityCodes.tokenRevoked });
  });
});
