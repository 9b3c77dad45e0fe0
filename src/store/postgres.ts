import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { StoreError, StoreUnavailableError } from '../core/errors.js';
import { readMeta, writeMeta } from './meta.js';
import { CORE_MIGRATIONS, orderedMigrations, postgresDdl, postgresPlaceholders } from './migrations.js';
import type { Migration, SqlParams, Store, StoreHealth } from './store.js';

export interface PostgresOptions {
  /** Schema the tables live in (created if missing); one database can host several isolated Gatehouse stores. */
  schema?: string;
  /** Connections in the pool (the listener uses one more). */
  poolSize?: number;
  /** How long a statement or a connection attempt may take before the store counts as unreachable. */
  timeoutMs?: number;
  /** Serialisation-failure retries of one transaction before it fails. */
  maxRetries?: number;
}

interface Tx {
  client: pg.PoolClient;
  depth: number;
  signals: Set<string>;
}

/** SQLSTATE classes and codes that mean "try again": serialisation failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Node socket errors and SQLSTATE classes 08 (connection), 57P (operator intervention: shutdown), 53 (resources). */
const UNREACHABLE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|08|57P0|53)/;
/** `application_name` of the listener connection in `pg_stat_activity`. */
export const LISTENER_NAME = 'gatehouse-listener';
const MIGRATION_LOCK = 0x6761746568; // "gateh": one advisory lock key for every component's migrations

