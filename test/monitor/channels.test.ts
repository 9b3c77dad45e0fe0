import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeliverySchema, MonitorSchema } from '../../src/config/sections/monitor.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { AlertDispatcher } from '../../src/monitor/channels/dispatcher.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore, testStoreOptions } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const SECRET = 'whsec-test-0123456789';

/** A real HTTP receiver: answers with the next status of `plan` (then 200) and records what it got. */
class Receiver {
  server: Server;
  got: Array<{ body: string; headers: IncomingMessage['headers'] }> = [];
  plan: number[] = [];
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.got.push({ body, headers: req.headers });
        res.writeHead(this.plan.shift() ?? 200).end();
      });
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** What a receiver does: recompute the HMAC over "t.body" and compare in constant time. */
function verify(sig: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig ?? '');
  if (!m) return false;
  const want = createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

describe('alert delivery: webhook with HMAC, retries with backoff, dead letters', () => {
  let rx: Receiver;
  let url: string;
  let store: Store;
  let cleanup: () => void;
  let now = 1_000_000;
  beforeEach(async () => {
    rx = new Receiver();
    url = await rx.listen();
    const t = tempDir();
    cleanup = t.cleanup;
    store = await openTestStore(join(t.dir, 'db.sqlite'));
    now = 1_000_000;
  });
  afterEach(async () => {
    await store.close();
    await rx.close();
    cleanup();
  });
  const dispatcher = (attempts: number) =>
    AlertDispatcher.open({
      channels: [{ kind: 'webhook', name: 'hook', url, secret_env: 'HOOK_SECRET' }],
      delivery: DeliverySchema.parse({ attempts, backoff: 1000, max_backoff: 4000 }),
      store,
      now: () => now,
      env: { HOOK_SECRET: SECRET },
      random: () => 1,
    });
  const msg = { id: 'alert-7', kind: 'alert' as const, rule: 'deny-burst', agent: 'a1', summary: 's', seq: 7, ts: 'x' };

  it('retries a failing receiver with doubling backoff, then delivers a verifiable, signed body once', async () => {
    rx.plan = [503, 500];
    const d = await dispatcher(5);
    expect(await d.enqueue(msg)).toBe(1);
    expect(await d.enqueue(msg)).toBe(0);
    await d.run();
    let row = (await d.list())[0]!;
    expect(row).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAt: now + 1000,
      lastError: expect.stringMatching(/HTTP 503/),
    });
    await d.run();
    expect(rx.got).toHaveLength(1);
    now += 1000;
    await d.run();
    row = (await d.list())[0]!;
    expect(row).toMatchObject({ status: 'pending', attempts: 2, nextAt: now + 2000 });
    now += 2000;
    await d.run();
    expect((await d.list())[0]).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(rx.got).toHaveLength(3);
    const last = rx.got[2]!;
    expect(verify(last.headers['gatehouse-signature'] as string, last.body)).toBe(true);
    expect(verify(last.headers['gatehouse-signature'] as string, last.body.replace('a1', 'a2'))).toBe(false);
    expect(last.headers['gatehouse-delivery']).toBe('alert-7:hook');
    expect(JSON.parse(last.body)).toMatchObject({ rule: 'deny-burst', agent: 'a1' });
    expect(last.body).not.toContain(SECRET);
  });

  it('dead-letters after the last attempt, and on a 4xx at once; an operator retry re-queues it', async () => {
    rx.plan = [500, 500, 400];
    const d = await dispatcher(2);
    await d.enqueue(msg);
    await d.run();
    now += 10_000;
    await d.run();
    expect(await d.list('dead')).toHaveLength(1);
    expect(await d.deadLetters()).toBe(1);
    expect(await d.retry('alert-7:hook')).toBe(true);
    await d.run();
    expect((await d.list('dead'))[0]).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/HTTP 400/) });
    expect(await d.retry('nope')).toBe(false);
  });

  it('a missing secret is a dead letter naming the variable, never a send without a signature', async () => {
    const d = await AlertDispatcher.open({
      channels: [{ kind: 'webhook', name: 'hook', url, secret_env: 'UNSET_SECRET_VAR' }],
      delivery: DeliverySchema.parse({}),
      store,
      now: () => now,
      env: {},
    });
    await d.enqueue(msg);
    await d.run();
    expect(rx.got).toHaveLength(0);
    expect((await d.list('dead'))[0]!.lastError).toMatch(/UNSET_SECRET_VAR/);
  });

  it('the config validates channels and escalation targets', () => {
    expect(
      MonitorSchema.safeParse({ channels: [{ kind: 'webhook', name: 'h', url: 'ftp://x', secret_env: 'S' }] }).success,
    ).toBe(false);
    expect(MonitorSchema.safeParse({ delivery: { escalate_to: ['nobody'] } }).success).toBe(false);
    expect(
      MonitorSchema.safeParse({
        channels: [{ kind: 'slack', name: 's', url_env: 'SLACK_URL' }],
        delivery: { escalate_to: ['s'] },
      }).success,
    ).toBe(true);
  });
});

