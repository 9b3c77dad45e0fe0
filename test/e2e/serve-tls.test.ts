import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import * as x509 from '@peculiar/x509';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ServerTlsSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { buildServer } from '../../src/server/app.js';
import { gatewayTls, isLoopback } from '../../src/server/tls.js';
import { CLI, gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

interface Pem {
  cert: string;
  key: string;
}

/** A CA that is not Gatehouse's: its certificates must never be taken for Gatehouse ones. */
async function foreignCa(): Promise<{
  pem: string;
  leaf: (o: { uri?: string; server?: boolean; notAfter?: Date }) => Promise<Pem>;
}> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Foreign CA',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  let serial = 2;
  return {
    pem: ca.toString('pem'),
    leaf: async (o) => {
      const leafKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: o.server ? 'CN=localhost' : 'CN=worker',
        issuer: ca.subject,
        notBefore: new Date(now - DAY),
        notAfter: o.notAfter ?? new Date(now + 7 * DAY),
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: EC,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.ExtendedKeyUsageExtension(
            [o.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
            false,
          ),
          new x509.SubjectAlternativeNameExtension(
            o.server
              ? [
                  { type: 'dns', value: 'localhost' },
                  { type: 'ip', value: '127.0.0.1' },
                ]
              : [{ type: 'url', value: o.uri ?? 'spiffe://gatehouse.local/agent/worker' }],
          ),
        ],
      });
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)).toString('base64');
      const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
      return { cert: cert.toString('pem'), key };
    },
  };
}

interface Reply {
  status: number;
  body: string;
  peer: PeerCertificate;
  authorized: boolean;
}

