import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

/** Starting a gateway on a shared PostgreSQL store: what it refuses, and what it never prints. */
let server: PgServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const SECRET = 'hunter2-not-for-logs';
const withPassword = (url: string) => url.replace('gatehouse@', `gatehouse:${SECRET}@`);
const key = () => randomBytes(32).toString('hex');
const config = (schema: string) => ({ version: 1 as const, store: { schema } });

describe('a gateway on a shared store', () => {
  it('opens PostgreSQL from GATEHOUSE_DATABASE_URL and reports where, without the password', async () => {
    const t = tempDir();
    const env = { GATEHOUSE_DATABASE_URL: withPassword(server.url), GATEHOUSE_MASTER_KEY: key() };
    const gh = await Gatehouse.open({ config: config(freshSchema('open')), data: t.dir, env });
    try {
      const h = gh.health();
      expect(h).toMatchObject({ status: 'ok', store: { dialect: 'postgres', ok: true } });
      expect(h.store.location).toMatch(/^postgres:\/\/gatehouse@127\.0\.0\.1:\d+\/postgres#open_/);
      expect(JSON.stringify(h)).not.toContain(SECRET);
      // Nothing lands in a local SQLite file.
      expect(existsSync(join(t.dir, 'gatehouse.db'))).toBe(false);
    } finally {
      await gh.close();
      t.cleanup();
    }
  });

  it('refuses to start when the configured database cannot be reached, naming it, never falling back to SQLite', async () => {
    const t = tempDir();
    const dead = withPassword(server.url).replace(/:(\d+)\//, ':1/');
    const err = await Gatehouse.open({
      config: config('public'),
      data: t.dir,
      env: { GATEHOUSE_DATABASE_URL: dead, GATEHOUSE_MASTER_KEY: key() },
    }).catch((e: unknown) => e as { code?: string; message: string });
    expect(err).toMatchObject({ code: 'store.unavailable' });
    expect((err as Error).message).toContain('postgres://gatehouse@127.0.0.1:1/postgres');
    expect((err as Error).message).not.toContain(SECRET);
    expect(existsSync(join(t.dir, 'gatehouse.db'))).toBe(false);
    t.cleanup();
  });

  it('needs the master key given, and refuses a key other than the one the store is sealed under', async () => {
    const schema = freshSchema('key');
    const t1 = tempDir();
    const missing = await Gatehouse.open({
      config: config(schema),
      data: t1.dir,
      env: { GATEHOUSE_DATABASE_URL: server.url },
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'key.master_missing' });
    // No key of its own was made up for it.
    expect(existsSync(join(t1.dir, 'master.key'))).toBe(false);

    const a = await Gatehouse.open({
      config: config(schema),
      data: t1.dir,
      env: { GATEHOUSE_DATABASE_URL: server.url, GATEHOUSE_MASTER_KEY: key() },
    });
    const t2 = tempDir();
    try {
      const other = await Gatehouse.open({
        config: config(schema),
        data: t2.dir,
        env: { GATEHOUSE_DATABASE_URL: server.url, GATEHOUSE_MASTER_KEY: key() },
      }).catch((e: unknown) => e);
      expect(other).toMatchObject({ code: 'key.master_mismatch' });
    } finally {
      await a.close();
      t1.cleanup();
      t2.cleanup();
    }
  });
});
