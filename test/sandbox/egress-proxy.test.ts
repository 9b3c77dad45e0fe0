import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EgressEvent, EgressProxy, isIpLike, isNonPublic, parseRule } from '../../src/sandbox/egress-proxy.js';
import { cleanup, tempDir } from './helpers.js';

let upstream: Server;
let upstreamPort = 0;
beforeAll(async () => {
  // An echo server standing in for the internet.
  upstream = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  upstreamPort = (upstream.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => upstream.close(r));
  cleanup();
});

const proxies: EgressProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

async function start(opts: Partial<ConstructorParameters<typeof EgressProxy>[0]> & { dns?: Record<string, string[]> }) {
  const events: EgressEvent[] = [];
  const resolved: string[] = [];
  const proxy = new EgressProxy({
    sandbox: 'sb1',
    allow: [],
    maxConnectionsPerHour: 100,
    maxBytesPerHour: 1 << 20,
    maxConcurrent: 4,
    audit: (e) => {
      events.push(e);
    },
    resolve: async (h) => {
      resolved.push(h);
      const a = opts.dns?.[h];
      if (!a) throw new Error('ENOTFOUND');
      return a;
    },
    // Every "public" address is really our local echo server.
    dial: (_a, _p) => connect({ host: '127.0.0.1', port: upstreamPort }),
    ...opts,
  });
  const sock = join(tempDir(), 'egress.sock');
  await proxy.listen(sock);
  proxies.push(proxy);
  return { proxy, sock, events, resolved };
}

function request(sock: string, head: string, payload?: string): Promise<string> {
  return new Promise((resolve) => {
    const c: Socket = connect(sock);
    let data = '';
    c.on('data', (d) => {
      data += d.toString();
      if (payload && data.startsWith('HTTP/1.1 200') && data.endsWith(payload)) c.end();
    });
    c.on('close', () => resolve(data));
    c.on('error', () => resolve(data));
    c.write(head);
    if (payload) c.write(payload);
  });
}

describe('egress proxy', () => {
  it('tunnels an allowed host and audits open and close with the sandbox id', async () => {
    const { sock, events } = await start({
      allow: ['api.example.com:443'],
      dns: { 'api.example.com': ['93.184.216.34'] },
    });
    const out = await request(
      sock,
      'CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n',
      'ping',
    );
    expect(out).toBe('HTTP/1.1 200 Connection Established\r\n\r\nping');
    await new Promise((r) => setTimeout(r, 20));
    expect(events.map((e) => [e.decision, e.code, e.phase, e.sandbox])).toEqual([
      ['allow', 'egress.allowed', 'connect', 'sb1'],
      ['allow', 'egress.closed', 'close', 'sb1'],
    ]);
    expect(events[1]).toMatchObject({ bytesOut: 4, bytesIn: 4, address: '93.184.216.34' });
  });

  it('checks the allowlist before resolving: denied names are never looked up', async () => {
    const { sock, resolved, events } = await start({
      allow: ['api.example.com:443'],
      dns: { 'evil.com': ['1.2.3.4'] },
    });
    expect(await request(sock, 'CONNECT evil.com:443 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 403 /);
    expect(await request(sock, 'CONNECT api.example.com:8443 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 403 /);
    expect(await request(sock, 'CONNECT sub.api.example.com:443 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 403 /);
    expect(resolved).toEqual([]);
    expect(events.every((e) => e.decision === 'deny' && e.code === 'egress.not_allowed')).toBe(true);
  });

  it('refuses unlisted IP literals in every spelling, and metadata addresses even when listed', async () => {
    const { sock, events } = await start({ allow: ['169.254.169.254:80', '[::1]:443'] });
    for (const t of [
      '1.2.3.4:443',
      '2130706433:443',
      '0x7f.1:443',
      '127.1:443',
      '[fe80::1]:443',
      '169.254.169.254:80',
    ]) {
      expect(await request(sock, `CONNECT ${t} HTTP/1.1\r\n\r\n`), t).toMatch(/^HTTP\/1.1 403 /);
    }
    expect(events.every((e) => e.code === 'egress.ip_literal')).toBe(true);
  });

  it('refuses names that resolve to loopback, private, link-local or metadata addresses (rebinding)', async () => {
    const { sock, events } = await start({
      allow: ['*.example.com:443'],
      dns: {
        'a.example.com': ['127.0.0.1'],
        'b.example.com': ['10.1.2.3'],
        'c.example.com': ['93.184.216.34', '169.254.169.254'],
        'd.example.com': ['::ffff:192.168.1.1'],
        'e.example.com': ['fd00::1'],
      },
    });
    for (const h of ['a', 'b', 'c', 'd', 'e']) {
      expect(await request(sock, `CONNECT ${h}.example.com:443 HTTP/1.1\r\n\r\n`), h).toMatch(/^HTTP\/1.1 403 /);
    }
    expect(events.map((e) => e.code)).toEqual(Array(5).fill('egress.private_address'));
  });

  it('refuses other methods, malformed targets and oversized heads', async () => {
    const { sock } = await start({ allow: ['api.example.com:443'] });
    expect(await request(sock, 'GET http://api.example.com/ HTTP/1.1\r\n\r\n')).toMatch(
      /^HTTP\/1.1 403 .*\r\n\r\n.*only CONNECT/s,
    );
    expect(await request(sock, 'CONNECT api.example.com HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 403 /);
    expect(await request(sock, 'CONNECT a_b.example.com:443 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1.1 403 /);
    expect(await request(sock, `CONNECT api.example.com:443 HTTP/1.1\r\nX: ${'a'.repeat(9000)}`)).toMatch(
      /^HTTP\/1.1 403 /,
    );
  });

  it('caps connections per hour and bytes per hour', async () => {
    const dns = { 'api.example.com': ['93.184.216.34'] };
    const a = await start({ allow: ['api.example.com:443'], dns, maxConnectionsPerHour: 2 });
    const head = 'CONNECT api.example.com:443 HTTP/1.1\r\n\r\n';
    expect(await request(a.sock, head, 'x')).toMatch(/^HTTP\/1.1 200/);
    expect(await request(a.sock, head, 'x')).toMatch(/^HTTP\/1.1 200/);
    expect(await request(a.sock, head, 'x')).toMatch(/^HTTP\/1.1 403 .*connection budget/s);
    const b = await start({ allow: ['api.example.com:443'], dns, maxBytesPerHour: 1000 });
    const big = 'y'.repeat(2000);
    const out = await request(b.sock, head, big);
    expect(out.length).toBeLessThan(40 + 2000);
    expect(await request(b.sock, head, 'x')).toMatch(/^HTTP\/1.1 403 .*byte budget/s);
  });
});

describe('address classification', () => {
  it('knows public from non-public', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.5',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fc00::1',
      '::ffff:10.0.0.1',
      '224.0.0.1',
    ]) {
      expect(isNonPublic(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) expect(isNonPublic(a), a).toBe(false);
  });

  it('treats numeric host spellings as IP literals and parses rules', () => {
    for (const h of ['1.2.3.4', '2130706433', '0x7f000001', '127.1', '::1']) expect(isIpLike(h), h).toBe(true);
    for (const h of ['example.com', 'a1.b2.io']) expect(isIpLike(h), h).toBe(false);
    expect(parseRule('*.github.com')).toEqual({ host: 'github.com', wildcard: true, port: 443 });
    expect(parseRule('[::1]:8080')).toEqual({ host: '::1', wildcard: false, port: 8080 });
  });
});