/** A real HTTPS request with node:https: `ca` is the only trust root; key/cert are the client certificate. */
function call(
  port: number,
  path: string,
  o: { ca: string; key?: string; cert?: string; method?: string; json?: unknown } = { ca: '' },
): Promise<Reply> {
  return new Promise((done, fail) => {
    const body = o.json === undefined ? undefined : JSON.stringify(o.json);
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? (body ? 'POST' : 'GET'),
        ca: o.ca,
        ...(o.key ? { key: o.key, cert: o.cert } : {}),
        agent: false,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        const socket = res.socket as import('node:tls').TLSSocket;
        const peer = socket.getPeerCertificate(false);
        const authorized = socket.authorized;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, body: text, peer, authorized }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

const firstCert = (pem: string) => pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 25);

let t: { dir: string; cleanup: () => void };
let gh: Gatehouse;
let root: string;
let worker: Pem;
let revoked: Pem;
let foreign: Awaited<ReturnType<typeof foreignCa>>;
const servers: FastifyInstance[] = [];

async function serve(settings: Record<string, unknown>): Promise<number> {
  const tls = await gatewayTls(gh, ServerTlsSchema.parse(settings), t.dir);
  const app = await buildServer(gh, { tls });
  servers.push(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return Number(new URL(url).port);
}

beforeAll(async () => {
  t = tempDir('gh-tls-');
  gh = await Gatehouse.open({
    config: {
      version: 1,
      roles: { worker: { grants: [{ tools: ['fs.read'] }] } },
      tools: { 'fs.read': { risk: 'low' } },
    },
    data: join(t.dir, 'data'),
  });
  root = gh.identity.ca.rootPem();
  for (const id of ['worker', 'gone']) {
    const r = await gh.identity.register({ id, roles: ['worker'], generateKey: 'Ed25519' }, 'host');
    const c = await gh.identity.certificate(id, 'host');
    const pem = { cert: c.chainPem, key: r.privateKeyPem! };
    if (id === 'worker') worker = pem;
    else revoked = pem;
  }
  await gh.identity.setStatus('gone', 'revoked', { actor: 'host', reason: 'test' });
  foreign = await foreignCa();
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await gh.close();
  t.cleanup();
});

describe('HTTPS with a Gatehouse-issued server certificate (client_certs: optional)', () => {
  let port: number;
  beforeAll(async () => {
    port = await serve({});
  });

  it('presents a certificate that chains to the Gatehouse root, verified by a client trusting only that root', async () => {
    const r = await call(port, '/healthz', { ca: root });
    expect(r.status).toBe(200);
    expect(r.authorized).toBe(true);
    const leaf = new X509Certificate(r.peer.raw);
    const inter = new X509Certificate(firstCert(gh.identity.ca.chainPem()));
    const rootCert = new X509Certificate(root);
    expect(leaf.checkIssued(inter) && leaf.verify(inter.publicKey)).toBe(true);
    expect(inter.checkIssued(rootCert) && inter.verify(rootCert.publicKey)).toBe(true);
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
  });

  it('is not trusted by a client that does not trust the Gatehouse root', async () => {
    await expect(call(port, '/healthz', { ca: foreign.pem })).rejects.toMatchObject({
      code: expect.stringMatching(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY/),
    });
  });

  it('authenticates an agent by its own Gatehouse-issued certificate: token grant and decide', async () => {
    const tok = await call(port, '/v1/token', { ca: root, ...worker, json: { grant_type: 'client_credentials' } });
    expect(tok.status).toBe(200);
    const { access_token } = JSON.parse(tok.body) as { access_token: string };
    expect((await gh.identity.tokens.verify(access_token)).agent).toBe('worker');
    const d = await call(port, '/v1/decide', {
      ca: root,
      ...worker,
      json: { kind: 'tool_call', agent: 'worker', tool: 'fs.read' },
    });
    expect(d.status).toBe(200);
    expect(JSON.parse(d.body)).toMatchObject({ effect: 'allow' });
    const other = await call(port, '/v1/decide', {
      ca: root,
      ...worker,
      json: { kind: 'tool_call', agent: 'gone', tool: 'fs.read' },
    });
    expect(other.status).toBe(200);
    expect(JSON.parse(other.body)).toMatchObject({
      effect: 'deny',
      reasons: [expect.objectContaining({ code: 'identity.token_subject_mismatch' })],
    });
  });

  it('answers 401 without any credentials', async () => {
    const d = await call(port, '/v1/decide', {
      ca: root,
      json: { kind: 'tool_call', agent: 'worker', tool: 'fs.read' },
    });
    expect(d.status).toBe(401);
    expect(JSON.parse(d.body)).toMatchObject({ error: 'auth.missing' });
  });

  it('refuses a foreign-CA certificate that names the same agent, and a revoked agent certificate', async () => {
    const forged = await foreign.leaf({ uri: 'spiffe://gatehouse.local/agent/worker' });
    const f = await call(port, '/v1/token', { ca: root, ...forged, json: { grant_type: 'client_credentials' } });
    expect(f.status).toBe(401);
    expect(f.body).toMatch(/not issued by this Gatehouse CA/);
    const g = await call(port, '/v1/token', { ca: root, ...revoked, json: { grant_type: 'client_credentials' } });
    expect(g.status).toBe(401);
  });
});

describe('renewal of the Gatehouse-issued certificate', () => {
  it('at half-life the listener switches to a fresh certificate and key without a restart', async () => {
    const first = await gatewayTls(gh, ServerTlsSchema.parse({}), t.dir);
    // Pretend the certificate ends in 2 s, so half-life is 1 s away.
    const app = await buildServer(gh, { tls: { ...first, notAfter: Date.now() + 2000 } });
    servers.push(app);
    const port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    const before = new X509Certificate((await call(port, '/healthz', { ca: root })).peer.raw);
    expect(before.serialNumber).toBe(new X509Certificate(first.options.cert as string).serialNumber);
    let after = before;
    for (let i = 0; i < 50 && after.serialNumber === before.serialNumber; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = new X509Certificate((await call(port, '/healthz', { ca: root })).peer.raw);
    }
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.publicKey.export({ format: 'der', type: 'spki' })).not.toEqual(
      before.publicKey.export({ format: 'der', type: 'spki' }),
    );
    expect(after.checkIssued(new X509Certificate(firstCert(gh.identity.ca.chainPem())))).toBe(true);
  });
});

describe('client_certs: required', () => {
  let port: number;
  beforeAll(async () => {
    port = await serve({ client_certs: 'required' });
  });

  it('an agent certificate gets through, and authenticates the agent', async () => {
    expect((await call(port, '/healthz', { ca: root, ...worker })).status).toBe(200);
    const tok = await call(port, '/v1/token', { ca: root, ...worker, json: { grant_type: 'client_credentials' } });
    expect(tok.status).toBe(200);
  });

  it('no client certificate: no HTTP exchange at all', async () => {
    await expect(call(port, '/healthz', { ca: root })).rejects.toMatchObject({
      code: expect.stringMatching(/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|ECONNRESET/),
    });
  });

  it('a certificate from a foreign CA is refused in the handshake', async () => {
    const forged = await foreign.leaf({ uri: 'spiffe://gatehouse.local/agent/worker' });
    await expect(call(port, '/healthz', { ca: root, ...forged })).rejects.toMatchObject({
      code: expect.stringMatching(/UNKNOWN_CA|ECONNRESET|CERTIFICATE/),
    });
  });

  it('a certificate of a revoked agent is cut off even on routes that need no credentials', async () => {
    await expect(call(port, '/healthz', { ca: root, ...revoked })).rejects.toThrow(/ECONNRESET|socket hang up/);
  });
});

describe('client_certs: off', () => {
  it('does not ask for a certificate: a presented one is not seen by the gateway', async () => {
    const port = await serve({ client_certs: 'off' });
    const d = await call(port, '/v1/decide', {
      ca: root,
      ...worker,
      json: { kind: 'tool_call', agent: 'worker', tool: 'fs.read' },
    });
    expect(d.status).toBe(401);
  });
});

describe('your own certificate and key files', () => {
  it('serves the given certificate and still verifies client certificates against the Gatehouse CA', async () => {
    const own = await foreign.leaf({ server: true });
    writeFileSync(join(t.dir, 'server.crt'), `${own.cert}\n${foreign.pem}`);
    writeFileSync(join(t.dir, 'server.key'), own.key, { mode: 0o600 });
    const port = await serve({ cert_file: 'server.crt', key_file: 'server.key', client_certs: 'required' });
    const r = await call(port, '/v1/token', { ca: foreign.pem, ...worker, json: { grant_type: 'client_credentials' } });
    expect(r.status).toBe(200);
    expect(new X509Certificate(r.peer.raw).fingerprint256).toBe(new X509Certificate(own.cert).fingerprint256);
    await expect(call(port, '/healthz', { ca: root, ...worker })).rejects.toThrow();
    const forged = await foreign.leaf({});
    await expect(call(port, '/healthz', { ca: foreign.pem, ...forged })).rejects.toThrow();
  });

  const startFails = async (files: { cert: string; key: string }, problem: RegExp, which: 'cert' | 'key') => {
    writeFileSync(join(t.dir, 'c.pem'), files.cert);
    writeFileSync(join(t.dir, 'k.pem'), files.key);
    const err = await gatewayTls(gh, ServerTlsSchema.parse({ cert_file: 'c.pem', key_file: 'k.pem' }), t.dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(join(t.dir, which === 'cert' ? 'c.pem' : 'k.pem'));
    expect(msg).toContain(which === 'cert' ? 'server.tls.cert_file' : 'server.tls.key_file');
    expect(msg).toMatch(problem);
  };

  it('a bad key file, a key of another certificate, an encrypted key, a bad or expired certificate fail startup', async () => {
    const good = await foreign.leaf({ server: true });
    const other = await foreign.leaf({ server: true });
    await startFails({ cert: good.cert, key: 'not a key\n' }, /not a PEM private key/, 'key');
    await startFails(
      { cert: good.cert, key: good.key.replace(/[A-Za-z]{8}/, 'AAAAAAAA') },
      /not a PEM private key|does not match/,
      'key',
    );
    await startFails({ cert: good.cert, key: other.key }, /does not match/, 'key');
    // A damaged private scalar behind an intact embedded public key: only a signature shows the mismatch.
    const der = createPrivateKey(good.key).export({ format: 'der', type: 'pkcs8' });
    const at = der.indexOf(Buffer.from([0x02, 0x01, 0x01, 0x04, 0x20])) + 5;
    expect(at).toBeGreaterThan(5);
    der[at + 7]! ^= 0xff;
    const damaged = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
      format: 'pem',
      type: 'pkcs8',
    });
    expect(new X509Certificate(good.cert).checkPrivateKey(createPrivateKey(damaged))).toBe(true);
    await startFails({ cert: good.cert, key: damaged.toString() }, /does not match/, 'key');
    const encrypted = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    await startFails({ cert: good.cert, key: encrypted }, /encrypted/, 'key');
    await startFails({ cert: 'hello\n', key: good.key }, /no PEM certificate/, 'cert');
    const lines = good.cert.split('\n');
    await startFails(
      { cert: [...lines.slice(0, 3), ...lines.slice(5)].join('\n'), key: good.key },
      /not valid PEM/,
      'cert',
    );
    // The last byte of the DER is the end of the signature: the certificate still parses, its signature fails.
    const certDer = new X509Certificate(good.cert).raw;
    certDer[certDer.length - 1]! ^= 0x01;
    const tampered = new X509Certificate(certDer).toString();
    expect(new X509Certificate(tampered).verify(new X509Certificate(foreign.pem).publicKey)).toBe(false);
    await startFails(
      { cert: `${tampered}\n${foreign.pem}`, key: good.key },
      /certificate 1 is not signed by certificate 2/,
      'cert',
    );
    await startFails({ cert: `${foreign.pem}\n${good.cert}`, key: good.key }, /is not signed by/, 'cert');
    const expired = await foreign.leaf({ server: true, notAfter: new Date(Date.now() - 1000) });
    await startFails({ cert: expired.cert, key: expired.key }, /expired/, 'cert');
    const missing = await gatewayTls(
      gh,
      ServerTlsSchema.parse({ cert_file: 'nope.crt', key_file: 'k.pem' }),
      t.dir,
    ).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/nope\.crt: server\.tls\.cert_file: file not found/);
  });
});

