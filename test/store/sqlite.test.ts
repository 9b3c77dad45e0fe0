import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/tmp.js';

let cleanup = () => {};
afterEach(() => cleanup());

function fresh(): { file: string } {
  const t = tempDir();
  cleanup = t.cleanup;
  return { file: join(t.dir, 'g.db') };
}

const m1 = { version: 1, name: 'items', sql: 'CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL)' };
const m2 = { version: 2, name: 'items.note', sql: 'ALTER TABLE items ADD COLUMN note TEXT' };

describe('SqliteStore', () => {
  it('applies numbered migrations once per component and records the version', async () => {
    const { file } = fresh();
    const s = await SqliteStore.open(file);
    await s.migrate('test', [m1]);
    expect(await s.schemaVersion('test')).toBe(1);
    await s.migrate('test', [m2, m1]);
    expect(await s.schemaVersion('test')).toBe(2);
    await s.run('INSERT INTO items (id, n, note) VALUES (?, ?, ?)', ['a', 1, 'x']);
    await s.close();
    const again = await SqliteStore.open(file);
    await again.migrate('test', [m1, m2]);
    expect((await again.get<{ note: string }>('SELECT note FROM items WHERE id = ?', ['a']))?.note).toBe('x');
    expect(await again.getMeta('nothing')).toBeUndefined();
    await again.close();
  });
  it('refuses a store newer than the code and gaps in numbering', async () => {
    const { file } = fresh();
    const s = await SqliteStore.open(file);
    await s.migrate('test', [m1, m2]);
    await expect(s.migrate('test', [m1])).rejects.toThrow(/newer than this Gatehouse knows/);
    await expect(s.migrate('other', [m1, { ...m2, version: 3 }])).rejects.toThrow(StoreError);
    await s.close();
  });
  it('a failing migration leaves nothing half-applied', async () => {
    const { file } = fresh();
    const s = await SqliteStore.open(file);
    const bad = { version: 1, name: 'bad', sql: 'CREATE TABLE t1 (a INTEGER); CREATE TABLE broken (' };
    await expect(s.migrate('bad', [bad])).rejects.toThrow(/migration bad #1/);
    expect(await s.schemaVersion('bad')).toBe(0);
    expect(await s.get("SELECT name FROM sqlite_master WHERE name = 't1'")).toBeUndefined();
    await s.close();
  });
  it('transactions are all or nothing', async () => {
    const { file } = fresh();
    const s = await SqliteStore.open(file);
    await s.migrate('test', [m1]);
    await expect(
      s.transaction(async () => {
        await s.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 1]);
        await s.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 2]);
      }),
    ).rejects.toThrow();
    expect(await s.all('SELECT * FROM items')).toEqual([]);
    await s.setMeta('k', 'v1');
    await s.setMeta('k', 'v2');
    expect(await s.getMeta('k')).toBe('v2');
    await s.close();
  });
});
