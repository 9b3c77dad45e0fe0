import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyError } from '../../src/core/errors.js';
import { MasterKey } from '../../src/core/masterkey.js';
import { tempDir } from '../helpers/tmp.js';

let cleanup = () => {};
afterEach(() => cleanup());

describe('MasterKey', () => {
  it('seals and opens; the context is bound', () => {
    const mk = MasterKey.fromBytes(Buffer.alloc(32, 7));
    const sealed = mk.seal(Buffer.from('top secret'), 'key:audit:1');
    expect(sealed.includes(Buffer.from('top secret'))).toBe(false);
    expect(mk.open(sealed, 'key:audit:1').toString()).toBe('top secret');
    expect(() => mk.open(sealed, 'key:token:1')).toThrow(KeyError);
  });
  it('detects any flipped bit and a wrong key', () => {
    const mk = MasterKey.fromBytes(Buffer.alloc(32, 7));
    const sealed = mk.seal(Buffer.from('payload'), 'c');
    for (const i of [0, 5, 20, sealed.length - 1]) {
      const t = Buffer.from(sealed);
      t[i] = t[i]! ^ 1;
      expect(() => mk.open(t, 'c')).toThrow(KeyError);
    }
    expect(() => MasterKey.fromBytes(Buffer.alloc(32, 8)).open(sealed, 'c')).toThrow(/wrong master key or tampered/);
  });
  it('creates the key file with mode 0600 and refuses a group-readable one', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'master.key');
    MasterKey.ensureFile(file, {});
    chmodSync(file, 0o644);
    expect(() => MasterKey.fromEnvOrFile(file, {})).toThrow(/chmod 600/);
  });
  it('prefers GATEHOUSE_MASTER_KEY and rejects a malformed one without echoing it', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'none.key');
    const hex = 'ab'.repeat(32);
    const a = MasterKey.fromEnvOrFile(file, { GATEHOUSE_MASTER_KEY: hex });
    expect(a.open(a.seal(Buffer.from('x'), 'c'), 'c').toString()).toBe('x');
    const bad = 'not-a-key-but-a-secret-value';
    let msg = '';
    try {
      MasterKey.fromEnvOrFile(file, { GATEHOUSE_MASTER_KEY: bad });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/32 bytes/);
    expect(msg).not.toContain(bad);
    writeFileSync(join(t.dir, 'x'), '');
    expect(() => MasterKey.fromEnvOrFile(join(t.dir, 'missing.key'), {})).toThrow(/gatehouse init/);
  });
});
