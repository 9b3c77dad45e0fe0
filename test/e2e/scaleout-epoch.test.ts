import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/decision.js';
import type { Grant } from '../../src/policy/grants.js';
import { LISTENER_NAME } from '../../src/store/postgres.js';
import { GatewayProcess, sharedMasterKey } from '../helpers/gateways.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';

/**
 * The policy epoch is cached in each gateway behind the store's change signal (`PolicyEpochCache`). Two gateway
 * processes on one real PostgreSQL: a grant change on A reaches B promptly, and with B's LISTEN connection broken
 * (terminated by the server, or the server restarted) B never allows on the epoch it cached before.
 */
let server: PgServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const HOST = { kind: 'host' } as const;
const ACTOR = 'operator:ops';

function config(schema: string): Record<string, unknown> {
  return {
    version: 1,
    store: { schema },
    identity: { agents: { w: { roles: ['worker'] } } },
    roles: { worker: { grants: [{ tools: ['fs.read'] }] } },
    tools: { 'fs.read': { risk: 'low' }, 'kv.get': { risk: 'low' } },
    // The denies these tests provoke must come from the policy: a deny burst would otherwise quarantine the agent.
    monitor: { enabled: false },
  };
}

async function two(schema: string): Promise<[GatewayProcess, GatewayProcess]> {
  const masterKey = sharedMasterKey();
  const a = await GatewayProcess.start('A', { url: server.url, masterKey, config: config(schema) });
  const b = await GatewayProcess.start('B', { url: server.url, masterKey, config: config(schema) });
  return [a, b];
}

let n = 0;
const kvGet = (g: GatewayProcess) =>
  g.call<Decision>(
    'decide',
    { kind: 'tool_call', agent: 'w', session: 's', tool: 'kv.get', args: { key: `k${n++}` } },
    { credentials: HOST },
  );

/** Decides on `g` until `want`, and returns how long that took after `since` (Infinity after 5 s). */
async function lagUntil(g: GatewayProcess, want: Decision['effect'], since: number): Promise<number> {
  for (;;) {
    if ((await kvGet(g)).effect === want) return Date.now() - since;
    if (Date.now() - since > 5000) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every decision on `g` for `ms`: none may allow. */
async function neverAllows(g: GatewayProcess, ms: number): Promise<Decision[]> {
  const out: Decision[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    out.push(await kvGet(g));
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}

/** B's cache is warm: it has allowed kv.get under the grant several times. */
async function warm(b: GatewayProcess): Promise<void> {
  const since = Date.now();
  expect(await lagUntil(b, 'allow', since)).toBeLessThan(5000);
  for (let i = 0; i < 20; i++) expect((await kvGet(b)).effect).toBe('allow');
}

async function listenerPids(): Promise<number[]> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
      LISTENER_NAME,
    ]);
    return r.rows.map((x) => x.pid);
  } finally {
    await c.end();
  }
}

async function retry<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('policy epoch across two gateways', () => {
  it('a grant made and revoked on A takes effect on B within 1 s each way', async () => {
    const [a, b] = await two(freshSchema('epoch_prompt'));
    try {
      for (let i = 0; i < 20; i++) expect((await kvGet(b)).effect).toBe('deny');
      const g = await a.call<Grant>('policy.grants.grant', { agent: 'w', tools: ['kv.get'], by: ACTOR });
      expect(await lagUntil(b, 'allow', Date.now())).toBeLessThan(1000);
      for (let i = 0; i < 20; i++) expect((await kvGet(b)).effect).toBe('allow');
      await a.call('policy.grants.revoke', g.id, ACTOR, 'test');
      expect(await lagUntil(b, 'deny', Date.now())).toBeLessThan(1000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  it('with the LISTEN connections terminated, B never allows on the epoch it cached before the revocation', async () => {
    const [a, b] = await two(freshSchema('epoch_terminate'));
    try {
      const g = await a.call<Grant>('policy.grants.grant', { agent: 'w', tools: ['kv.get'], by: ACTOR });
      await warm(b);
      const pids = await listenerPids();
      expect(pids.length).toBeGreaterThanOrEqual(2);
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      try {
        await c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
        // Gone from the server: their sockets are closed, so the revocation's signal reaches no one.
        for (let i = 0; i < 100; i++) {
          const r = await c.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids]);
          if (r.rowCount === 0) break;
          await new Promise((res) => setTimeout(res, 20));
        }
      } finally {
        await c.end();
      }
      await a.call('policy.grants.revoke', g.id, ACTOR, 'test');
      // Past the listener's reconnect (500 ms) and the cache's maximum age: never an allow.
      const after = await neverAllows(b, 1500);
      expect(after.length).toBeGreaterThan(10);
      expect(after.filter((d) => d.effect === 'allow')).toEqual([]);
      for (const d of after) expect(d.reasons.map((r) => r.code).join(' ')).toMatch(/\bpolicy\.no_permit\b/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  it('across a PostgreSQL restart, a revocation committed before B reconnects is never missed', async () => {
    const [a, b] = await two(freshSchema('epoch_restart'));
    try {
      const g = await a.call<Grant>('policy.grants.grant', { agent: 'w', tools: ['kv.get'], by: ACTOR });
      await warm(b);
      await server.kill();
      await server.start();
      // B's listener retries 500 ms after it noticed: A revokes while B has no listener to hear it.
      await retry(() => a.call('policy.grants.revoke', g.id, ACTOR, 'test'));
      const after = await neverAllows(b, 1500);
      expect(after.filter((d) => d.effect === 'allow')).toEqual([]);
      for (const d of after)
        expect(d.reasons.map((r) => r.code).join(' ')).toMatch(/\b(policy\.no_permit|store\.unavailable)\b/);
      // Back to normal: B decides (a deny by policy now, not store.unavailable).
      const last = await retry(async () => {
        const d = await kvGet(b);
        if (d.reasons.some((r) => r.code === 'store.unavailable')) throw new Error('store still unavailable on B');
        return d;
      });
      expect(last.effect).toBe('deny');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);
});
