import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import { readMeta, writeMeta } from './meta.js';
import { CORE_MIGRATIONS, orderedMigrations } from './migrations.js';
import type { Migration, SqlParams, Store, StoreHealth } from './store.js';

type Db = InstanceType<typeof Database>;
type Stmt = Database.Statement<unknown[]>;

interface Tx {
  depth: number;
  /** Channels signalled inside the transaction, fired once it commits. */
  signals: Set<string>;
}

/**
 * SQLite store (better-sqlite3), the embedded default: WAL journal, synchronous=FULL so an acknowledged write
 * survives power loss, foreign keys on, a busy timeout so the CLI and the gateway can share one file.
 *
 * better-sqlite3 is synchronous and has one connection, so an open transaction owns it: statements from other
 * async contexts wait until it ends instead of landing inside it. Transactions are IMMEDIATE (the write lock
 * is taken up front), which makes a read-then-write body serial across processes as well.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly location: string;
  private readonly db: Db;
  private readonly statements = new Map<string, Stmt>();
  private readonly tx = new AsyncLocalStorage<Tx>();
  /** Settles when the open transaction ends; undefined when none is open. */
  private busy: Promise<void> | undefined;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(file: string) {
    this.location = file;
    try {
      this.db = openDatabase(file);
    } catch (err) {
      throw new StoreError(`cannot open store ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Opens the file and applies the core migrations. */
  static async open(file: string): Promise<SqliteStore> {
    const store = new SqliteStore(file);
    try {
      await store.migrate('core', CORE_MIGRATIONS);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async migrate(component: string, migrations: readonly Migration[]): Promise<void> {
    const sorted = orderedMigrations(component, migrations);
    await this.transaction(async () => {
      const current = await this.schemaVersion(component);
      if (current > sorted.length) {
        throw new StoreError(
          `store ${this.location} has ${component} schema version ${current}, newer than this Gatehouse knows (${sorted.length}); upgrade Gatehouse`,
        );
      }
      for (const m of sorted.slice(current)) {
        try {
          this.db.exec(m.sql);
        } catch (err) {
          throw new StoreError(`migration ${component} #${m.version} (${m.name}) failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        await this.run(
          `INSERT INTO schema_version (component, version, applied_at) VALUES (?, ?, ?)
           ON CONFLICT(component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
          [component, m.version, new Date().toISOString()],
        );
      }
    });
  }

  async schemaVersion(component: string): Promise<number> {
    const row = await this.get<{ version: number }>('SELECT version FROM schema_version WHERE component = ?', [
      component,
    ]);
    return row?.version ?? 0;
  }

  private stmt(sql: string): Stmt {
    let s = this.statements.get(sql);
    if (!s) {
      try {
        s = this.db.prepare<unknown[]>(sql);
      } catch (err) {
        throw new StoreError(`invalid statement: ${(err as Error).message}`, { cause: err });
      }
      this.statements.set(sql, s);
    }
    return s;
  }

  async run(sql: string, params: SqlParams = []): Promise<{ changes: number }> {
    // Checked and used with no await in between, so no transaction can open in the gap.
    while (this.busy && !this.tx.getStore()) await this.busy;
    return { changes: this.stmt(sql).run(...params).changes };
  }

  async get<T>(sql: string, params: SqlParams = []): Promise<T | undefined> {
    while (this.busy && !this.tx.getStore()) await this.busy;
    return this.stmt(sql).get(...params) as T | undefined;
  }

  async all<T>(sql: string, params: SqlParams = []): Promise<T[]> {
    while (this.busy && !this.tx.getStore()) await this.busy;
    return this.stmt(sql).all(...params) as T[];
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.tx.getStore();
    if (outer) {
      const name = `sp${outer.depth + 1}`;
      this.db.exec(`SAVEPOINT ${name}`);
      try {
        const result = await this.tx.run({ ...outer, depth: outer.depth + 1 }, fn);
        this.db.exec(`RELEASE ${name}`);
        return result;
      } catch (err) {
        this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
        throw err;
      }
    }
    while (this.busy) await this.busy;
    let release!: () => void;
    this.busy = new Promise<void>((r) => {
      release = r;
    });
    const ctx: Tx = { depth: 0, signals: new Set() };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = await this.tx.run(ctx, fn);
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
      for (const c of ctx.signals) this.fire(c);
      return result;
    } finally {
      this.busy = undefined;
      release();
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
    else this.fire(channel);
  }

  watch(channel: string, fn: () => void): () => void {
    let set = this.watchers.get(channel);
    if (!set) {
      set = new Set();
      this.watchers.set(channel, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Other processes on the same file (the CLI) cannot signal this one: callers must rely on their poll. */
  watching(_channel: string): boolean {
    return false;
  }

  private fire(channel: string): void {
    for (const fn of this.watchers.get(channel) ?? []) queueMicrotask(fn);
  }

  health(): StoreHealth {
    return { ok: this.db.open };
  }

  async close(): Promise<void> {
    while (this.busy) await this.busy;
    this.statements.clear();
    this.watchers.clear();
    if (this.db.open) this.db.close();
  }
}

/**
 * Opens a SQLite file as every Gatehouse store does: owner-only, WAL, synchronous=FULL, foreign keys, a busy
 * timeout, and the store's own tables (schema versions, meta).
 */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  // The store holds sealed keys and credentials: owner-only even though they are encrypted.
  if (file !== ':memory:') chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  return db;
}