describe('server.tls in the configuration', () => {
  const yaml = (tls: string) => `version: 1\nserver:\n  tls: ${tls}\n`;
  it('is absent by default (plain HTTP on loopback), and on once present', async () => {
    const plain = parseConfig('version: 1\n');
    expect(plain.server.tls).toBeUndefined();
    expect(plain.server.host).toBe('127.0.0.1');
    expect(parseConfig(yaml('{}')).server.tls).toMatchObject({ enabled: true, client_certs: 'optional' });
  });
  it('rejects half a key pair, names with cert files, bad modes and bad names, naming the key', async () => {
    expect(() => parseConfig(yaml('{ cert_file: a.pem }'))).toThrow(/server\.tls\.key_file: cert_file and key_file/);
    expect(() => parseConfig(yaml('{ cert_file: a, key_file: b, dns: [x.test] }'))).toThrow(/server\.tls\.dns/);
    expect(() => parseConfig(yaml('{ client_certs: maybe }'))).toThrow(/server\.tls\.client_certs/);
    expect(() => parseConfig(yaml('{ dns: ["bad name"] }'))).toThrow(/server\.tls\.dns\.0/);
    expect(() => parseConfig(yaml('{ ips: ["300.1.1.1"] }'))).toThrow(/server\.tls\.ips\.0/);
    expect(() => parseConfig(yaml('{ cert_lifetime: 1m }'))).toThrow(/between 1h and 90d/);
    expect(() => parseConfig(yaml('{ enabled: true, tls: true }'))).toThrow(/unknown key "tls"/);
  });
  it('knows loopback addresses', async () => {
    for (const h of ['127.0.0.1', '127.8.9.1', '::1', 'localhost']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'gatehouse.internal', '::ffff:10.0.0.1'])
      expect(isLoopback(h)).toBe(false);
  });
});

