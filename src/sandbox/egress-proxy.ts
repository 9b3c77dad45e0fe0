import { lookup } from 'node:dns/promises';
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';

/** One egress decision, handed to the caller for auditing. Never carries payload bytes. */
export interface EgressEvent {
  sandbox: string;
  host: string;
  port: number;
  decision: 'allow' | 'deny';
  code: string;
  reason: string;
  address?: string;
  bytesIn?: number;
  bytesOut?: number;
  phase: 'connect' | 'close';
}

export interface EgressProxyOptions {
  sandbox: string;
  /** `host[:port]`, `*.domain[:port]` or `[v6][:port]`; port 443 when absent. */
  allow: readonly string[];
  maxConnectionsPerHour: number;
  maxBytesPerHour: number;
  maxConcurrent: number;
  /** Called for every connection attempt (phase `connect`) and every close of an allowed one. */
  audit: (e: EgressEvent) => void | Promise<void>;
  /** Name resolution; injectable so tests can model rebinding without a network. */
  resolve?: (host: string) => Promise<string[]>;
  /** TCP connect; injectable for tests. */
  dial?: (address: string, port: number) => Socket;
}

interface Rule {
  host: string;
  wildcard: boolean;
  port: number;
}

const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);
const MAX_HEAD = 8192;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function parseRule(s: string): Rule {
  let host: string;
  let port = 443;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!.toLowerCase();
    if (v6[2]) port = Number(v6[2]);
  } else {
    const i = s.lastIndexOf(':');
    host = (i >= 0 ? s.slice(0, i) : s).toLowerCase().replace(/\.$/, '');
    if (i >= 0) port = Number(s.slice(i + 1));
  }
  const wildcard = host.startsWith('*.');
  return { host: wildcard ? host.slice(2) : host, wildcard, port };
}

/** Numeric-looking hosts (`2130706433`, `0x7f.1`, `127.1`) are IP literals to the resolver, so they count as such. */
export function isIpLike(host: string): boolean {
  if (isIP(host)) return true;
  const last = host.split('.').pop() ?? '';
  return /^(0x[0-9a-f]*|[0-9]+)$/i.test(last);
}

/** Loopback, private, link-local, CGNAT, multicast, reserved or metadata: never reachable by resolution. */
export function isNonPublic(address: string): boolean {
  if (METADATA.has(address)) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(address);
  } catch {
    return true;
  }
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return isNonPublic(v6.toIPv4Address().toString());
    return v6.range() !== 'unicast';
  }
  return addr.range() !== 'unicast';
}

/**
 * A per-sandbox HTTP CONNECT proxy on a Unix socket. Order of checks: syntax, allowlist by name and port
 * (before any DNS, so denied names are never resolved and cannot leak through DNS), IP literal policy,
 * connection and byte budgets, then resolution, refusing any non-public address, and a connect to the
 * checked address itself (no second resolution, so no DNS rebinding). Denials get `403`.
 */
export class EgressProxy {
  private server: Server | undefined;
  private readonly rules: Rule[];
  private readonly started: number[] = [];
  private bytesWindow: { at: number; n: number }[] = [];
  private active = new Set<Socket>();

  constructor(private readonly opts: EgressProxyOptions) {
    this.rules = opts.allow.map(parseRule);
  }

