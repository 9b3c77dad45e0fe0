import 'reflect-metadata';
import { createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdentityCodes } from '../../src/identity/errors.js';
import { TEST_STORE } from '../helpers/store.js';
import { auditEvents, type Fixture, makeFixture } from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await makeFixture();
  await f.identity.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
});
afterEach(async () => f.close());

function splitPem(chain: string): string[] {
  return chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

const action = { kind: 'tool_call', tool: 'fs.read', agent: 'mailer', session: 'default', source: 'user' } as const;

describe('certificate authority', () => {
  it('issues a 24 h leaf under root → intermediate with a SPIFFE URI SAN, clientAuth EKU and AKI/SKI', async () => {
    const c = await f.identity.certificate('mailer', 'host');
    const [leafPem, interPem, rootPem] = splitPem(c.chainPem);
    const leaf = new X509Certificate(leafPem!);
    const inter = new X509Certificate(interPem!);
    const root = new X509Certificate(rootPem!);
    expect(leaf.checkIssued(inter)).toBe(true);
    expect(leaf.verify(inter.publicKey)).toBe(true);
    expect(inter.checkIssued(root) && inter.verify(root.publicKey)).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(inter.ca && root.ca).toBe(true);
    expect(leaf.subjectAltName).toBe('URI:spiffe://gatehouse.local/agent/mailer');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(24 * 3_600_000 + 60_000);
    expect(c.renewAt).toBe(c.notBefore + (c.notAfter - c.notBefore) / 2);
    const pl = new x509.X509Certificate(leafPem!);
    const pi = new x509.X509Certificate(interPem!);
    const aki = pl.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    const skiInter = pi.getExtension(x509.SubjectKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(skiInter.keyId);
    expect(pl.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(f.identity.verifyCertificate(leafPem!).id).toBe('mailer');
  });

  it('authenticates certificate credentials as the agent the SAN names', async () => {
    const c = await f.identity.certificate('mailer', 'host');
    const p = await f.identity.authenticate({ kind: 'certificate', pem: c.pem }, action);
    expect(p).toMatchObject({ agent: 'mailer', method: 'certificate', roles: ['assistant'] });
    await f.identity.register({ id: 'other', generateKey: 'Ed25519' }, 'host');
    await expect(
      f.identity.authenticate({ kind: 'certificate', pem: c.pem }, { ...action, agent: 'other' }),
    ).rejects.toMatchObject({
      code: IdentityCodes.tokenSubjectMismatch,
    });
    const t = await f.identity.grant({ grant_type: 'client_credentials' }, { certificate: c.pem });
    await expect(f.identity.tokens.verify(t.access_token)).resolves.toMatchObject({ agent: 'mailer' });
  });

  it('renews at half-life, not before', async () => {
    const a = await f.identity.certificate('mailer', 'host');
    f.clock.advance(11 * 3_600_000);
    expect((await f.identity.certificate('mailer', 'host')).serial).toBe(a.serial);
    f.clock.advance(2 * 3_600_000);
    const b = await f.identity.certificate('mailer', 'host');
    expect(b.serial).not.toBe(a.serial);
    expect(f.identity.verifyCertificate(a.pem).id).toBe('mailer');
  });

  it('rejects a certificate from another CA, even for the same trust domain and agent', async () => {
    const g = await makeFixture();
    await g.identity.register({ id: 'mailer', generateKey: 'Ed25519' }, 'host');
    const foreign = await g.identity.certificate('mailer', 'host');
    await g.close();
    expect(() => f.identity.verifyCertificate(foreign.pem)).toThrow(
      expect.objectContaining({ code: IdentityCodes.certUntrusted }),
    );
  });

  it('rejects a self-signed certificate that claims the SPIFFE id', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const self = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=mailer',
      keys,
      signingAlgorithm: { name: 'Ed25519' },
      notBefore: new Date(f.clock.now() - 1000),
      notAfter: new Date(f.clock.now() + 3_600_000),
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://gatehouse.local/agent/mailer' }]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    expect(() => f.identity.verifyCertificate(self.toString('pem'))).toThrow(
      expect.objectContaining({ code: IdentityCodes.certUntrusted }),
    );
  });

  it('rejects expired and revoked certificates; the CRL lists revoked serials', async () => {
    const a = await f.identity.certificate('mailer', 'host');
    f.clock.advance(24 * 3_600_000 + 1);
    expect(() => f.identity.verifyCertificate(a.pem)).toThrow(
      expect.objectContaining({ code: IdentityCodes.certExpired }),
    );
    const b = await f.identity.certificate('mailer', 'host');
    expect(await f.identity.ca.revoke(b.serial, 'keyCompromise', 'operator:x')).toBe(true);
    expect(() => f.identity.verifyCertificate(b.pem)).toThrow(
      expect.objectContaining({ code: IdentityCodes.certRevoked }),
    );
    const crl = new x509.X509Crl(await f.identity.ca.crlPem());
    expect(crl.entries.map((e) => e.serialNumber.toLowerCase())).toContain(b.serial);
    const inter = new x509.X509Certificate(splitPem(f.identity.ca.chainPem())[0]!);
    expect(await crl.verify({ publicKey: await inter.publicKey.export() })).toBe(true);
    expect((await auditEvents(f)).some((e) => e.type === 'identity.certificate_revoked')).toBe(true);
  });

  it('a revocation made by another process reaches this one', async () => {
    const a = await f.identity.certificate('mailer', 'host');
    expect(f.identity.verifyCertificate(a.pem).id).toBe('mailer');
    const other = await f.reopen();
    await other.ca.revoke(a.serial, 'test', 'operator:x');
    await vi.waitFor(() =>
      expect(() => f.identity.verifyCertificate(a.pem)).toThrow(
        expect.objectContaining({ code: IdentityCodes.certRevoked }),
      ),
    );
  });

  it('key rotation revokes the old certificate; revoking the agent too', async () => {
    const a = await f.identity.certificate('mailer', 'host');
    await f.identity.rotate('mailer', { generateKey: 'Ed25519' }, 'host');
    expect(() => f.identity.verifyCertificate(a.pem)).toThrow(
      expect.objectContaining({ code: IdentityCodes.certRevoked }),
    );
    const b = await f.identity.certificate('mailer', 'host');
    expect(f.identity.verifyCertificate(b.pem).id).toBe('mailer');
    await f.identity.setStatus('mailer', 'suspended', { actor: 'host' });
    expect(() => f.identity.verifyCertificate(b.pem)).toThrow(
      expect.objectContaining({ code: IdentityCodes.agentSuspended }),
    );
  });

  it('an emergency intermediate rotation invalidates every leaf it issued', async () => {
    const a = await f.identity.certificate('mailer', 'host');
    await f.identity.ca.rotateIntermediate('intermediate key exposed', 'operator:x');
    expect(() => f.identity.verifyCertificate(a.pem)).toThrow(
      expect.objectContaining({ code: IdentityCodes.certUntrusted }),
    );
    const b = await f.identity.certificate('mailer', 'host');
    expect(b.serial).not.toBe(a.serial);
    expect(f.identity.verifyCertificate(b.pem).id).toBe('mailer');
  });

  it('init is idempotent and renews the intermediate at half its life; older leaves keep verifying', async () => {
    expect(await f.identity.init()).toMatchObject({ createdRoot: false, createdIntermediate: false });
    const a = await f.identity.certificate('mailer', 'host');
    f.clock.advance(15 * 86_400_000 + 1);
    expect(await f.identity.init()).toMatchObject({ createdRoot: false, createdIntermediate: true });
    expect(f.identity.ca.isRevoked(a.serial)).toBe(false);
    const b = await f.identity.certificate('mailer', 'host');
    expect(splitPem(b.chainPem)[1]).not.toBe(splitPem(a.chainPem)[1]);
    // Without a restart, issuing past the intermediate's half-life renews it too.
    f.clock.advance(15 * 86_400_000 + 1);
    const c = await f.identity.certificate('mailer', 'host');
    expect(splitPem(c.chainPem)[1]).not.toBe(splitPem(b.chainPem)[1]);
    expect(f.identity.verifyCertificate(c.pem).id).toBe('mailer');
  });

  it('a P-384 CA certifies RSA-4096 and P-384 agent keys', async () => {
    await f.close();
    f = await makeFixture({ ca: { key_algorithm: 'P-384' } });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 4096 });
    await f.identity.register(
      { id: 'rsa', publicKey: rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
      'host',
    );
    const p384 = await f.identity.register({ id: 'p384', generateKey: 'P-384' }, 'host');
    expect(createPrivateKey(p384.privateKeyPem!).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    for (const id of ['rsa', 'p384']) {
      const c = await f.identity.certificate(id, 'host');
      expect(f.identity.verifyCertificate(c.pem).id).toBe(id);
      expect(new X509Certificate(c.pem).publicKey.asymmetricKeyType).toBe(id === 'rsa' ? 'rsa' : 'ec');
    }
  });

  it('rejects garbage and truncated certificates', () => {
    for (const g of ['', 'nonsense', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----']) {
      expect(() => f.identity.verifyCertificate(g)).toThrow(
        expect.objectContaining({ code: IdentityCodes.certMalformed }),
      );
    }
  });
});

describe('keys at rest', () => {
  it('no private key is in clear anywhere in the data dir or the store (CA, token signing, generated agent keys)', async () => {
    const r = await f.identity.register({ id: 'gen', generateKey: 'Ed25519' }, 'host');
    await f.identity.certificate('gen', 'host');
    await f.identity.issueToken('gen', { actor: 'host' });
    await f.audit.flush();
    const agentDer = createPrivateKey(r.privateKeyPem!).export({ format: 'der', type: 'pkcs8' });
    const caDer = (await f.keyring.privateKey((await f.keyring.active('ca-intermediate'))!.kid)).export({
      format: 'der',
      type: 'pkcs8',
    });
    const signingDer = (await f.keyring.privateKey((await f.keyring.active('token-signing'))!.kid)).export({
      format: 'der',
      type: 'pkcs8',
    });
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(f.dir);
    // On SQLite the store is a file in the data dir; on PostgreSQL its rows are read back below instead.
    expect(files.some((p) => p.endsWith('gatehouse.db'))).toBe(TEST_STORE === 'sqlite');
    const blobs: Array<[string, Buffer]> = files.map((p) => [p, readFileSync(p)]);
    const tables = await f.store.all<{ name: string }>(
      TEST_STORE === 'sqlite'
        ? "SELECT name FROM sqlite_master WHERE type = 'table'"
        : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
    );
    expect(tables.map((t) => t.name)).toContain('identity_agents');
    for (const { name } of tables) {
      for (const row of await f.store.all<Record<string, unknown>>(`SELECT * FROM ${name}`)) {
        for (const [col, v] of Object.entries(row)) {
          if (Buffer.isBuffer(v)) blobs.push([`${name}.${col}`, v]);
          else if (typeof v === 'string') blobs.push([`${name}.${col}`, Buffer.from(v)]);
        }
      }
    }
    for (const [where, bytes] of blobs) {
      expect(bytes.includes('PRIVATE KEY'), where).toBe(false);
      for (const der of [agentDer, caDer, signingDer]) {
        expect(bytes.includes(der), where).toBe(false);
        // The raw 32-byte Ed25519 seed at the end of the PKCS#8 structure.
        expect(bytes.includes(der.subarray(der.length - 32)), where).toBe(false);
      }
    }
  });
});
