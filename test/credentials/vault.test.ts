import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/core/masterkey.js';
import { globMatch } from '../../src/credentials/backend.js';
import { EnvBackend } from '../../src/credentials/env.js';
import { LocalVault } from '../../src/credentials/vault.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const dirs: string[] = [];
function fresh(): { dir: string; store: SqliteStore } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-vault-'));
  dirs.push(dir);
  return { dir, store: new SqliteStore(join(dir, 'gatehouse.db')) };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LocalVault', () => {
  it('stores values sealed: the database files never contain the value', () => {
    const { dir, store } = fresh();
    const vault = new LocalVault(store, MasterKey.fromBytes(randomBytes(32)), new ManualClock());
    const value = `ghp_${randomBytes(18).toString('hex')}`;
    vault.put('github_token', value, { agents: ['bot'], tools: ['http.get'] });
    expect(vault.reveal('github_token')).toBe(value);
    store.close();
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(Buffer.from(value))).toBe(false);
  });

  it('a different master key cannot open it, and a sealed value cannot be moved to another name', () => {
    const { store } = fresh();
    const key = randomBytes(32);
    const vault = new LocalVault(store, MasterKey.fromBytes(key), new ManualClock());
    vault.put('a', 'value-of-a-123', { agents: ['*'], tools: ['*'] });
    vault.put('b', 'value-of-b-456', { agents: ['*'], tools: ['*'] });
    expect(() => new LocalVault(store, MasterKey.fromBytes(randomBytes(32)), new ManualClock()).reveal('a')).toThrow(
      /unseal/,
    );
    store.run('UPDATE credentials SET sealed = (SELECT sealed FROM credentials WHERE name = ?) WHERE name = ?', [
      'a',
      'b',
    ]);
    expect(() => vault.reveal('b')).toThrow(/unseal/);
    store.close();
  });

  it('lists names and scopes only, replaces on put, removes, and validates names and values', () => {
    const { store } = fresh();
    const clock = new ManualClock();
    const vault = new LocalVault(store, MasterKey.fromBytes(randomBytes(32)), clock);
    vault.put('x', 'first-value', { agents: ['a'], tools: ['t'] });
    clock.advance(1000);
    vault.put('x', 'second-value', { agents: ['a', 'b'], tools: ['t'] });
    expect(vault.list()).toEqual([
      expect.objectContaining({ name: 'x', agents: ['a', 'b'], tools: ['t'], backend: 'vault' }),
    ]);
    expect(JSON.stringify(vault.list())).not.toContain('value');
    expect(vault.reveal('x')).toBe('second-value');
    expect(vault.remove('x')).toBe(true);
    expect(vault.remove('x')).toBe(false);
    expect(vault.reveal('x')).toBeUndefined();
    expect(() => vault.put('bad name', 'v', { agents: [], tools: [] })).toThrow(/letters, digits/);
    expect(() => vault.put('ok', '', { agents: [], tools: [] })).toThrow(/empty/);
    store.close();
  });
});

describe('EnvBackend and scope globs', () => {
  it('reads mapped variables only, read-only', () => {
    const env = new EnvBackend(
      { gh: { var: 'GH_TOKEN', agents: ['bot-*'], tools: ['http.*'] } },
      { GH_TOKEN: 'tok-123456', OTHER: 'x' },
    );
    expect(env.reveal('gh')).toBe('tok-123456');
    expect(env.reveal('OTHER')).toBeUndefined();
    expect(env.list()).toEqual([{ name: 'gh', backend: 'env', agents: ['bot-*'], tools: ['http.*'] }]);
    expect(globMatch('bot-*', 'bot-1')).toBe(true);
    expect(globMatch('bot-*', 'evil')).toBe(false);
    expect(globMatch('http.get', 'http.getx')).toBe(false);
  });
});