  /** Listens on `socketPath` (mode 0666: the sandbox uid must connect; the parent directory guards it). */
  async listen(socketPath: string): Promise<void> {
    const server = createServer((c) => this.handle(c));
    server.maxConnections = this.opts.maxConcurrent * 2;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o666);
    this.server = server;
    this.socketPath = socketPath;
  }

  private socketPath: string | undefined;

  async close(): Promise<void> {
    for (const s of this.active) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }

  private allowedByName(host: string, port: number): boolean {
    return this.rules.some((r) => r.port === port && (r.wildcard ? host.endsWith(`.${r.host}`) : host === r.host));
  }

  private bytesUsed(now: number): number {
    this.bytesWindow = this.bytesWindow.filter((b) => now - b.at < 3_600_000);
    return this.bytesWindow.reduce((s, b) => s + b.n, 0);
  }

  private handle(client: Socket): void {
    let head = Buffer.alloc(0);
    client.on('error', () => client.destroy());
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) this.refuse(client, '', 0, 'egress.bad_request', 'request head too large');
        return;
      }
      client.off('data', onData);
      client.pause();
      const rest = head.subarray(end + 4);
      void this.connectRequest(client, head.subarray(0, end).toString('latin1'), rest);
    };
    client.on('data', onData);
  }

  private async connectRequest(client: Socket, head: string, rest: Buffer): Promise<void> {
    const line = head.split('\r\n', 1)[0] ?? '';
    const m = /^CONNECT (\S{1,300}) HTTP\/1\.[01]$/.exec(line);
    if (!m) {
      this.refuse(client, '', 0, 'egress.method', 'only CONNECT is supported (use https:// through the proxy)');
      return;
    }
    const target = m[1]!;
    const t = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(target) ?? /^([^:[\]]+):(\d{1,5})$/.exec(target);
    if (!t) {
      this.refuse(client, target, 0, 'egress.bad_target', 'CONNECT target must be host:port');
      return;
    }
    const host = t[1]!.toLowerCase().replace(/\.$/, '');
    const port = Number(t[2]);
    if (port < 1 || port > 65535) {
      this.refuse(client, host, port, 'egress.bad_target', 'port out of range');
      return;
    }
    const ipLike = isIpLike(host);
    if (!ipLike && !HOSTNAME.test(host)) {
      this.refuse(client, host, port, 'egress.bad_target', 'invalid host name');
      return;
    }
    if (!this.allowedByName(host, port)) {
      this.refuse(
        client,
        host,
        port,
        ipLike ? 'egress.ip_literal' : 'egress.not_allowed',
        ipLike ? 'IP literal not on the allowlist' : 'host:port not on the allowlist',
      );
      return;
    }
    if (ipLike && (!isIP(host) || METADATA.has(host))) {
      this.refuse(client, host, port, 'egress.ip_literal', 'non-canonical or metadata IP literal');
      return;
    }
    const now = Date.now();
    while (this.started.length > 0 && now - this.started[0]! >= 3_600_000) this.started.shift();
    if (this.started.length >= this.opts.maxConnectionsPerHour) {
      this.refuse(client, host, port, 'egress.rate', 'connection budget for this hour is spent');
      return;
    }
    if (this.active.size >= this.opts.maxConcurrent) {
      this.refuse(client, host, port, 'egress.concurrency', 'too many open connections');
      return;
    }
    if (this.bytesUsed(now) >= this.opts.maxBytesPerHour) {
      this.refuse(client, host, port, 'egress.bytes', 'byte budget for this hour is spent');
      return;
    }
    let address: string;
    if (isIP(host)) address = host;
    else {
      let addrs: string[];
      try {
        addrs = await (this.opts.resolve ?? defaultResolve)(host);
      } catch {
        this.refuse(client, host, port, 'egress.dns', 'name does not resolve');
        return;
      }
      const bad = addrs.find(isNonPublic);
      if (addrs.length === 0 || bad) {
        this.refuse(
          client,
          host,
          port,
          'egress.private_address',
          `resolves to a non-public address ${bad ?? ''}`.trim(),
        );
        return;
      }
      address = addrs[0]!;
    }
    this.started.push(now);
    await this.opts.audit({
      sandbox: this.opts.sandbox,
      host,
      port,
      decision: 'allow',
      code: 'egress.allowed',
      reason: 'on the allowlist',
      address,
      phase: 'connect',
    });
    this.tunnel(client, host, port, address, rest);
  }

  private tunnel(client: Socket, host: string, port: number, address: string, rest: Buffer): void {
    const upstream = (this.opts.dial ?? ((a, p) => connect({ host: a, port: p })))(address, port);
    this.active.add(client);
    let bytesIn = 0;
    let bytesOut = 0;
    let closed = false;
    const account = (n: number) => {
      this.bytesWindow.push({ at: Date.now(), n });
      if (this.bytesUsed(Date.now()) > this.opts.maxBytesPerHour) {
        client.destroy();
        upstream.destroy();
      }
    };
    const finish = () => {
      if (closed) return;
      closed = true;
      this.active.delete(client);
      client.destroy();
      upstream.destroy();
      void this.opts.audit({
        sandbox: this.opts.sandbox,
        host,
        port,
        decision: 'allow',
        code: 'egress.closed',
        reason: 'connection closed',
        address,
        bytesIn,
        bytesOut,
        phase: 'close',
      });
    };
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (rest.length > 0) {
        bytesOut += rest.length;
        account(rest.length);
        upstream.write(rest);
      }
      // pipe() carries backpressure; the extra listeners only count.
      client.on('data', (d: Buffer) => {
        bytesOut += d.length;
        account(d.length);
      });
      upstream.on('data', (d: Buffer) => {
        bytesIn += d.length;
        account(d.length);
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      if (!client.destroyed && bytesIn === 0 && bytesOut === 0) {
        client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
      finish();
    });
    upstream.on('close', finish);
    client.on('close', finish);
  }

  private refuse(client: Socket, host: string, port: number, code: string, reason: string): void {
    void this.opts.audit({ sandbox: this.opts.sandbox, host, port, decision: 'deny', code, reason, phase: 'connect' });
    const body = `gatehouse egress denied: ${reason}\n`;
    client.end(
      `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

async function defaultResolve(host: string): Promise<string[]> {
  const r = await lookup(host, { all: true, verbatim: true });
  return r.map((a) => a.address);
}
