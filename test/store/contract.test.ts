import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError, StoreUnavailableError } from '../../src/core/errors.js';
import { postgresPlaceholders } from '../../src/store/migrations.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Migration, Store } from '../../src/store/store.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'counters',
    sql: `CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL, blob BLOB, ratio REAL);
          INSERT INTO counters (name, n) VALUES ('c', 0);`,
  },
];

let server: PgServer;
const dir = mkdtempSync(join(tmpdir(), 'gh-store-'));
let fileSeq = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const engines: Array<[string, () => Promise<Store>]> = [
  ['sqlite', () => SqliteStore.open(join(dir, `s${++fileSeq}.db`))],
  ['postgres', () => PostgresStore.open(server.url, { schema: freshSchema('contract') })],
];

describe.each(engines)('store contract on %s', (_name, open) => {
  it('runs statements with ? placeholders, returns numbers, buffers and nulls as written', async () => {
    const s = await open();
    try {
      await s.migrate('test', MIGRATIONS);
      expect(await s.schemaVersion('test')).toBe(1);
      const bytes = Buffer.from([0, 1, 2, 255]);
      const r = await s.run('INSERT INTO counters (name, n, blob, ratio) VALUES (?, ?, ?, ?)', [
        'big',
        1_733_000_000_123,
        bytes,
        0.25,
      ]);
      expect(r.changes).toBe(1);
      const row = await s.get<{ n: number; blob: Buffer; ratio: number }>(
        'SELECT n, blob, ratio FROM counters WHERE name = ?',
        ['big'],
      );
      expect(row?.n).toBe(1_733_000_000_123);
      expect(Buffer.compare(row!.blob, bytes)).toBe(0);
      expect(row?.ratio).toBe(0.25);
      const count = await s.get<{ c: number }>('SELECT COUNT(*) AS c FROM counters');
      expect(Number(count?.c)).toBe(2);
      expect(await s.get('SELECT n FROM counters WHERE name = ?', ['missing'])).toBeUndefined();
      expect((await s.all('SELECT name FROM counters ORDER BY name')).length).toBe(2);
      await s.setMeta('k', 'v1');
      await s.setMeta('k', 'v2');
      expect(await s.getMeta('k')).toBe('v2');
    } finally {
      await s.close();
    }
  });

  it('a transaction is all or nothing; a nested one rolls back alone', async () => {
    const s = await open();
    try {
      await s.migrate('test', MIGRATIONS);
      await expect(
        s.transaction(async () => {
          await s.run("UPDATE counters SET n = 5 WHERE name = 'c'");
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await s.get<{ n: number }>("SELECT n FROM counters WHERE name = 'c'"))?.n).toBe(0);
      await s.transaction(async () => {
        await s.run("UPDATE counters SET n = 1 WHERE name = 'c'");
        await s
          .transaction(async () => {
            await s.run("UPDATE counters SET n = 99 WHERE name = 'c'");
            throw new Error('inner');
          })
          .catch(() => undefined);
        await s.run("UPDATE counters SET n = n + 1 WHERE name = 'c'");
      });
      expect((await s.get<{ n: number }>("SELECT n FROM counters WHERE name = 'c'"))?.n).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('read-then-write transactions from many callers and two connections are exact', async () => {
    const a = await open();
    try {
      await a.migrate('test', MIGRATIONS);
      const b = a.dialect === 'postgres' ? await PostgresStore.open(server.url, { schema: schemaOf(a) }) : a;
      const bump = (s: Store) =>
        s.transaction(async () => {
          const row = await s.get<{ n: number }>("SELECT n FROM counters WHERE name = 'c'");
          await new Promise((r) => setTimeout(r, 1));
          await s.run("UPDATE counters SET n = ? WHERE name = 'c'", [Number(row?.n) + 1]);
        });
      await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 ? a : b)));
      expect((await a.get<{ n: number }>("SELECT n FROM counters WHERE name = 'c'"))?.n).toBe(40);
      if (b !== a) await b.close();
    } finally {
      await a.close();
    }
  });

  it('statements outside a transaction never land inside another caller’s transaction', async () => {
    const s = await open();
    try {
      await s.migrate('test', MIGRATIONS);
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const tx = s
        .transaction(async () => {
          await s.run("UPDATE counters SET n = 7 WHERE name = 'c'");
          await gate;
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      const outside = s.run("INSERT INTO counters (name, n) VALUES ('outside', 1)");
      release();
      await Promise.all([tx, outside]);
      expect((await s.get<{ n: number }>("SELECT n FROM counters WHERE name = 'outside'"))?.n).toBe(1);
      expect((await s.get<{ n: number }>("SELECT n FROM counters WHERE name = 'c'"))?.n).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('refuses a store whose schema is newer than the code, and misnumbered migrations', async () => {
    const s = await open();
    try {
      await s.migrate('test', [...MIGRATIONS, { version: 2, name: 'x', sql: 'CREATE TABLE x (a TEXT)' }]);
      await expect(s.migrate('test', MIGRATIONS)).rejects.toThrow(/newer than this Gatehouse knows/);
      await expect(s.migrate('other', [{ version: 2, name: 'gap', sql: 'SELECT 1' }])).rejects.toThrow(/numbered 1..n/);
      await expect(s.migrate('bad', [{ version: 1, name: 'typo', sql: 'CREATE TABL y (a TEXT)' }])).rejects.toThrow(
        StoreError,
      );
      expect(await s.schemaVersion('bad')).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('delivers a signal to a watcher in the same process', async () => {
    const s = await open();
    try {
      const woken = new Promise<void>((resolve) => s.watch('things', resolve));
      await s.transaction(async () => {
        await s.signal('things');
      });
      await expect(withTimeout(woken, 3000)).resolves.toBeUndefined();
    } finally {
      await s.close();
    }
  });
});

describe('postgres only', () => {
  it('gateways migrating together apply each migration once (advisory lock)', async () => {
    const schema = freshSchema('race');
    const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresStore.open(server.url, { schema })));
    try {
      await Promise.all(stores.map((s) => s.migrate('test', MIGRATIONS)));
      const rows = await stores[0]!.all<{ name: string }>('SELECT name FROM counters');
      expect(rows).toEqual([{ name: 'c' }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 30_000);

  it('a signal reaches a watcher on another connection (NOTIFY), scoped by schema', async () => {
    const schema = freshSchema('notify');
    const a = await PostgresStore.open(server.url, { schema });
    const b = await PostgresStore.open(server.url, { schema });
    const other = await PostgresStore.open(server.url, { schema: freshSchema('notify') });
    try {
      let otherWoken = 0;
      const ready = new Promise<void>((resolve) => {
        let first = true;
        b.watch('identity', () => {
          if (first) {
            first = false;
            resolve();
          }
        });
      });
      // The listener wakes every watcher once when it connects (nothing can have been missed before that).
      await withTimeout(ready, 5000);
      other.watch('identity', () => {
        otherWoken++;
      });
      await new Promise((r) => setTimeout(r, 200));
      const baseline = otherWoken;
      const woken = new Promise<number>((resolve) => {
        const started = Date.now();
        b.watch('identity', () => resolve(Date.now() - started));
      });
      await a.transaction(async () => {
        await a.signal('identity');
      });
      const ms = await withTimeout(woken, 3000);
      expect(ms).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 200));
      expect(otherWoken).toBe(baseline);
    } finally {
      await Promise.all([a.close(), b.close(), other.close()]);
    }
  }, 30_000);

  it('an unreachable server fails with store.unavailable, health says so, and it recovers by itself', async () => {
    const s = await PostgresStore.open(server.url, { schema: freshSchema('outage'), timeoutMs: 2000 });
    try {
      await s.migrate('test', MIGRATIONS);
      let wakeups = 0;
      s.watch('x', () => {
        wakeups++;
      });
      await new Promise((r) => setTimeout(r, 300));
      const before = wakeups;
      await server.kill();
      const err = await s.get('SELECT n FROM counters').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreError).code).toBe('store.unavailable');
      expect(s.health().ok).toBe(false);
      await expect(s.transaction(async () => s.run("UPDATE counters SET n = 1 WHERE name = 'c'"))).rejects.toThrow(
        StoreUnavailableError,
      );
      await server.start();
      const deadline = Date.now() + 10_000;
      let row: { n: number } | undefined;
      while (Date.now() < deadline) {
        row = await s.get<{ n: number }>("SELECT n FROM counters WHERE name = 'c'").catch(() => undefined);
        if (row) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(row?.n).toBe(0);
      expect(s.health().ok).toBe(true);
      // The listener reconnected and woke its watchers: a notification may have been lost meanwhile.
      const until = Date.now() + 5000;
      while (wakeups === before && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(wakeups).toBeGreaterThan(before);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('never puts the password in a message or the location', async () => {
    const url = server.url.replace('gatehouse@', 'gatehouse:hunter2-secret@').replace(/:\d+\//, ':1/');
    const err = await PostgresStore.open(url, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(String((err as Error).message)).not.toContain('hunter2-secret');
    expect(String((err as Error).message)).toContain('postgres://gatehouse@127.0.0.1:1/postgres');
  });
});

describe('placeholders', () => {
  it('rewrites ? outside literals, quoted names and comments', () => {
    expect(postgresPlaceholders('SELECT \'?\', "a?", x FROM t WHERE a = ? AND b = ? -- why?\nAND c = ?')).toBe(
      'SELECT \'?\', "a?", x FROM t WHERE a = $1 AND b = $2 -- why?\nAND c = $3',
    );
    expect(postgresPlaceholders("WHERE a = 'it''s ?' AND b = ?")).toBe("WHERE a = 'it''s ?' AND b = $1");
  });
});

function schemaOf(s: Store): string {
  return s.location.split('#')[1] ?? 'public';
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timeout ${ms} ms`)), ms))]);
}
