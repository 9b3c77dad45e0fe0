import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnownSecrets } from '../../src/core/known-secrets.js';
import { MasterKey } from '../../src/core/masterkey.js';
import { createSecretScrubber, loadRedactionKey } from '../../src/redact/scrub.js';
import { openTestStore } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

describe('audit scrubber and redaction key', () => {
  it('replaces known values everywhere in an event, keys included, and leaves other text alone', () => {
    const known = new KnownSecrets();
    const v = `tok-${randomBytes(12).toString('hex')}`;
    known.set('api', v);
    const scrub = createSecretScrubber(known);
    const e = { type: 't', data: { [v]: 1, list: [`a ${v} b`, 'plain', 3], hex: Buffer.from(v).toString('hex') } };
    const out = scrub(e);
    expect(JSON.stringify(out)).not.toContain(v);
    expect(JSON.stringify(out)).not.toContain(Buffer.from(v).toString('hex'));
    expect(out.data.list).toEqual(['a [REDACTED:known_secret] b', 'plain', 3]);
    expect(e.data.list[0]).toContain(v);
  });

  it('the hmac key is created once, sealed under the master key, and stable across opens', async () => {
    const master = MasterKey.fromBytes(randomBytes(32));
    const store = await openTestStore(join(dir, 'g.db'));
    const k1 = await loadRedactionKey(store, master);
    const k2 = await loadRedactionKey(store, master);
    expect(k1.equals(k2)).toBe(true);
    expect(await store.getMeta('redact.hmac_key')).not.toContain(k1.toString('base64'));
    await expect(loadRedactionKey(store, MasterKey.fromBytes(randomBytes(32)))).rejects.toThrow(/unseal/);
    await store.close();
  });
});
