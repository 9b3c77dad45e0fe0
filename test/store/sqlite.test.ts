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
  it('applies numbered migrations once per component and records the version', () => {
    const { file } = fresh();
    const s = new SqliteStore(file);
    s.migrate('test', [m1]);
    expect(s.schemaVersion('test')).toBe(1);
    s.migrate('test', [m2, m1]);
    expect(s.schemaVersion('test')).toBe(2);
    s.run('INSERT INTO items (id, n, note) VALUES (?, ?, ?)', ['a', 1, 'x']);
    s.close();
    const again = new SqliteStore(file);
    again.migrate('test', [m1, m2]);
    expect(again.get<{ note: string }>('SELECT note FROM items WHERE id = ?', ['a'])?.note).toBe('x');
    expect(again.getMeta('nothing')).toBeUndefined();
    again.close();
  });
  it('refuses a store newer than the code and gaps in numbering', () => {
    const { file } = fresh();
    const s = new SqliteStore(file);
    s.migrate('test', [m1, m2]);
    expect(() => s.migrate('test', [m1])).toThrow(/newer than this Gatehouse knows/);
    expect(() => s.migrate('other', [m1, { ...m2, version: 3 }])).toThrow(StoreError);
    s.close();
  });
  it('a failing migration leaves nothing half-applied', () => {
    const { file } = fresh();
    const s = new SqliteStore(file);
    const bad = { version: 1, name: 'bad', sql: 'CREATE TABLE t1 (a INTEGER); CREATE TABLE broken (' };
    expect(() => s.migrate('bad', [bad])).toThrow(/migration bad #1/);
    expect(s.schemaVersion('bad')).toBe(0);
    expect(s.get("SELECT name FROM sqlite_master WHERE name = 't1'")).toBeUndefined();
    s.close();
  });
  it('transactions are all or nothing', () => {
    const { file } = fresh();
    const s = new SqliteStore(file);
    s.migrate('test', [m1]);
    expect(() =>
      s.transaction(() => {
        s.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 1]);
        s.run('INSERT INTO items (id, n) VALUES (?, ?)', ['a', 2]);
      }),
    ).toThrow();
    expect(s.all('SELECT * FROM items')).toEqual([]);
    s.setMeta('k', 'v1');
    s.setMeta('k', 'v2');
    expect(s.getMeta('k')).toBe('v2');
    s.close();
  });
});
