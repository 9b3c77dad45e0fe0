import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { IdentitySchema } from '../../src/config/sections/identity.js';
import { ManualClock } from '../../src/core/clock.js';
import { StoreError } from '../../src/core/errors.js';
import { MasterKey } from '../../src/core/masterkey.js';
import { IdentityCodes } from '../../src/identity/errors.js';
import { Identity } from '../../src/identity/service.js';
import { Keyring } from '../../src/store/keyring.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** An Identity on its own connection to the store in `dir`, as another process would open it. */
async function openProcess(
  dir: string,
  master: MasterKey,
  store?: Store,
): Promise<{ identity: Identity; store: Store }> {
  const s = store ?? (await openTestStore(join(dir, 'gatehouse.db')));
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  const audit = AuditLog.open({ dir: join(dir, `audit-${randomBytes(4).toString('hex')}`), clock });
  const identity = await Identity.open({
    config: IdentitySchema.parse({ sync_interval: 100 }),
    store: s,
    keyring: new Keyring(s, master, clock),
    master,
    audit,
    clock,
  });
  closers.push(async () => {
    await identity.close();
    await audit.close();
    if (!store) await s.close();
  });
  return { identity, store: s };
}

describe('identity change feed', () => {
  it('another connection catches up in the background within sync_interval: agents and revocations', async () => {
    const t = tempDir();
    closers.push(t.cleanup);
    const master = MasterKey.fromBytes(randomBytes(32));
    const writer = await openProcess(t.dir, master);
    await writer.identity.init('host');
    const reader = await openProcess(t.dir, master);
    await writer.identity.register({ id: 'late', roles: ['reader'], generateKey: 'Ed25519' }, 'host');
    await vi.waitFor(() => expect(reader.identity.registry.get('late')).toMatchObject({ roles: ['reader'] }));
    const token = await writer.identity.issueToken('late', { actor: 'host', refresh: false });
    await reader.identity.tokens.verify(token.access_token);
    await writer.identity.tokens.revokeAccess(token.jti, 'test', 'host');
    await expect
      .poll(() =>
        reader.identity.tokens.verify(token.access_token).then(
          () => 'valid',
          (e: { code?: string }) => e.code,
        ),
      )
      .toBe(IdentityCodes.tokenRevoked);
  });

  it('a catch-up that fails denies instead of serving stale state, is reported by sync(), and is retried', async () => {
    const t = tempDir();
    closers.push(t.cleanup);
    const base = await openTestStore(join(t.dir, 'gatehouse.db'));
    closers.push(() => base.close());
    let down = false;
    const flaky = new Proxy(base, {
      get(target, prop) {
        if (down && (prop === 'get' || prop === 'all'))
          return async () => Promise.reject(new Error('database is down'));
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const { identity } = await openProcess(t.dir, MasterKey.fromBytes(randomBytes(32)), flaky);
    await identity.register({ id: 'a1' }, 'host');
    down = true;
    await expect(identity.sync()).rejects.toThrow(StoreError);
    expect(() => identity.registry.get('a1')).toThrow(/database is down/);
    down = false;
    // The background catch-up retries on its own and clears the failure.
    await vi.waitFor(() => expect(identity.registry.get('a1')?.id).toBe('a1'));
    await expect(identity.sync()).resolves.toBeUndefined();
  });
});
