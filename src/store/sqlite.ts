import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import { CORE_MIGRATIONS } from './migrations.js';
import type { Migration, SqlParams, Store } from './store.js';

type Db = InstanceType<typeof Database>;
type Stmt = Database.Statement<unknown[]>;

/**
 * SQLite store (better-sqlite3): WAL journal, synchronous=FULL so an acknowledged write survives power loss,
 * foreign keys on, a busy timeout so the CLI and the gateway can share one file.
 */
export class SqliteStore implements Store {
  private readonly db: Db;
  private readonly statements = new Map<string, Stmt>();
  readonly location: string;

  constructor(file: string) {
    this.location = file;
    try {
      this.db = openDatabase(file);
      this.migrate('core', CORE_MIGRATIONS);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot open store ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  migrate(component: string, migrations: readonly Migration[]): void {
    const sorted = [...migrations].sort((a, b) => a.version - b.version);
    sorted.forEach((m, i) => {
      if (m.version !== i + 1)
        throw new StoreError(`${component} migrations must be numbered 1..n; found ${m.version} at ${i + 1}`);
    });
    const current = this.schemaVersion(component);
    if (current > sorted.length) {
      throw new StoreError(
        `store ${this.location} has ${component} schema version ${current}, newer than this Gatehouse knows (${sorted.length}); upgrade Gatehouse`,
      );
    }
    for (const m of sorted.slice(current)) {
      try {
        this.db.transaction(() => {
          this.db.exec(m.sql);
          this.db
            .prepare(
              `INSERT INTO schema_version (component, version, applied_at) VALUES (?, ?, ?)
               ON CONFLICT(component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
            )
            .run(component, m.version, new Date().toISOString());
        })();
      } catch (err) {
        throw new StoreError(`migration ${component} #${m.version} (${m.name}) failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  schemaVersion(component: string): number {
    const row = this.db.prepare('SELECT version FROM schema_version WHERE component = ?').get(component) as
      | { version: number }
      | undefined;
    return row?.version ?? 0;
  }

  private stmt(sql: string): Stmt {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  run(sql: string, params: SqlParams = []): { changes: number } {
    const r = Array.isArray(params) ? this.stmt(sql).run(...(params as unknown[])) : this.stmt(sql).run(params);
    return { changes: r.changes };
  }

  get<T>(sql: string, params: SqlParams = []): T | undefined {
    return (Array.isArray(params) ? this.stmt(sql).get(...(params as unknown[])) : this.stmt(sql).get(params)) as
      | T
      | undefined;
  }

  all<T>(sql: string, params: SqlParams = []): T[] {
    return (Array.isArray(params) ? this.stmt(sql).all(...(params as unknown[])) : this.stmt(sql).all(params)) as T[];
  }

  transaction<T>(fn: () => T): T {
    // IMMEDIATE: a read-then-write transaction takes the write lock up front, so two processes checking the same
    // budget serialise instead of one failing with SQLITE_BUSY_SNAPSHOT.
    return this.db.transaction(fn).immediate();
  }

  getMeta(key: string): string | undefined {
    return this.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key])?.value;
  }

  setMeta(key: string, value: string): void {
    this.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [
      key,
      value,
    ]);
  }

  close(): void {
    this.statements.clear();
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
