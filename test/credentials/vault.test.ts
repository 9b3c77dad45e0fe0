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
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';

const dirs: string[] = [];
async function fresh(): Promise<{ dir: string; store: Store }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-vault-'));
  dirs.push(dir);
  return { dir, store: await openTestStore(join(dir, 'gatehouse.db')) };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LocalVault', () => {
  it('stores values sealed: the database files never contain the value', async () => {
    const { dir, store } = await fresh();
    const vault = await LocalVault.open(store, MasterKey.fromBytes(randomBytes(32)), new ManualClock());
    const value = `ghp_${randomBytes(18).toString('hex')}`;
    await vault.put('github_token', value, { agents: ['bot'], tools: ['http.get'] });
    expect(await vault.reveal('github_token')).toBe(value);
    await store.close();
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(Buffer.from(value))).toBe(false);
  });

  it('a different master key cannot open it, and a sealed value cannot be moved to another name', async () => {
    const { store } = await fresh();
    const key = randomBytes(32);
    const vault = await LocalVault.open(store, MasterKey.fromBytes(key), new ManualClock());
    await vault.put('a', 'value-of-a-123', { agents: ['*'], tools: ['*'] });
    await vault.put('b', 'value-of-b-456', { agents: ['*'], tools: ['*'] });
    const other = await LocalVault.open(store, MasterKey.fromBytes(randomBytes(32)), new ManualClock());
    await expect(other.reveal('a')).rejects.toThrow(/unseal/);
    await store.run('UPDATE credentials SET sealed = (SELECT sealed FROM credentials WHERE name = ?) WHERE name = ?', [
      'a',
      'b',
    ]);
    await expect(vault.reveal('b')).rejects.toThrow(/unseal/);
    await store.close();
  });

  it('lists names and scopes only, replaces on put, removes, and validates names and values', async () => {
    const { store } = await fresh();
    const clock = new ManualClock();
    const vault = await LocalVault.open(store, MasterKey.fromBytes(randomBytes(32)), clock);
    await vault.put('x', 'first-value', { agents: ['a'], tools: ['t'] });
    clock.advance(1000);
    await vault.put('x', 'second-value', { agents: ['a', 'b'], tools: ['t'] });
    expect(await vault.list()).toEqual([
      expect.objectContaining({ name: 'x', agents: ['a', 'b'], tools: ['t'], backend: 'vault' }),
    ]);
    expect(JSON.stringify(await vault.list())).not.toContain('value');
    expect(await vault.reveal('x')).toBe('second-value');
    expect(await vault.remove('x')).toBe(true);
    expect(await vault.remove('x')).toBe(false);
    expect(await vault.reveal('x')).toBeUndefined();
    await expect(vault.put('bad name', 'v', { agents: [], tools: [] })).rejects.toThrow(/letters, digits/);
    await expect(vault.put('ok', '', { agents: [], tools: [] })).rejects.toThrow(/empty/);
    await store.close();
  });
});

describe('EnvBackend and scope globs', () => {
  it('reads mapped variables only, read-only', async () => {
    const env = new EnvBackend(
      { gh: { var: 'GH_TOKEN', agents: ['bot-*'], tools: ['http.*'] } },
      { GH_TOKEN: 'tok-123456', OTHER: 'x' },
    );
    expect(await env.reveal('gh')).toBe('tok-123456');
    expect(await env.reveal('OTHER')).toBeUndefined();
    expect(await env.list()).toEqual([{ name: 'gh', backend: 'env', agents: ['bot-*'], tools: ['http.*'] }]);
    expect(globMatch('bot-*', 'bot-1')).toBe(true);
    expect(globMatch('bot-*', 'evil')).toBe(false);
    expect(globMatch('http.get', 'http.getx')).toBe(false);
  });
});