describe('gatehouse serve (real process)', () => {
  let dir: string;
  let cleanup: () => void;
  let agent: Pem;
  let cliRoot: string;
  const procs: ChildProcess[] = [];

  /** Starts `gatehouse serve ARGS` and resolves with what it printed once it listens, or rejects when it exits. */
  const start = (args: string[]): Promise<{ stderr: string; port: number; proc: ChildProcess }> =>
    new Promise((done, fail) => {
      const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { cwd: dir });
      procs.push(proc);
      let stderr = '';
      proc.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(stderr);
        if (m) done({ stderr, port: Number(m[1]), proc });
      });
      proc.on('exit', (code) => fail(new Error(`serve exited ${code}: ${stderr}`)));
    });
  const stop = (proc: ChildProcess) =>
    new Promise<number | null>((done) => {
      proc.removeAllListeners('exit');
      proc.on('exit', (code) => done(code));
      proc.kill('SIGTERM');
    });

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('gh-tls-cli-'));
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      'version: 1\nserver:\n  tls: { client_certs: required, dns: [gatehouse.test, localhost] }\n' +
        'roles: { worker: { grants: [{ tools: ["fs.read"] }] } }\ntools: { fs.read: { risk: low } }\n',
    );
    expect((await gatehouse(['init'], { cwd: dir })).code).toBe(0);
    const reg = await gatehouse(
      ['agents', 'register', 'worker', '--role', 'worker', '--private-key-out', 'worker.key'],
      {
        cwd: dir,
      },
    );
    expect(reg.code, reg.stderr).toBe(0);
    const cert = await gatehouse(['agents', 'cert', 'worker'], { cwd: dir });
    expect(cert.code, cert.stderr).toBe(0);
    agent = { cert: cert.stdout, key: readFileSync(join(dir, 'worker.key'), 'utf8') };
    cliRoot = cert.stdout.slice(cert.stdout.lastIndexOf('-----BEGIN CERTIFICATE-----'));
  });
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) await stop(p);
    cleanup();
  });

  it('serves HTTPS from server.tls: Gatehouse certificate with the configured names, client certificate required', async () => {
    const s = await start([]);
    expect(s.stderr).toMatch(/listening on https:.*client certificates required/);
    expect(s.stderr).not.toMatch(/without TLS/);
    const r = await call(s.port, '/v1/token', { ca: cliRoot, ...agent, json: { grant_type: 'client_credentials' } });
    expect(r.status).toBe(200);
    expect(new X509Certificate(r.peer.raw).checkHost('gatehouse.test')).toBe('gatehouse.test');
    await expect(call(s.port, '/healthz', { ca: cliRoot })).rejects.toThrow();
    expect(await stop(s.proc)).toBe(0);
  });

  it('flags override the config: --client-certs optional lets a caller without a certificate in', async () => {
    const s = await start(['--client-certs', 'optional']);
    expect((await call(s.port, '/healthz', { ca: cliRoot })).status).toBe(200);
    expect(await stop(s.proc)).toBe(0);
  });

  it('a bad key file is a startup error naming the file and the problem; nothing listens', async () => {
    const own = await foreign.leaf({ server: true });
    writeFileSync(join(dir, 'own.crt'), own.cert);
    writeFileSync(join(dir, 'bad.key'), '-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n');
    const r = await gatehouse(['serve', '--port', '0', '--tls-cert', 'own.crt', '--tls-key', 'bad.key'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'bad.key')}: --tls-key: not a PEM private key`);
    expect(r.stderr).not.toMatch(/listening/);
    const half = await gatehouse(['serve', '--port', '0', '--tls-cert', 'own.crt'], { cwd: dir });
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--tls-key: --tls-cert and --tls-key go together/);
    const mode = await gatehouse(['serve', '--port', '0', '--client-certs', 'sometimes'], { cwd: dir });
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/--client-certs: expected off, optional or required/);
  });

  it('a key file named in the config that cannot be used stops startup with the config key in the message', async () => {
    const sub = tempDir('gh-tls-cfg-');
    try {
      writeFileSync(
        join(sub.dir, 'gatehouse.yaml'),
        'version: 1\nserver:\n  tls: { cert_file: s.crt, key_file: s.key }\n',
      );
      const r = await gatehouse(['serve', '--port', '0'], { cwd: sub.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${join(sub.dir, 's.crt')}: server.tls.cert_file: file not found`);
    } finally {
      sub.cleanup();
    }
  });

  it('warns when it binds a non-loopback address without TLS', async () => {
    writeFileSync(join(dir, 'plain.yaml'), 'version: 1\n');
    const s = await start(['--config', 'plain.yaml', '--host', '0.0.0.0']);
    expect(s.stderr).toMatch(/WARNING: listening on 0\.0\.0\.0 without TLS/);
    expect(await stop(s.proc)).toBe(0);
    const quiet = await start(['--config', 'plain.yaml', '--host', '127.0.0.1']);
    expect(quiet.stderr).not.toMatch(/WARNING: listening/);
    expect(await stop(quiet.proc)).toBe(0);
  });
});
