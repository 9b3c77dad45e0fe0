import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentitySchema } from '../../src/config/sections/identity.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { buildServer } from '../../src/server/app.js';
import { tempDir } from '../helpers/tmp.js';

let gh: Gatehouse;
let app: FastifyInstance;
let cleanup: () => void;
let header: Record<string, string>;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    config: {
      version: 1,
      tools: { 'fs.read': { risk: 'low' } },
      roles: { reader: { grants: [{ tools: ['fs.read'] }] } },
      identity: { client_cert_header: 'x-client-cert', trusted_proxies: ['10.0.0.0/8', 'fd00::1'] },
    },
    data: t.dir,
  });
  app = await buildServer(gh);
  await gh.identity.register({ id: 'mailer', roles: ['reader'], generateKey: 'Ed25519' }, 'host');
  // The certificate is PUBLIC: anyone who saw a TLS handshake or the registry has it.
  const cert = await gh.identity.certificate('mailer', 'host');
  header = { 'x-client-cert': encodeURIComponent(cert.pem) };
});
afterAll(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

const tokenFrom = (remoteAddress: string, extra: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/token',
    remoteAddress,
    headers: { ...header, ...extra },
    payload: { grant_type: 'client_credentials' },
  });

describe('client certificate header behind a trusted proxy only (adversarial)', () => {
  it('a local process presenting the public certificate gets no token and no decision', async () => {
    const r = await tokenFrom('127.0.0.1');
    expect(r.statusCode).not.toBe(200);
    expect(r.body).not.toContain('access_token');
    const d = await app.inject({
      method: 'POST',
      url: '/v1/decide',
      remoteAddress: '127.0.0.1',
      headers: header,
      payload: { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' },
    });
    expect(d.statusCode).toBe(401);
    expect(d.json().error).toBe('auth.missing');
  });

  it('forwarding headers do not make a caller a trusted proxy', async () => {
    const spoofs: Record<string, string>[] = [
      { 'x-forwarded-for': '10.1.2.3' },
      { 'x-real-ip': '10.1.2.3' },
      { forwarded: 'for=10.1.2.3' },
    ];
    for (const h of spoofs) {
      expect((await tokenFrom('127.0.0.1', h)).statusCode).not.toBe(200);
    }
    expect((await tokenFrom('11.0.0.1')).statusCode).not.toBe(200);
    expect((await tokenFrom('fd00::2')).statusCode).not.toBe(200);
  });

  it('the configured proxy (IPv4 CIDR, IPv4-mapped IPv6, IPv6 address) passes the certificate on', async () => {
    for (const addr of ['10.1.2.3', '::ffff:10.200.0.1', 'fd00::1']) {
      const r = await tokenFrom(addr);
      expect(r.statusCode, addr).toBe(200);
      expect(r.json().access_token).toMatch(/^ey/);
    }
  });

  it('the config refuses entries that are not IPs or CIDRs', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.1/8/1', 'fd00::/129', '*']) {
      expect(IdentitySchema.safeParse({ trusted_proxies: [bad] }).success, bad).toBe(false);
    }
    expect(IdentitySchema.safeParse({ trusted_proxies: ['192.168.0.0/16', '::1', '2001:db8::/32'] }).success).toBe(
      true,
    );
  });
});
