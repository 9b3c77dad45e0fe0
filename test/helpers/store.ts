import { resolve } from 'node:path';
import { afterAll } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { freshSchema, type PgServer, startPostgres } from './postgres.js';

/**
 * Which store the suites run against: `GATEHOUSE_TEST_STORE=postgres` runs them on a real PostgreSQL server
 * (one per test file, started on first use), anything else or unset on SQLite. Tests take their store from here,
 * so the whole suite switches engine in this one place.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = engine(process.env.GATEHOUSE_TEST_STORE);

function engine(v: string | undefined): 'sqlite' | 'postgres' {
  if (v === undefined || v === '' || v === 'sqlite') return 'sqlite';
  if (v === 'postgres') return 'postgres';
  // A typo must not silently run the suite on the default engine and report it as a PostgreSQL run.
  throw new Error(`GATEHOUSE_TEST_STORE must be sqlite or postgres, not ${v}`);
}

let server: Promise<PgServer> | undefined;
/** One schema per store file name: opening the same "file" twice reaches the same store, as on SQLite. */
const schemas = new Map<string, string>();

if (TEST_STORE === 'postgres') {
  // Registered while the test file imports this module, so it runs once after that file's tests.
  afterAll(async () => {
    const s = server;
    server = undefined;
    if (s) await (await s).stop();
  });
}

function pgServer(): Promise<PgServer> {
  server ??= startPostgres();
  return server;
}

/**
 * The store a test runs against, core migrations applied. SQLite: the file (default in memory). PostgreSQL: a
 * fresh schema per call, or, given a file name, the schema that name maps to, so a second open of the same name
 * is another process's connection to the same store.
 */
export async function openTestStore(file = ':memory:'): Promise<Store> {
  if (TEST_STORE === 'sqlite') return SqliteStore.open(file);
  const { url } = await pgServer();
  let schema: string;
  if (file === ':memory:') schema = freshSchema('t');
  else {
    const key = resolve(file);
    schema = schemas.get(key) ?? freshSchema('t');
    schemas.set(key, schema);
  }
  return PostgresStore.open(url, { schema });
}

/**
 * For `Gatehouse.open`: on PostgreSQL, an opener that gives each data directory its own schema (reopening the
 * directory reaches the same store); on SQLite nothing, so the gateway opens its own file as in production.
 */
export function testStoreOptions(): { openStore?: (dataDir: string) => Promise<Store> } {
  if (TEST_STORE === 'sqlite') return {};
  return { openStore: (dataDir) => openTestStore(resolve(dataDir, 'gatehouse.db')) };
}

/**
 * For a test whose gateway and CLI both open the store from a config file: on PostgreSQL, the `store:` line to
 * put in it (a fresh schema) and the environment both need (the database URL, one master key); on SQLite
 * nothing, so both open the data directory's file.
 */
export async function testStoreConfig(): Promise<{ yaml: string; env: Record<string, string> }> {
  if (TEST_STORE === 'sqlite') return { yaml: '', env: {} };
  const { url } = await pgServer();
  const { randomBytes } = await import('node:crypto');
  return {
    yaml: `store: { schema: ${freshSchema('t')} }\n`,
    env: { GATEHOUSE_DATABASE_URL: url, GATEHOUSE_MASTER_KEY: randomBytes(32).toString('hex') },
  };
}
