/**
 * A numbered schema change of one component. Applied once, in order, inside a transaction, under a lock that
 * makes gateways starting together apply it once. `sql` is written in the portable subset both engines accept
 * (see `postgresDdl`); `postgres` replaces it where PostgreSQL needs a different statement.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  postgres?: string;
}

export type SqlParams = readonly unknown[];

export type Dialect = 'sqlite' | 'postgres';

/** What a component can do with SQL. Statements use `?` placeholders in both dialects. */
export interface Queryable {
  run(sql: string, params?: SqlParams): Promise<{ changes: number }>;
  get<T>(sql: string, params?: SqlParams): Promise<T | undefined>;
  all<T>(sql: string, params?: SqlParams): Promise<T[]>;
}

/** Whether the store answers, for `/healthz` and for the fail-closed reason of a decision. */
export interface StoreHealth {
  ok: boolean;
  /** Set while the store is unreachable: the last error, without credentials. */
  error?: string;
  since?: number;
}

/**
 * The store every component keeps its state in: SQLite embedded (the default) or PostgreSQL shared by several
 * gateways. Each component (identity, policy, approvals, …) owns its tables and migrates them itself through
 * `migrate`, so components stay independent; the schema version table records each one.
 *
 * Statements inside `transaction(fn)` run on the transaction wherever they are called from (the store tracks
 * the transaction through async context), so a component's helpers need no transaction handle. A nested call
 * runs in a savepoint. The body may run more than once (PostgreSQL retries a serialisation failure), so it must
 * touch only the store; in-memory changes belong after it returns.
 */
export interface Store extends Queryable {
  readonly dialect: Dialect;
  /** Where the data lives, without credentials: a file path or `postgres://user@host:port/db`. */
  readonly location: string;
  /** Applies the component's migrations above its recorded version; refuses a store newer than the code. */
  migrate(component: string, migrations: readonly Migration[]): Promise<void>;
  schemaVersion(component: string): Promise<number>;
  /** Runs `fn` in one serialisable transaction: all of its writes land, or none do. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Tells every process watching `channel` that something changed there. Inside a transaction it is sent on
   * commit. PostgreSQL uses NOTIFY; SQLite has no cross-process signal, so watchers there rely on their poll.
   */
  signal(channel: string): Promise<void>;
  /**
   * Calls `fn` soon after `signal(channel)` in any process (the caller pairs this with a version poll). A signal
   * sent in this process wakes its watchers before the signalling call (or its transaction) returns.
   */
  watch(channel: string, fn: () => void): () => void;
  /**
   * Whether a signal on `channel` sent by another process now will wake this process's watchers: true only while
   * the listener is connected and listening on it. A cache kept fresh by `watch` may be trusted only while this
   * holds; SQLite, which has no cross-process signal, always answers false.
   */
  watching(channel: string): boolean;
  health(): StoreHealth;
  close(): Promise<void>;
}
