import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { type IdentityConfig, IdentitySchema } from '../../src/config/sections/identity.js';
import { ManualClock } from '../../src/core/clock.js';
import { MasterKey } from '../../src/core/masterkey.js';
import { Identity } from '../../src/identity/service.js';
import { Keyring } from '../../src/store/keyring.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';

export interface Fixture {
  dir: string;
  clock: ManualClock;
  store: Store;
  master: MasterKey;
  keyring: Keyring;
  audit: AuditLog;
  identity: Identity;
  config: IdentityConfig;
  /** Opens a second Identity on the same store (another process's view); closed with the fixture. */
  reopen(overrides?: Record<string, unknown>): Promise<Identity>;
  close(): Promise<void>;
}

/** A fresh identity component in a temp dir with a manual clock; `init` already run. */
export async function makeFixture(
  overrides: Record<string, unknown> = {},
  opts: { init?: boolean } = {},
): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-id-'));
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  const store = await openTestStore(join(dir, 'gatehouse.db'));
  const master = MasterKey.fromBytes(randomBytes(32));
  const keyring = new Keyring(store, master, clock);
  const audit = AuditLog.open({ dir: join(dir, 'audit'), clock });
  const config = IdentitySchema.parse(overrides);
  const identity = await Identity.open({ config, store, keyring, master, audit, clock });
  if (opts.init ?? true) await identity.init('host');
  const others: Identity[] = [];
  return {
    dir,
    clock,
    store,
    master,
    keyring,
    audit,
    identity,
    config,
    async reopen(o = {}) {
      const other = await Identity.open({
        config: IdentitySchema.parse({ ...overrides, ...o }),
        store,
        keyring: new Keyring(store, master, clock),
        master,
        audit,
        clock,
      });
      others.push(other);
      return other;
    },
    async close() {
      for (const i of [identity, ...others]) await i.close();
      await audit.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Audit events of the log so far. */
export async function auditEvents(f: Fixture): Promise<Array<Record<string, unknown>>> {
  await f.audit.flush();
  const { readFileSync, readdirSync } = await import('node:fs');
  const files = readdirSync(join(f.dir, 'audit')).filter((n) => n.endsWith('.jsonl'));
  return files.flatMap((n) =>
    readFileSync(join(f.dir, 'audit', n), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}