/**
 * PostgreSQL store shared by several gateways. Statements are the same `?`-placeholder SQL the components use on
 * SQLite, rewritten to `$n`; DDL is translated by `postgresDdl`.
 *
 * Transactions are SERIALIZABLE and retried on a serialisation failure, so a body that reads a budget and then
 * charges it is exact across gateways without explicit row locks. Migrations run under one advisory lock, so
 * gateways starting together apply each once. `signal` is NOTIFY (sent on commit inside a transaction) and
 * `watch` LISTENs on a dedicated session connection that reconnects by itself; because notifications sent while
 * it reconnects are lost, every watcher is woken after a reconnect, and callers pair `watch` with a version poll.
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly config: pg.PoolConfig;
  private readonly schema: string;
  private readonly maxRetries: number;
  private readonly tx = new AsyncLocalStorage<Tx>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private listener: pg.Client | undefined;
  /** Channels the connected listener is LISTENing on (empty while it is down or reconnecting). */
  private readonly listened = new Set<string>();
  /** The listener connection being set up or in use; events of an older one are ignored. */
  private listenerClient: pg.Client | undefined;
  private listening: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private state: StoreHealth = { ok: true };
  private closed = false;
  /** The URL's password, scrubbed from every message the store produces. */
  private readonly password: string | undefined;

  private constructor(url: string, opts: PostgresOptions) {
    this.schema = opts.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) throw new StoreError(`invalid schema name ${this.schema}`);
    this.location = redactUrl(url, this.schema);
    this.password = passwordOf(url);
    this.maxRetries = opts.maxRetries ?? 20;
    const timeout = opts.timeoutMs ?? 5000;
    const types = new pg.TypeOverrides();
    // Timestamps and counters are BIGINT; sums are NUMERIC. Both fit a double for every value Gatehouse stores.
    types.setTypeParser(20, Number);
    types.setTypeParser(1700, Number);
    this.config = {
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: timeout,
      query_timeout: timeout,
      idleTimeoutMillis: 30_000,
      options: `-c search_path=${this.schema}`,
      types,
    };
    this.pool = new pg.Pool(this.config);
    // An idle client losing its connection (the server restarted) must not crash the process.
    this.pool.on('error', (err) => this.down(err));
  }

  /** Connects, creates the schema and the store's own tables, and applies the core migrations. */
  static async open(url: string, opts: PostgresOptions = {}): Promise<PostgresStore> {
    const store = new PostgresStore(url, opts);
    try {
      // Gateways starting together on a fresh database would race on the catalogue; one at a time creates it.
      await store.underMigrationLock(async (client) => {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${store.schema}`);
        await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
          component TEXT PRIMARY KEY, version BIGINT NOT NULL, applied_at TEXT NOT NULL)`);
        await client.query('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      });
      await store.migrate('core', CORE_MIGRATIONS);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async migrate(component: string, migrations: readonly Migration[]): Promise<void> {
    const sorted = orderedMigrations(component, migrations);
    await this.underMigrationLock(async (client) => {
      const current = await this.versionOn(client, component);
      if (current > sorted.length) {
        throw new StoreError(
          `store ${this.location} has ${component} schema version ${current}, newer than this Gatehouse knows (${sorted.length}); upgrade Gatehouse`,
        );
      }
      for (const m of sorted.slice(current)) {
        await client.query('BEGIN');
        try {
          await client.query(postgresDdl(m));
          await client.query(
            `INSERT INTO schema_version (component, version, applied_at) VALUES ($1, $2, $3)
             ON CONFLICT(component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
            [component, m.version, new Date().toISOString()],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new StoreError(`migration ${component} #${m.version} (${m.name}) failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
      }
    });
  }

  /**
   * Runs `fn` on one connection holding the session-level advisory lock that serialises schema changes across
   * gateways. A connection whose unlock failed is destroyed rather than pooled, so it cannot keep the lock.
   */
  private async underMigrationLock(fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.connect();
    let destroy = false;
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await fn(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {
          destroy = true;
        });
      }
    } catch (err) {
      throw this.wrap(err);
    } finally {
      client.release(destroy);
    }
  }

  async schemaVersion(component: string): Promise<number> {
    const row = await this.get<{ version: number }>('SELECT version FROM schema_version WHERE component = ?', [
      component,
    ]);
    return row?.version ?? 0;
  }

  private async versionOn(client: pg.PoolClient, component: string): Promise<number> {
    const r = await client.query<{ version: number }>('SELECT version FROM schema_version WHERE component = $1', [
      component,
    ]);
    return r.rows[0]?.version ?? 0;
  }

  private async query<T extends pg.QueryResultRow>(sql: string, params: SqlParams): Promise<pg.QueryResult<T>> {
    const text = postgresPlaceholders(sql);
    const values = params.map(toParam);
    const tx = this.tx.getStore();
    try {
      const r = tx ? await tx.client.query<T>(text, values) : await this.pool.query<T>(text, values);
      this.up();
      return r;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  async run(sql: string, params: SqlParams = []): Promise<{ changes: number }> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async get<T>(sql: string, params: SqlParams = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async all<T>(sql: string, params: SqlParams = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.tx.getStore();
    if (outer) {
      const name = `sp${outer.depth + 1}`;
      await outer.client.query(`SAVEPOINT ${name}`);
      try {
        const result = await this.tx.run({ ...outer, depth: outer.depth + 1 }, fn);
        await outer.client.query(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (err) {
        await outer.client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
        throw err;
      }
    }
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect();
      const ctx: Tx = { client, depth: 0, signals: new Set() };
      let broken = false;
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await this.tx.run(ctx, fn);
        for (const channel of ctx.signals) await client.query('SELECT pg_notify($1, $2)', [this.channel(channel), '']);
        await client.query('COMMIT');
        this.up();
        for (const channel of ctx.signals) this.wakeLocal(channel);
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = sqlState(err) ?? sqlState((err as { cause?: unknown }).cause);
        if (code && RETRYABLE.has(code) && attempt < this.maxRetries) {
          // Jittered backoff: contending gateways retrying in lockstep would conflict again.
          await sleep(Math.random() * Math.min(50, 2 ** attempt));
          continue;
        }
        throw this.wrap(err);
      } finally {
        client.release(broken);
      }
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.wrap(err);
    }
  }

  getMeta(key: string): Promise<string | undefined> {
    return readMeta(this, key);
  }

  setMeta(key: string, value: string): Promise<void> {
    return writeMeta(this, key, value);
  }

  async signal(channel: string): Promise<void> {
    const tx = this.tx.getStore();
    if (tx) tx.signals.add(channel);
    else {
      await this.run('SELECT pg_notify(?, ?)', [this.channel(channel), '']);
      this.wakeLocal(channel);
    }
  }

  /**
   * Wakes this process's watchers at once: a cache in this process must not serve the old value for the round
   * trip its own notification takes to come back (they are woken again when it does).
   */
  private wakeLocal(channel: string): void {
    for (const fn of this.watchers.get(channel) ?? []) fn();
  }

  watching(channel: string): boolean {
    return this.listener !== undefined && this.listened.has(channel);
  }

  watch(channel: string, fn: () => void): () => void {
    let set = this.watchers.get(channel);
    if (!set) {
      set = new Set();
      this.watchers.set(channel, set);
      const listener = this.listener;
      if (listener) {
        void this.listen(listener, channel)
          .then(() => {
            if (this.listener === listener) this.listened.add(channel);
          })
          .catch((err) => this.lost(err, listener));
      }
    }
    set.add(fn);
    this.listening ??= this.startListener();
    return () => set.delete(fn);
  }

  /** Channels are scoped by schema, so isolated stores in one database do not wake each other. */
  private channel(name: string): string {
    return `gh_${createHash('sha256').update(`${this.schema}\0${name}`).digest('hex').slice(0, 40)}`;
  }

  private async listen(client: pg.Client, channel: string): Promise<void> {
    await client.query(`LISTEN ${this.channel(channel)}`);
  }

  private async startListener(): Promise<void> {
    if (this.closed) return;
    // Named, so an operator (or a test) can tell the session connection that LISTENs from the pooled ones.
    const client = new pg.Client({ ...this.config, application_name: LISTENER_NAME });
    this.listenerClient = client;
    client.on('error', (err) => this.lost(err, client));
    // A connection the server closed (pg_terminate_backend, a restart) is lost even when no error is reported.
    client.on('end', () => this.lost(new Error('the listener connection ended'), client));
    client.on('notification', (n) => {
      for (const [channel, set] of this.watchers) {
        if (this.channel(channel) === n.channel) for (const fn of set) fn();
      }
    });
    try {
      await client.connect();
      // Channels watched while these LISTENs run are listened to as well before the listener counts as up.
      const done = new Set<string>();
      for (let next = this.unlistened(done); next; next = this.unlistened(done)) {
        await this.listen(client, next);
        done.add(next);
      }
      if (this.closed) throw new Error('store closed');
      this.listener = client;
      for (const channel of done) this.listened.add(channel);
      // Whatever was signalled while no listener was connected is lost: wake everyone once.
      for (const set of this.watchers.values()) for (const fn of set) fn();
    } catch (err) {
      this.lost(err, client);
      await client.end().catch(() => undefined);
    }
  }

  private unlistened(done: ReadonlySet<string>): string | undefined {
    for (const channel of this.watchers.keys()) if (!done.has(channel)) return channel;
    return undefined;
  }

  /** The listener `client` failed; a stale client's late error does not tear down its successor. */
  private lost(err: unknown, client: pg.Client): void {
    if (client !== this.listenerClient) return;
    this.listenerClient = undefined;
    const old = this.listener;
    this.listener = undefined;
    this.listened.clear();
    if (old) void old.end().catch(() => undefined);
    if (this.closed) return;
    this.down(err);
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listening = this.startListener();
    }, 500);
    this.reconnectTimer.unref();
  }

  health(): StoreHealth {
    return { ...this.state };
  }

  private up(): void {
    if (!this.state.ok) this.state = { ok: true };
  }

  private down(err: unknown): void {
    if (this.state.ok) this.state = { ok: false, error: this.describe(err), since: Date.now() };
  }

  private wrap(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const code = sqlState(err) ?? (err as NodeJS.ErrnoException).code;
    const message = this.describe(err);
    if ((code && UNREACHABLE.test(code)) || /timeout|terminat|connect|Connection/i.test(message)) {
      this.down(err);
      return new StoreUnavailableError(`store ${this.location} is unreachable: ${message}`, { cause: err });
    }
    return new StoreError(`store ${this.location}: ${message}`, { cause: err });
  }

  private describe(err: unknown): string {
    const text = describe(err);
    return this.password ? text.split(this.password).join('***') : text;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.listening?.catch(() => undefined);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    this.listened.clear();
    this.watchers.clear();
    await this.pool.end().catch(() => undefined);
  }
}

function toParam(v: unknown): unknown {
  // SQLite stores booleans as 0/1; the schemas use INTEGER columns for them, so keep that on PostgreSQL.
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined) return null;
  return v;
}

function sqlState(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c) ? c : undefined;
}

function describe(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown };
  const msg = typeof e?.message === 'string' && e.message ? e.message : String(err);
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

/** The URL without its password, with the schema, for messages and `location`. */
export function redactUrl(url: string, schema: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `postgres://${user}${u.host}${u.pathname}${schema === 'public' ? '' : `#${schema}`}`;
  } catch {
    return 'postgres://(unparseable url)';
  }
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
