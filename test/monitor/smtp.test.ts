import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelSchema } from '../../src/config/sections/monitor.js';
import { type AlertMessage, DeliveryError, deliver } from '../../src/monitor/channels/deliver.js';
import { tempDir } from '../helpers/tmp.js';

const USER = 'alerts@example.com';
const PASSWORD = 'smtp-pass-9f8e7d6c5b4a';

interface Received {
  tls: boolean;
  auth?: string;
  from?: string;
  to: string[];
  data?: string;
}

/**
 * A real SMTP relay over TCP, speaking just enough of RFC 5321/3207/4954 for nodemailer: EHLO, STARTTLS (a real
 * TLS upgrade of the socket), AUTH PLAIN, MAIL, RCPT, DATA, QUIT. `starttls: false` plays a relay that cannot
 * upgrade, which must get nothing.
 */
class Relay {
  readonly got: Received[] = [];
  private readonly server: Server;
  constructor(
    private readonly tlsFiles: { key: string; cert: string },
    private readonly starttls: boolean,
  ) {
    this.server = createServer((s) => this.session(s));
  }

  private session(raw: Socket): void {
    const rec: Received = { tls: false, to: [] };
    let sock: Socket | TLSSocket = raw;
    let buf = '';
    let inData = false;
    const send = (line: string) => sock.write(`${line}\r\n`);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          rec.data = buf.slice(0, end);
          buf = buf.slice(end + 5);
          inData = false;
          this.got.push(rec);
          send('250 2.0.0 queued');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          const ext = rec.tls ? ['AUTH PLAIN'] : this.starttls ? ['STARTTLS'] : ['AUTH PLAIN'];
          sock.write(
            `250-relay.test\r\n${ext.map((e, i) => `250${i === ext.length - 1 ? ' ' : '-'}${e}`).join('\r\n')}\r\n`,
          );
        } else if (verb === 'STARTTLS' && this.starttls && !rec.tls) {
          send('220 2.0.0 ready');
          sock.removeListener('data', onData);
          const secure = new TLSSocket(raw, { isServer: true, key: this.tlsFiles.key, cert: this.tlsFiles.cert });
          secure.on('error', () => {});
          secure.on('data', onData);
          sock = secure;
          rec.tls = true;
        } else if (verb === 'AUTH') {
          rec.auth = Buffer.from(line.split(' ')[2] ?? '', 'base64').toString('utf8');
          send(rec.auth === `\0${USER}\0${PASSWORD}` ? '235 2.7.0 ok' : '535 5.7.8 bad credentials');
        } else if (verb === 'MAIL') {
          rec.from = line;
          send('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          rec.to.push(line);
          send('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          send('354 go ahead');
        } else if (verb === 'QUIT') {
          send('221 2.0.0 bye');
          sock.end();
        } else send('502 5.5.2 not implemented');
      }
    };
    raw.on('error', () => {});
    raw.on('data', onData);
    send('220 relay.test ESMTP');
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const MSG: AlertMessage = {
  id: 'a-17-mail',
  kind: 'quarantine',
  rule: 'denies_burst',
  agent: 'mailer',
  summary: 'agent mailer quarantined after 40 denials in 60 s',
  seq: 17,
  ts: '2026-12-07T11:00:00.000Z',
};
const ENV = { SMTP_USER: USER, SMTP_PASS: PASSWORD };
const CTX = { env: ENV, now: () => Date.now(), timeoutMs: 5000 };

let dir: string;
let cleanup: () => void;
let files: { key: string; cert: string; certPath: string; otherCertPath: string };

/** A self-signed certificate for 127.0.0.1, made by openssl (Debian's, present wherever the suite runs). */
function selfSigned(name: string): { key: string; cert: string; certPath: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8'), certPath: cert };
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('gh-smtp-'));
  const relay = selfSigned('relay');
  files = { ...relay, otherCertPath: selfSigned('other').certPath };
});
afterAll(() => cleanup());

function channel(port: number, caFile: string) {
  return ChannelSchema.parse({
    kind: 'email',
    name: 'oncall',
    host: '127.0.0.1',
    port,
    user_env: 'SMTP_USER',
    password_env: 'SMTP_PASS',
    ca_file: caFile,
    from: 'gatehouse@example.com',
    to: ['oncall@example.com'],
  });
}

describe('email alert channel against a real SMTP relay', () => {
  it('upgrades with STARTTLS, authenticates, and delivers the alert with its delivery id', async () => {
    const relay = new Relay(files, true);
    const port = await relay.listen();
    try {
      await deliver(channel(port, files.certPath), MSG, CTX);
      expect(relay.got).toHaveLength(1);
      const got = relay.got[0]!;
      expect(got.tls).toBe(true);
      expect(got.auth).toBe(`\0${USER}\0${PASSWORD}`);
      expect(got.from).toContain('gatehouse@example.com');
      expect(got.to.join()).toContain('oncall@example.com');
      expect(got.data).toMatch(/^Subject: \[gatehouse\] quarantine: denies_burst \(mailer\)$/m);
      expect(got.data).toMatch(/^Gatehouse-Delivery: a-17-mail$/m);
      expect(got.data).toContain('agent mailer quarantined after 40 denials in 60 s');
    } finally {
      await relay.close();
    }
  });

  it('sends nothing to a relay that cannot upgrade to TLS, and the retryable error carries no password', async () => {
    const relay = new Relay(files, false);
    const port = await relay.listen();
    try {
      const err = await deliver(channel(port, files.certPath), MSG, CTX).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as DeliveryError).retryable).toBe(true);
      expect(String((err as Error).message)).not.toContain(PASSWORD);
      expect(relay.got).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });

  it('refuses a relay whose certificate the configured CA did not issue', async () => {
    const relay = new Relay(files, true);
    const port = await relay.listen();
    try {
      const err = await deliver(channel(port, files.otherCertPath), MSG, CTX).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect(relay.got).toHaveLength(0);
    } finally {
      await relay.close();
    }
  });

  it('fails without retrying when the password variable is missing or the ca_file unreadable, naming them', async () => {
    const ch = channel(1, files.certPath);
    const noPass = await deliver(ch, MSG, { ...CTX, env: { SMTP_USER: USER } }).catch((e: unknown) => e);
    expect((noPass as DeliveryError).retryable).toBe(false);
    expect((noPass as Error).message).toContain('SMTP_PASS');
    const noCa = await deliver(channel(1, join(dir, 'missing.pem')), MSG, CTX).catch((e: unknown) => e);
    expect((noCa as DeliveryError).retryable).toBe(false);
    expect((noCa as Error).message).toContain('missing.pem');
  });
});
