/** A numbered schema change of one component. Applied once, in order, inside a transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** The statement PostgreSQL runs instead, where `postgresDdl`'s translation of `sql` is not enough. */
  postgres?: string;
}

export type SqlParams = readonly unknown[] | Record<string, unknown>;

/**
 * The embedded store. Each component (identity, policy, approvals, …) owns its tables and migrates them
 * itself through `migrate`, so components stay independent; the schema version table records each one.
 * SQLite is the default implementation; another SQL database can implement the same interface.
 */
export interface Store {
  readonly location: string;
  /** Applies the component's migrations above its recorded version; refuses a store newer than the code. */
  migrate(component: string, migrations: readonly Migration[]): void;
  schemaVersion(component: string): number;
  run(sql: string, params?: SqlParams): { changes: number };
  get<T>(sql: string, params?: SqlParams): T | undefined;
  all<T>(sql: string, params?: SqlParams): T[];
  /** Runs `fn` in one transaction: all of its writes land, or none do. */
  transaction<T>(fn: () => T): T;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}
