import type { Queryable } from './store.js';

/** The store's key-value table, the same SQL on both engines. */
export async function readMeta(q: Queryable, key: string): Promise<string | undefined> {
  return (await q.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]))?.value;
}

export async function writeMeta(q: Queryable, key: string, value: string): Promise<void> {
  await q.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [
    key,
    value,
  ]);
}
