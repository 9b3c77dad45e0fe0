import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Approvals } from '../../src/approvals/store.js';
import { signWebhook, verifyWebhook } from '../../src/approvals/webhook.js';
import { ApprovalsSchema } from '../../src/config/sections/policy.js';
import { type Action, ActionSchema, bindingHash } from '../../src/core/action.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';

const MIN = 60_000;

function action(args: Record<string, unknown>, agent = 'a1'): Action {
  return ActionSchema.parse({ kind: 'tool_call', agent, session: 's1', tool: 'email.send', args });
}

describe('approvals store', () => {
  let store: Store;
  let clock: ManualClock;
  let approvals: Approvals;
  const audit: Array<{ type: string; actor?: string; data?: Record<string, unknown> }> = [];
  beforeEach(async () => {
    store = await openTestStore();
    clock = new ManualClock(Date.UTC(2026, 0, 5, 10));
    audit.length = 0;
    approvals = await Approvals.open(
      store,
      clock,
      ApprovalsSchema.parse({ max_pending_per_agent: 3, max_requests_per_hour: 4 }),
      {
        append: async (e) => void audit.push(e),
      },
    );
  });
  afterEach(() => store.close());

  const open = (a: Action) =>
    approvals.request({ action: a, hash: bindingHash(a), tier: 'high', reasons: [], epoch: 7 });

  it('binds to the canonical action hash: key order does not matter, any change does', () => {
    expect(bindingHash(action({ to: 'x', body: 'y' }))).toBe(bindingHash(action({ body: 'y', to: 'x' })));
    expect(bindingHash(action({ to: 'x', body: 'y' }))).not.toBe(bindingHash(action({ to: 'x', body: 'y ' })));
    expect(bindingHash(action({ to: 'x' }))).not.toBe(bindingHash(action({ to: 'x' }, 'a2')));
  });

  it('refuses a request whose action does not hash to the binding', async () => {
    const a = action({ to: 'x' });
    await expect(
      approvals.request({ action: a, hash: 'f'.repeat(64), tier: 'high', reasons: [], epoch: 1 }),
    ).rejects.toMatchObject({
      code: 'approval.binding',
    });
  });

  it('is single use and records approver, reason and audit events', async () => {
    const a = action({ to: 'x' });
    const r = await open(a);
    expect((await approvals.lookup(r.hash)).kind).toBe('pending');
    await approvals.approve(r.id, 'operator:carol', 'fine');
    const found = await approvals.lookup(r.hash);
    expect(found.kind).toBe('approved');
    expect((await approvals.consume(r.id))?.approver).toBe('operator:carol');
    expect(await approvals.consume(r.id)).toBeUndefined();
    expect(await approvals.get(r.id)).toMatchObject({
      status: 'used',
      approver: 'operator:carol',
      decisionReason: 'fine',
    });
    expect(audit.map((e) => e.type)).toEqual(['approval.requested', 'approval.granted', 'approval.used']);
    expect(audit[1]).toMatchObject({ actor: 'operator:carol', data: { reason: 'fine' } });
  });

  it('expires: a pending request and an unused approval both lapse after the expiry', async () => {
    const r = await open(action({ to: 'x' }));
    clock.advance(16 * MIN);
    expect((await approvals.lookup(r.hash)).kind).toBe('expired');
    await expect(approvals.approve(r.id, 'operator:c')).rejects.toMatchObject({ code: 'approval.not_pending' });
    const r2 = await open(action({ to: 'y' }));
    await approvals.approve(r2.id, 'operator:c');
    clock.advance(15 * MIN);
    expect(await approvals.consume(r2.id)).toBeUndefined();
    expect((await approvals.get(r2.id)).status).toBe('expired');
  });

  it('cannot be approved by the agent itself, nor twice', async () => {
    const r = await open(action({ to: 'x' }));
    await expect(approvals.approve(r.id, 'agent:a1')).rejects.toMatchObject({ code: 'approval.self', status: 403 });
    await approvals.deny(r.id, 'operator:c', 'no');
    await expect(approvals.approve(r.id, 'operator:c')).rejects.toMatchObject({ code: 'approval.not_pending' });
    expect((await approvals.lookup(r.hash)).kind).toBe('denied');
  });

  it('caps approval fatigue: pending requests and requests per hour', async () => {
    for (let i = 0; i < 3; i++) await open(action({ to: `u${i}` }));
    expect((await approvals.fatigue('a1'))?.code).toBe('approval.fatigue.pending');
    expect(await approvals.fatigue('a2')).toBeUndefined();
    for (const p of (await approvals.list({ status: 'pending' })).slice(0, 2)) await approvals.deny(p.id, 'operator:c');
    expect(await approvals.fatigue('a1')).toBeUndefined();
    await open(action({ to: 'u9' }));
    expect((await approvals.fatigue('a1'))?.code).toBe('approval.fatigue.hourly');
    clock.advance(61 * MIN);
    expect(await approvals.fatigue('a1')).toBeUndefined();
  });

  it('wait() resolves when a decision arrives and rejects on timeout', async () => {
    const r = await open(action({ to: 'x' }));
    const waiting = approvals.wait(r.id, { timeoutMs: 5000, pollMs: 1000 });
    setTimeout(() => void approvals.approve(r.id, 'operator:c'), 20);
    expect((await waiting).status).toBe('approved');
    const r2 = await open(action({ to: 'y' }));
    await expect(approvals.wait(r2.id, { timeoutMs: 30, pollMs: 10 })).rejects.toMatchObject({
      code: 'approval.wait_timeout',
    });
  });

  it('stores a dry-run result with the request', async () => {
    const r = await approvals.request({
      action: action({ to: 'x' }),
      hash: bindingHash(action({ to: 'x' })),
      tier: 'high',
      reasons: [],
      epoch: 1,
      dryRunTool: 'email.preview',
    });
    expect(r.dryRun).toEqual({ tool: 'email.preview', status: 'pending' });
    expect((await approvals.attachDryRun(r.id, { result: { recipients: 1 } })).dryRun).toEqual({
      tool: 'email.preview',
      status: 'done',
      result: { recipients: 1 },
    });
  });
});

