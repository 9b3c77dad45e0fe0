import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;
let cleanup: () => void;
beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir());
  expect((await gatehouse(['init'], { cwd })).code).toBe(0);
});
afterAll(() => cleanup());

const run = (args: string[], input?: string) => gatehouse(args, { cwd, ...(input !== undefined ? { input } : {}) });

describe('gatehouse agents and token', () => {
  it('init declares the demo agent; register with a generated key writes it once to a 0600 file', async () => {
    const list = JSON.parse((await run(['agents', 'list', '--json'])).stdout);
    expect(list.agents).toEqual([
      expect.objectContaining({ id: 'demo', source: 'config', roles: ['assistant'], key: null }),
    ]);
    const r = await run([
      'agents',
      'register',
      'mailer',
      '--role',
      'reader',
      'assistant',
      '--private-key-out',
      'mailer.pem',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.agent).toMatchObject({
      id: 'mailer',
      status: 'active',
      roles: ['reader', 'assistant'],
      key: { alg: 'Ed25519', origin: 'generated' },
    });
    expect(out.privateKey).toBeUndefined();
    expect(readFileSync(join(cwd, 'mailer.pem'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    expect(statSync(join(cwd, 'mailer.pem')).mode & 0o777).toBe(0o600);
    const plain = await run(['agents', 'register', 'gen2']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(plain.stderr).toMatch(/will not show it again/);
  });

  it('registers an agent with its own public key; bad keys and duplicates are usage errors (exit 2)', async () => {
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      .publicKey.export({ format: 'pem', type: 'spki' })
      .toString();
    writeFileSync(join(cwd, 'own.pub'), pub);
    const r = await run(['agents', 'register', 'own', '--public-key', 'own.pub', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).agent.key).toMatchObject({ alg: 'P-384', origin: 'agent' });
    writeFileSync(join(cwd, 'bad.pub'), 'not a key');
    const bad = await run(['agents', 'register', 'bad', '--public-key', 'bad.pub']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a valid SPKI PEM or JWK/);
    const roles = await run(['agents', 'roles', 'own', 'reader', '--json']);
    expect(JSON.parse(roles.stdout).agent.roles).toEqual(['reader']);
  });

  it('token issue → verify → revoke → verify says revoked (exit 3)', async () => {
    const t = JSON.parse((await run(['token', 'issue', 'mailer', '--json'])).stdout);
    expect(t.access_token.split('.')).toHaveLength(3);
    const v = await run(['token', 'verify', '--json'], t.access_token);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, agent: 'mailer', jti: t.jti });
    expect((await run(['token', 'revoke', t.jti])).code).toBe(0);
    const after = await run(['token', 'verify'], t.access_token);
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/identity\.token_revoked/);
    // The kill switch: every token of the agent at once.
    expect(JSON.parse((await run(['token', 'revoke', '--agent', 'mailer', '--json'])).stdout)).toMatchObject({
      refreshFamiliesRevoked: 1,
    });
  });

  it('token refresh rotates; a reused refresh token is refused (exit 3)', async () => {
    const t = JSON.parse((await run(['token', 'issue', 'gen2', '--json'])).stdout);
    const r = await run(['token', 'refresh', t.refresh_token, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).refresh_token).not.toBe(t.refresh_token);
    const reuse = await run(['token', 'refresh', '--json'], t.refresh_token);
    expect(reuse.code).toBe(3);
    expect(JSON.parse(reuse.stdout).error).toBe('identity.refresh_reused');
  });

  it('suspend changes what decide answers, with its own reason code; resume undoes it', async () => {
    const call = JSON.stringify({
      kind: 'tool_call',
      agent: 'demo',
      session: 's1',
      tool: 'fs.read',
      args: { path: 'README.md' },
    });
    expect((await run(['agents', 'suspend', 'demo', '--reason', 'test'])).code).toBe(0);
    const d = await run(['decide', '--json'], call);
    expect(d.code).toBe(3);
    expect(JSON.parse(d.stdout).reasons[0].code).toBe('identity.agent_suspended');
    expect((await run(['agents', 'resume', 'demo'])).code).toBe(0);
  });

  it('rotate hands out a new key once; cert prints a chain that openssl verifies for clientAuth', async () => {
    const r = JSON.parse((await run(['agents', 'rotate', 'mailer', '--json'])).stdout);
    expect(r.privateKey).toMatch(/BEGIN PRIVATE KEY/);
    expect(r.previousJkt).not.toBe(r.agent.key.jkt);
    const c = await run(['agents', 'cert', 'mailer']);
    expect(c.code).toBe(0);
    const certs = c.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;
    expect(certs).toHaveLength(3);
    writeFileSync(join(cwd, 'leaf.pem'), certs[0]!);
    writeFileSync(join(cwd, 'inter.pem'), certs[1]!);
    writeFileSync(join(cwd, 'root.pem'), certs[2]!);
    const out = execFileSync(
      'openssl',
      ['verify', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', 'leaf.pem'],
      { cwd, encoding: 'utf8' },
    );
    expect(out).toMatch(/leaf\.pem: OK/);
    const crl = await run(['agents', 'crl']);
    expect(crl.stdout).toMatch(/BEGIN X509 CRL/);
    writeFileSync(join(cwd, 'crl.pem'), crl.stdout);
    const crlText = execFileSync('openssl', ['crl', '-in', 'crl.pem', '-noout', '-text'], { cwd, encoding: 'utf8' });
    expect(crlText).toMatch(/Certificate Revocation List/);
  });
});
