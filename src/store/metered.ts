import type { Dialect, Migration, SqlParams, Store, StoreHealth } from './store.js';

/** What a metered store reports: the operation and how long the store took, in seconds. */
export type StoreTimer = (op: 'run' | 'get' | 'all' | 'transaction', seconds: number, ok: boolean) => void;

/**
 * A store that times every statement and transaction it passes on, for the store-latency metric. It adds no
 * behaviour: statements still reach the same store (and so the transaction the store tracks in async context).
 */
export class MeteredStore implements Store {
  constructor(
    private readonly inner: Store,
    private readonly timer: StoreTimer,
  ) {}

  get dialect(): Dialect {
    return this.inner.dialect;
  }

  get location(): string {
    return this.inner.location;
  }

  private async timed<T>(op: Parameters<StoreTimer>[0], fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const out = await fn();
      this.timer(op, (performance.now() - start) / 1000, true);
      return out;
    } catch (err) {
      this.timer(op, (performance.now() - start) / 1000, false);
      throw err;
    }
  }

  run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    return this.timed('run', () => this.inner.run(sql, params));
  }

  get<T>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return this.timed('get', () => this.inner.get<T>(sql, params));
  }

  all<T>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.timed('all', () => this.inner.all<T>(sql, params));
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.timed('transaction', () => this.inner.transaction(fn));
  }

  migrate(component: string, migrations: readonly Migration[]): Promise<void> {
    return this.inner.migrate(component, migrations);
  }

  schemaVersion(component: string): Promise<number> {
    return this.inner.schemaVersion(component);
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.inner.getMeta(key);
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.inner.setMeta(key, value);
  }

  signal(channel: string): Promise<void> {
    return this.inner.signal(channel);
  }

  watch(channel: string, fn: () => void): () => void {
    return this.inner.watch(channel, fn);
  }

  watching(channel: string): boolean {
    return this.inner.watching(channel);
  }

  health(): StoreHealth {
    return this.inner.health();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
