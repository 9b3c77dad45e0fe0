import { join } from 'node:path';
import type { StoreConfig } from '../config/sections/store.js';
import { ConfigError } from '../core/errors.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/** The database URL a gateway shares with others: `GATEHOUSE_DATABASE_URL` over `store.url`; undefined for SQLite. */
export function sharedStoreUrl(cfg: StoreConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.GATEHOUSE_DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return cfg.url;
}

/**
 * Opens the store the configuration names: PostgreSQL when a database URL is set (config or environment), else
 * the embedded SQLite file in the data directory. A database that is configured and cannot be reached is an
 * error naming it (without its password): never a silent fall back to a local file, which would split the
 * gateways' state. The PostgreSQL driver is loaded only when it is used.
 */
export async function openStore(
  cfg: StoreConfig,
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Store> {
  const url = sharedStoreUrl(cfg, env);
  if (url === undefined) return SqliteStore.open(join(dataDir, 'gatehouse.db'));
  if (!/^postgres(ql)?:\/\//.test(url)) {
    // Only the scheme is shown: the rest of a malformed URL may hold a password.
    throw new ConfigError(
      'GATEHOUSE_DATABASE_URL',
      undefined,
      'store.url',
      'expected a postgres:// or postgresql:// URL',
    );
  }
  const { PostgresStore } = await import('./postgres.js');
  return PostgresStore.open(url, { schema: cfg.schema, poolSize: cfg.pool_size });
}