describe('approval webhook', () => {
  it('signs with HMAC-SHA256 over timestamp and body; verification is strict', () => {
    const sig = signWebhook('s3cret', 1000, '{"a":1}');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook('s3cret', '1000', sig, '{"a":1}', 1000)).toBe(true);
    expect(verifyWebhook('s3cret', '1000', sig, '{"a":2}', 1000)).toBe(false);
    expect(verifyWebhook('other', '1000', sig, '{"a":1}', 1000)).toBe(false);
    expect(verifyWebhook('s3cret', '1000', sig, '{"a":1}', 1000 + 10 * MIN)).toBe(false);
    expect(verifyWebhook('s3cret', undefined, sig, '{"a":1}', 1000)).toBe(false);
  });

  it('posts signed JSON to the configured URL when a request opens and when it is decided', async () => {
    const got: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const store = await openTestStore();
    const clock = new ManualClock(Date.now());
    const approvals = await Approvals.open(
      store,
      clock,
      ApprovalsSchema.parse({ webhook: { url: `http://127.0.0.1:${port}/hook`, secret_env: 'GH_TEST_HOOK' } }),
      undefined,
      { GH_TEST_HOOK: 'hook-secret' },
    );
    const a = action({ to: 'x@example.com' });
    const r = await approvals.request({ action: a, hash: bindingHash(a), tier: 'high', reasons: [], epoch: 1 });
    await approvals.approve(r.id, 'operator:c');
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((res) => setTimeout(res, 20));
    server.close();
    await store.close();
    expect(got.map((g) => JSON.parse(g.body).type)).toEqual(['approval.requested', 'approval.granted']);
    for (const g of got) {
      expect(
        verifyWebhook(
          'hook-secret',
          g.headers['gatehouse-timestamp'] as string,
          g.headers['gatehouse-signature'] as string,
          g.body,
          clock.now(),
        ),
      ).toBe(true);
      expect(g.body).not.toContain('hook-secret');
    }
    expect(JSON.parse(got[0]!.body)).toMatchObject({
      id: r.id,
      tool: 'email.send',
      args: { to: 'x@example.com' },
      hash: r.hash,
    });
  });

  it('refuses to start when the secret variable is missing', async () => {
    const store = await openTestStore();
    await expect(
      Approvals.open(
        store,
        new ManualClock(),
        ApprovalsSchema.parse({ webhook: { url: 'https://h.example/x', secret_env: 'NOPE_NOT_SET' } }),
        undefined,
        {},
      ),
    ).rejects.toThrow(/NOPE_NOT_SET/);
    await store.close();
  });
});
