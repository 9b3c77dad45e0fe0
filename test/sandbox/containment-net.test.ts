import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, makeSandbox, workspace } from './helpers.js';

// Containment class 3: no network and no host sockets; in allowlist mode only the allowed target passes.
let http: HttpServer;
let port = 0;
let abstract: Server;
const abstractName = `\0gh-sbx-test-${process.pid}`;
let abstractHits = 0;

beforeAll(async () => {
  http = createHttpServer((_req, res) => res.end('host-server-reached'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  port = (http.address() as AddressInfo).port;
  abstract = createServer((c) => {
    abstractHits++;
    c.end('abstract-reached');
  });
  await new Promise<void>((r) => abstract.listen(abstractName, () => r()));
});
afterAll(async () => {
  await new Promise((r) => http.close(r));
  await new Promise((r) => abstract.close(r));
  cleanup();
});

describe('3. network: none', () => {
  const { sb } = makeSandbox();
  it('only lo exists; host TCP, DNS and host abstract sockets fail', async () => {
    const r = await sb.run(
      [
        'bash',
        '-c',
        [
          'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "',
          `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo TCP-OK`,
          'getent hosts registry.npmjs.org && echo DNS-OK',
          `python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect(b'\\0gh-sbx-test-${process.pid}'); print('ABSTRACT-OK')" 2>/dev/null`,
          `curl -sS -m 3 http://127.0.0.1:${port}/ 2>/dev/null && echo CURL-OK`,
          'echo end',
        ].join('\n'),
      ],
      { workspace: workspace() },
    );
    expect(r.stdout).toBe('lo\nend\n');
    expect(abstractHits).toBe(0);
  });
});

describe('3. network: allowlist through the egress proxy', () => {
  it('lets the listed target through, answers 403 to everything else, and audits each connection', async () => {
    // The listed IP literal is an operator choice; names resolving to loopback and unlisted targets are refused.
    const { sb: s2, audit: a2 } = makeSandbox({
      profiles: {
        web: {
          network: 'allowlist',
          allow_hosts: [`127.0.0.1:${port}`, `localhost:${port}`, '169.254.169.254:80'],
        },
      },
    });
    const curl = (url: string) =>
      `curl -sS -m 5 -p -x http://127.0.0.1:3128 -o /dev/null -w '%{http_code} %{http_connect}\\n' ${url} 2>/dev/null; true`;
    const r = await s2.run(
      [
        'bash',
        '-c',
        [
          `curl -sS -m 5 -p http://127.0.0.1:${port}/`,
          'echo',
          curl(`http://localhost:${port}/`),
          curl('http://169.254.169.254/'),
          curl(`http://10.0.0.1:${port}/`),
          curl('https://example.com/'),
          // An in-sandbox relay straight to the proxy socket meets the same checks.
          `python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('/run/gatehouse/egress.sock'); s.sendall(b'CONNECT 10.1.2.3:443 HTTP/1.1\\r\\n\\r\\n'); print(s.recv(12).decode())"`,
        ].join('\n'),
      ],
      { profile: 'web', workspace: workspace() },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('host-server-reached');
    expect(lines.slice(1, 5)).toEqual(['000 403', '000 403', '000 403', '000 403']);
    expect(lines[5]).toBe('HTTP/1.1 403');
    const egress = a2.events.filter((e) => e.type.startsWith('sandbox.egress'));
    const started = a2.events.find((e) => e.type === 'sandbox.started' && e.data?.profile === 'web');
    expect(egress.length).toBeGreaterThanOrEqual(6);
    for (const e of egress) expect(e.data?.sandbox).toBe(started?.data?.sandbox);
    const codes = egress.filter((e) => e.type === 'sandbox.egress_denied').map((e) => e.data?.code);
    expect(codes).toEqual(
      expect.arrayContaining(['egress.private_address', 'egress.ip_literal', 'egress.not_allowed']),
    );
    expect(egress.some((e) => e.type === 'sandbox.egress_allowed' && e.data?.host === '127.0.0.1')).toBe(true);
  });
});
