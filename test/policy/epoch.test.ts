import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_CHANNEL, PolicyEpochCache } from '../../src/policy/epoch.js';
import { LISTENER_NAME, PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';

/**
 * The policy-epoch cache on real stores: two PostgresStore connections to one real server stand for two gateways.
 * The cache is given a long maximum age, so what these tests see comes from the signal and the listener state,
 * not from the version poll behind them.
 */
let server: PgServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const LONG = 60_000;

/** Bumps the epoch as GrantStore does: in a transaction that signals on commit. */
async function bump(s: Store): Promise<number> {
  return s.transaction(async () => {
    const next = Number((await s.getMeta('policy.epoch')) ?? '0') + 1;
    await s.setMeta('policy.epoch', String(next));
    await s.signal(POLICY_CHANNEL);
    return next;
  });
}

/** Counts the reads the cache makes. */
function counted(s: Store): { read: () => Promise<number>; reads: () => number } {
  let n = 0;
  return {
    read: async () => {
      n++;
      return Number((await s.getMeta('policy.epoch')) ?? '0');
    },
    reads: () => n,
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function pair(): Promise<[PostgresStore, PostgresStore]> {
  const schema = freshSchema('epoch');
  return [await PostgresStore.open(server.url, { schema }), await PostgresStore.open(server.url, { schema })];
}

describe('PolicyEpochCache on PostgreSQL', () => {
  it('serves the epoch from memory while the listener is up, and a change on another gateway drops it at once', async () => {
    const [a, b] = await pair();
    const r = counted(b);
    const cache = new PolicyEpochCache(b, r.read, LONG);
    try {
      cache.start();
      await until(() => b.watching(POLICY_CHANNEL));
      expect(await cache.current()).toBe(0);
      const afterFirst = r.reads();
      for (let i = 0; i < 50; i++) expect(await cache.current()).toBe(0);
      expect(r.reads()).toBe(afterFirst);
      const next = await bump(a);
      const started = Date.now();
      for (;;) {
        if ((await cache.current()) === next) break;
        if (Date.now() - started > 3000) throw new Error('the change did not reach the other gateway');
        await new Promise((res) => setTimeout(res, 5));
      }
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      cache.stop();
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('a change made through the same store is seen by the very next call', async () => {
    const [a] = await pair();
    const cache = new PolicyEpochCache(a, counted(a).read, LONG);
    try {
      cache.start();
      await until(() => a.watching(POLICY_CHANNEL));
      expect(await cache.current()).toBe(0);
      expect(await cache.current()).toBe(0);
      const next = await bump(a);
      expect(await cache.current()).toBe(next);
    } finally {
      cache.stop();
      await a.close();
    }
  }, 30_000);

  it('with the listener terminated, every call reads the store and a change is never missed', async () => {
    const [a, b] = await pair();
    const r = counted(b);
    const cache = new PolicyEpochCache(b, r.read, LONG);
    try {
      cache.start();
      await until(() => b.watching(POLICY_CHANNEL));
      expect(await cache.current()).toBe(0);
      const admin = await PostgresStore.open(server.url, { schema: freshSchema('admin') });
      try {
        // Every listener in the server (both gateways'): their notifications are lost from here on.
        await admin.run('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?', [
          LISTENER_NAME,
        ]);
        await until(() => !b.watching(POLICY_CHANNEL));
        const next = await bump(a);
        const before = r.reads();
        expect(await cache.current()).toBe(next);
        expect(await cache.current()).toBe(next);
        expect(r.reads()).toBe(before + 2);
        // Reconnected: the reconnect drops what was cached, the first call reads, later ones are served again.
        await until(() => b.watching(POLICY_CHANNEL));
        const third = await bump(a);
        const deadline = Date.now() + 3000;
        while ((await cache.current()) !== third && Date.now() < deadline)
          await new Promise((res) => setTimeout(res, 5));
        expect(await cache.current()).toBe(third);
        const served = r.reads();
        expect(await cache.current()).toBe(third);
        expect(r.reads()).toBe(served);
      } finally {
        await admin.close();
      }
    } finally {
      cache.stop();
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  it('a change committed while the listener was down is read by the first call after it reconnects', async () => {
    const [a, b] = await pair();
    const cache = new PolicyEpochCache(b, counted(b).read, LONG);
    try {
      cache.start();
      await until(() => b.watching(POLICY_CHANNEL));
      expect(await cache.current()).toBe(0);
      await server.kill();
      await until(() => !b.watching(POLICY_CHANNEL));
      await server.start();
      // Before B's listener is back (it retries after 500 ms), A commits a change whose signal B cannot get.
      const next = await bump(a);
      expect(await cache.current()).toBe(next);
      await until(() => b.watching(POLICY_CHANNEL), 10_000);
      expect(await cache.current()).toBe(next);
    } finally {
      cache.stop();
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

describe('PolicyEpochCache on SQLite', () => {
  it('never caches: another process writing the file has no way to signal', async () => {
    const s = await SqliteStore.open(':memory:');
    const r = counted(s);
    const cache = new PolicyEpochCache(s, r.read, LONG);
    try {
      cache.start();
      await cache.current();
      await cache.current();
      expect(r.reads()).toBe(2);
      // A write behind the store's back (as the CLI's process would make) is seen by the next call.
      await s.setMeta('policy.epoch', '7');
      expect(await cache.current()).toBe(7);
    } finally {
      cache.stop();
      await s.close();
    }
  });
});
