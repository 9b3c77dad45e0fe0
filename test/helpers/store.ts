import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

/**
 * The store a test runs against, core migrations applied: SQLite at `file` (default in memory). Tests take
 * their store from here, so the suite can run against another implementation by changing this one place.
 */
export function openTestStore(file = ':memory:'): Promise<Store> {
  return SqliteStore.open(file);
}
