import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { errorHandler } from '../../src/server/errors.js';
import decideRoutes from '../../src/server/routes/decide.js';
import identityRoutes from '../../src/server/routes/identity.js';
import { testStoreOptions } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

let cleanup: () => void;
let gh: Gatehouse;
let app: FastifyInstance;
let port: number;
let ca: string;

beforeEach(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    ...testStoreOptions(),
    config: {
      version: 1,
      tools: { 'fs.read': { risk: 'low' } },
      roles: { reader: { grants: [{ tools: ['fs.read'] }] } },
    },
    data: t.dir,
  });
  const tls = await gh.identity.serverTls({ dns: ['localhost'], ips: ['127.0.0.1'] });
  ca = gh.identity.ca.rootPem();
  app = Fastify({ https: tls });
  app.setErrorHandler(errorHandler);
  await app.register(decideRoutes, { gatehouse: gh });
  await app.register(identityRoutes, { gatehouse: gh });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterEach(async () => {
  await app.close();
  await gh.close();
  cleanup();
});

function post(
  path: string,
  body: unknown,
  client?: { key: string; cert: string },
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
        servername: 'localhost',
        headers: { 'content-type': 'application/json' },
        ...(client ?? {}),
      },
      (res) => {
        let data = '';
        res.on('data', (c) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('mutual TLS with certificates from the Gatehouse CA', () => {
  it('the gateway certificate chains to the root with a serverAuth EKU; its key is never stored', async () => {
    const tls = await gh.identity.serverTls();
    const leaf = new X509Certificate(tls.cert);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(() => gh.identity.verifyCertificate(tls.cert)).toThrow(
      expect.objectContaining({ code: 'identity.cert_usage' }),
    );
  });

  it('an agent authenticates with its client certificate in the handshake: token grant and decide', async () => {
    const r = await gh.identity.register({ id: 'mailer', roles: ['reader'], generateKey: 'Ed25519' }, 'host');
    const c = await gh.identity.certificate('mailer', 'host');
    const client = { key: r.privateKeyPem!, cert: c.chainPem };
    const d = await post('/v1/decide', { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' }, client);
    const decision = d.json as { effect: string; verdicts: Array<{ facts?: { principal?: unknown } }> };
    expect(decision.effect).toBe('allow');
    expect(decision.verdicts[0]!.facts?.principal).toMatchObject({ method: 'certificate', agent: 'mailer' });
    const t = await post('/v1/token', { grant_type: 'client_credentials' }, client);
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({ token_type: 'Bearer' });
    const other = await post('/v1/decide', { kind: 'tool_call', agent: 'demo', tool: 'fs.read' }, client);
    expect((other.json as { reasons: Array<{ code: string }> }).reasons[0]!.code).toBe(
      'identity.token_subject_mismatch',
    );
    const none = await post('/v1/decide', { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' });
    expect(none.status).toBe(401);
    await gh.identity.setStatus('mailer', 'revoked', { actor: 'host' });
    const revoked = await post('/v1/decide', { kind: 'tool_call', agent: 'mailer', tool: 'fs.read' }, client);
    expect((revoked.json as { reasons: Array<{ code: string }> }).reasons[0]!.code).toBe('identity.cert_revoked');
  });
});
