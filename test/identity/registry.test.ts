import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdentityCodes } from '../../src/identity/errors.js';
import { auditEvents, type Fixture, makeFixture } from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await makeFixture({ agents: { planner: { roles: ['reader'] } } });
});
afterEach(async () => f.close());

const action = (agent: string) =>
  ({ kind: 'tool_call', tool: 'fs.read', agent, session: 'default', source: 'user' }) as const;

describe('agent registry', () => {
  it('registers an agent with its own public key (PEM or JWK); Gatehouse never sees its private key', async () => {
    const a = generateKeyPairSync('ed25519');
    const r = await f.identity.register(
      { id: 'own', roles: ['assistant'], publicKey: a.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
      'host',
    );
    expect(r.privateKeyPem).toBeUndefined();
    expect(r.agent).toMatchObject({
      id: 'own',
      status: 'active',
      roles: ['assistant'],
      generation: 1,
      key: { alg: 'Ed25519', origin: 'agent' },
    });
    expect(r.agent.nextRotationAt! - r.agent.rotatedAt!).toBe(90 * 86_400_000);
    const row = await f.store.get<{ sealed_private: Buffer | null }>(
      'SELECT sealed_private FROM identity_agents WHERE id = ?',
      ['own'],
    );
    expect(row?.sealed_private).toBeNull();
    const b = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const jwk = JSON.stringify(await exportJWK(b.publicKey));
    expect((await f.identity.register({ id: 'jwk', publicKey: jwk }, 'host')).agent.key?.alg).toBe('P-384');
  });

  it('generates a key pair on request, hands the private key out once and keeps only a sealed copy', async () => {
    const r = await f.identity.register({ id: 'gen', generateKey: 'Ed25519' }, 'host');
    expect(r.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const row = (await f.store.get<{ sealed_private: Buffer }>(
      'SELECT sealed_private FROM identity_agents WHERE id = ?',
      ['gen'],
    ))!;
    expect(row.sealed_private.includes('PRIVATE KEY')).toBe(false);
    expect(f.master.open(row.sealed_private, `agent-key:gen:${r.agent.key!.jkt}`).length).toBeGreaterThan(32);
    expect(JSON.stringify(f.identity.registry.get('gen'))).not.toContain('PRIVATE');
    expect(JSON.stringify(await auditEvents(f))).not.toContain('PRIVATE KEY');
  });

  it('refuses private keys, unsupported key types, duplicate and malformed ids', async () => {
    const ed = generateKeyPairSync('ed25519');
    const priv = ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await expect(f.identity.register({ id: 'x', publicKey: priv }, 'host')).rejects.toMatchObject({
      code: IdentityCodes.keyInvalid,
    });
    const privJwk = JSON.stringify(await exportJWK(ed.privateKey));
    await expect(f.identity.register({ id: 'x', publicKey: privJwk }, 'host')).rejects.toMatchObject({
      code: IdentityCodes.keyInvalid,
    });
    // A JWK that is not one of the accepted shapes is refused, naming the member.
    for (const [jwk, where] of [
      ['{"kty":"oct","k":"c2VjcmV0"}', /JWK kty/],
      ['{"kty":"OKP","crv":"Ed25519","x":7}', /JWK x/],
    ] as const) {
      await expect(f.identity.register({ id: 'x', publicKey: jwk }, 'host')).rejects.toThrow(where);
    }
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    await expect(f.identity.register({ id: 'x', publicKey: p256 }, 'host')).rejects.toThrow(
      /unsupported key type EC curve prime256v1/,
    );
    const rsa2k = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    await expect(f.identity.register({ id: 'x', publicKey: rsa2k }, 'host')).rejects.toThrow(/RSA-2048/);
    await expect(f.identity.register({ id: 'x', publicKey: 'garbage' }, 'host')).rejects.toMatchObject({
      code: IdentityCodes.keyInvalid,
    });
    await f.identity.register({ id: 'dup' }, 'host');
    await expect(f.identity.register({ id: 'dup' }, 'host')).rejects.toMatchObject({ code: IdentityCodes.agentExists });
    for (const bad of ['', 'a b', '../x', 'x'.repeat(65), '-lead', 'a/b']) {
      await expect(f.identity.register({ id: bad }, 'host')).rejects.toMatchObject({ code: IdentityCodes.keyInvalid });
    }
    expect(f.identity.registry.get('x')).toBeUndefined();
  });

  it('status changes: each bumps the generation, is audited, and revoked is final', async () => {
    await f.identity.register({ id: 'a', generateKey: 'Ed25519' }, 'host');
    const s = await f.identity.setStatus('a', 'suspended', { actor: 'operator:alice', reason: 'investigating' });
    expect(s).toMatchObject({ status: 'suspended', statusReason: 'investigating', generation: 2 });
    expect((await f.identity.setStatus('a', 'active', { actor: 'operator:alice' })).generation).toBe(3);
    await f.identity.setStatus('a', 'compromised', { actor: 'operator:alice' });
    await expect(f.identity.setStatus('a', 'active', { actor: 'operator:alice' })).rejects.toThrow(/rotate its key/);
    expect((await f.identity.rotate('a', { generateKey: 'Ed25519' }, 'operator:alice')).agent.status).toBe('active');
    await f.identity.setStatus('a', 'revoked', { actor: 'operator:alice' });
    await expect(f.identity.setStatus('a', 'active', { actor: 'operator:alice' })).rejects.toMatchObject({
      code: IdentityCodes.agentStatus,
    });
    const changes = (await auditEvents(f)).filter((e) => e.type === 'identity.agent_status_changed');
    expect(changes.map((e) => (e.data as { to: string }).to)).toEqual([
      'suspended',
      'active',
      'compromised',
      'revoked',
    ]);
    expect(changes[0]).toMatchObject({ actor: 'operator:alice', agent: 'a', data: { reason: 'investigating' } });
  });

  it('the host acts for registered and declared agents; unknown, suspended, revoked, quarantined, compromised and expired are denied with their own codes', async () => {
    await expect(f.identity.authenticate({ kind: 'host' }, action('planner'))).resolves.toMatchObject({
      agent: 'planner',
      roles: ['reader'],
      method: 'host',
    });
    await expect(f.identity.authenticate({ kind: 'host' }, action('ghost'))).rejects.toMatchObject({
      code: IdentityCodes.agentUnknown,
    });
    const cases = [
      ['suspended', IdentityCodes.agentSuspended],
      ['revoked', IdentityCodes.agentRevoked],
      ['quarantined', IdentityCodes.agentQuarantined],
      ['compromised', IdentityCodes.agentCompromised],
    ] as const;
    for (const [status, code] of cases) {
      await f.identity.register({ id: `s-${status}` }, 'host');
      await f.identity.setStatus(`s-${status}`, status, { actor: 'host' });
      await expect(f.identity.authenticate({ kind: 'host' }, action(`s-${status}`))).rejects.toMatchObject({ code });
    }
    await f.identity.register({ id: 'temp', expiresAt: f.clock.now() + 1000 }, 'host');
    await expect(f.identity.authenticate({ kind: 'host' }, action('temp'))).resolves.toBeTruthy();
    f.clock.advance(1000);
    await expect(f.identity.authenticate({ kind: 'host' }, action('temp'))).rejects.toMatchObject({
      code: IdentityCodes.agentExpired,
    });
  });

  it('unregistered_agents: allow lets the host act for unknown agents (with no roles)', async () => {
    const open = await f.reopen({ unregistered_agents: 'allow' });
    await expect(open.authenticate({ kind: 'host' }, action('ghost'))).resolves.toMatchObject({
      agent: 'ghost',
      roles: [],
      method: 'host',
    });
  });

  it('declared agents follow the configuration; registered ones keep their own roles', async () => {
    expect(f.identity.registry.get('planner')).toMatchObject({ source: 'config', roles: ['reader'], key: undefined });
    const g = await f.reopen({ agents: { planner: { roles: ['reader', 'assistant'] } } });
    expect(g.registry.get('planner')!.roles).toEqual(['reader', 'assistant']);
    await g.register({ id: 'planner', generateKey: 'Ed25519' }, 'host');
    const h = await f.reopen({ agents: { planner: { roles: [] } } });
    expect(h.registry.get('planner')).toMatchObject({ source: 'registered', roles: ['reader', 'assistant'] });
  });

  it('rotation replaces the key, kills old tokens and records both thumbprints', async () => {
    const r = await f.identity.register({ id: 'rot', generateKey: 'Ed25519' }, 'host');
    const t = await f.identity.issueToken('rot', { actor: 'host' });
    f.clock.advance(1000);
    const next = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const rr = await f.identity.rotate('rot', { publicKey: next }, 'operator:alice');
    expect(rr.previousJkt).toBe(r.agent.key!.jkt);
    expect(rr.agent.key!.jkt).not.toBe(r.agent.key!.jkt);
    expect(rr.agent.key!.origin).toBe('agent');
    expect(rr.agent.rotatedAt).toBe(f.clock.now());
    await expect(f.identity.tokens.verify(t.access_token)).rejects.toMatchObject({ code: IdentityCodes.tokenRevoked });
    const ev = (await auditEvents(f)).find((e) => e.type === 'identity.agent_key_rotated');
    expect(ev).toMatchObject({
      agent: 'rot',
      actor: 'operator:alice',
      data: { previousJkt: r.agent.key!.jkt, jkt: rr.agent.key!.jkt },
    });
  });

  it('changes made by another process show up after sync_interval', async () => {
    const other = await f.reopen();
    await other.register({ id: 'late', roles: ['reader'] }, 'operator:x');
    await vi.waitFor(() => expect(f.identity.registry.get('late')).toMatchObject({ roles: ['reader'] }));
    expect((await f.identity.registry.list()).map((a) => a.id)).toEqual(['late', 'planner']);
  });
});