describe('end to end: an alert opens an incident and is delivered; unacknowledged, it escalates', () => {
  let rx: Receiver;
  let gh: Gatehouse;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let cleanup: () => void;
  let op: string;
  let base: string;
  beforeAll(async () => {
    rx = new Receiver();
    const url = await rx.listen();
    const t = tempDir();
    cleanup = t.cleanup;
    gh = await Gatehouse.open({
      ...testStoreOptions(),
      config: {
        version: 1,
        identity: { agents: { rogue: { roles: [] } } },
        tools: { 'fs.read': { risk: 'low' } },
        monitor: {
          alerts: [{ name: 'two-denies', when: 'denies_per_window >= 2', action: 'alert' }],
          channels: [
            { kind: 'webhook', name: 'soc', url, secret_env: 'HOOK_SECRET', rules: ['two-denies'] },
            { kind: 'webhook', name: 'pager', url, secret_env: 'HOOK_SECRET', rules: ['none'] },
          ],
          delivery: { escalate_after: 0, escalate_to: ['pager'] },
        },
      },
      data: t.dir,
    });
    app = await buildServer(gh, { env: { HOOK_SECRET: SECRET } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    op = (await (await OperatorDirectory.open(gh.store, () => Date.now())).add('ops')).token;
  });
  afterAll(async () => {
    await app.close();
    await gh.close();
    await rx.close();
    cleanup();
  });

  it('delivers to the routed channel, escalates to the escalation channel, and shows both in the console', async () => {
    await gh.decide({ kind: 'tool_call', agent: 'rogue', tool: 'fs.read' });
    await gh.decide({ kind: 'tool_call', agent: 'rogue', tool: 'fs.read' });
    await expect.poll(() => rx.got.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const bodies = rx.got.map((g) => JSON.parse(g.body) as { kind: string; rule: string; incident: string });
    expect(bodies.map((b) => b.kind).sort()).toEqual(['alert', 'escalation']);
    for (const g of rx.got) expect(verify(g.headers['gatehouse-signature'] as string, g.body)).toBe(true);
    const auth = { authorization: `Bearer ${op}` };
    const inc = (await (await fetch(`${base}/v1/incidents`, { headers: auth })).json()) as {
      incidents: Array<{ id: string; state: string; rule: string; escalatedAt: number | null }>;
    };
    expect(inc.incidents).toEqual([expect.objectContaining({ rule: 'two-denies', state: 'open' })]);
    expect(inc.incidents[0]!.escalatedAt).not.toBeNull();
    const deliveries = (await (await fetch(`${base}/v1/alerts/deliveries`, { headers: auth })).json()) as {
      deliveries: Array<{ channel: string; status: string }>;
    };
    expect(deliveries.deliveries.map((d) => `${d.channel}:${d.status}`).sort()).toEqual([
      'pager:delivered',
      'soc:delivered',
    ]);
  }, 30_000);
});
