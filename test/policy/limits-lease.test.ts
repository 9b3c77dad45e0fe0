import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LimitsSchema } from '../../src/config/sections/policy.js';
import { Limits } from '../../src/policy/limits.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';

/**
 * Per-minute limits leased from the shared row: several `Limits` on their own connections to one real
 * PostgreSQL stand for gateways. Leases save round trips; they must never let the gateways together past the limit.
 */
let server: PgServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const cfg = LimitsSchema.parse({ per_agent: { tool_calls_per_minute: 100, burst: 100 } });

async function call(l: Limits, now: number): Promise<boolean> {
  const c = await l.check({ agent: 'a', tool: 'fs.read', cost: 1, egressBytes: 0, now });
  if (!c.ok) return false;
  for (const e of c.effects) if (!(await e.commit()).ok) return false;
  return true;
}

async function tokensInRow(s: PostgresStore): Promise<number> {
  return (await s.get<{ tokens: number }>("SELECT tokens FROM limits_buckets WHERE key = 'agent:a'"))?.tokens ?? -1;
}

describe('rate buckets leased from PostgreSQL', () => {
  it('five gateways calling at once never exceed the limit between them (overshoot 0)', async () => {
    const schema = freshSchema('lease');
    const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresStore.open(server.url, { schema })));
    try {
      const gateways = await Promise.all(stores.map((s) => Limits.open(cfg, s)));
      // One fixed instant: no refill, so the limit is exactly the bucket's 100 tokens.
      const now = Date.UTC(2026, 0, 5);
      const results = await Promise.all(gateways.flatMap((g) => Array.from({ length: 60 }, () => call(g, now))));
      const allowed = results.filter(Boolean).length;
      expect(allowed).toBeLessThanOrEqual(100);
      // Unspent leases are held for a moment at most: most of the limit is usable.
      expect(allowed).toBeGreaterThanOrEqual(80);
      // Once the unspent leases have come back (they expire after 1 s), the rest of the limit is usable, and not one
      // token more: over both rounds the gateways allow exactly the bucket's 100.
      await new Promise((r) => setTimeout(r, 1500));
      const later = await Promise.all(gateways.flatMap((g) => Array.from({ length: 30 }, () => call(g, now))));
      expect(allowed + later.filter(Boolean).length).toBe(100);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 60_000);

  it('most calls are served from the lease, a judged call that is not committed takes nothing, and unspent tokens come back', async () => {
    const schema = freshSchema('lease_rt');
    const s = await PostgresStore.open(server.url, { schema });
    try {
      const l = await Limits.open(cfg, s);
      const now = Date.UTC(2026, 0, 5);
      // Judged, never committed (the decision ended denied): the shared row is untouched.
      const judged = await l.check({ agent: 'a', tool: 'fs.read', cost: 1, egressBytes: 0, now });
      expect(judged.ok).toBe(true);
      expect(await tokensInRow(s)).toBe(-1);
      expect(await call(l, now)).toBe(true);
      // The first commit leased 10 of the 100 tokens (10%): the row holds 90 and 9 calls need no round trip.
      expect(await tokensInRow(s)).toBe(90);
      for (let i = 0; i < 9; i++) expect(await call(l, now)).toBe(true);
      expect(await tokensInRow(s)).toBe(90);
      expect(await call(l, now)).toBe(true);
      expect(await tokensInRow(s)).toBe(81);
      // The new lease (9) has 8 left; they go back to the row when it expires.
      const deadline = Date.now() + 5000;
      while ((await tokensInRow(s)) < 89 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await tokensInRow(s)).toBe(89);
    } finally {
      await s.close();
    }
  }, 60_000);
});
