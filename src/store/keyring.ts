import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { KeyError } from '../core/errors.js';
import type { MasterKey } from '../core/masterkey.js';
import type { Store } from './store.js';

export type KeyAlg = 'Ed25519' | 'P-384' | 'RSA-4096';

export interface KeyPairRecord {
  kid: string;
  purpose: string;
  alg: KeyAlg;
  publicKey: KeyObject;
  createdAt: number;
  retiredAt: number | undefined;
}

interface KeyRow {
  kid: string;
  purpose: string;
  alg: KeyAlg;
  public_pem: string;
  sealed_private: Buffer;
  created_at: number;
  retired_at: number | null;
}

/** Generates a key pair of the given algorithm with node:crypto. */
export function generateKeyPair(alg: KeyAlg): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (alg) {
    case 'Ed25519':
      return generateKeyPairSync('ed25519');
    case 'P-384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'RSA-4096':
      return generateKeyPairSync('rsa', { modulusLength: 4096 });
  }
}

/**
 * Gatehouse's own signing keys (audit checkpoints, tokens, CA), kept sealed under the master key:
 * no private key is ever on disk in clear. Rotation keeps the old public key for verification until
 * the overlap ends, so tokens and checkpoints signed just before a rotation still verify.
 */
export class Keyring {
  private readonly cache = new Map<string, KeyObject>();

  constructor(
    private readonly store: Store,
    private readonly master: MasterKey,
    private readonly clock: Clock,
  ) {}

  /** The active key for `purpose`, created on first use. */
  async ensure(purpose: string, alg: KeyAlg = 'Ed25519'): Promise<KeyPairRecord> {
    return (await this.active(purpose)) ?? (await this.create(purpose, alg));
  }

  async active(purpose: string): Promise<KeyPairRecord | undefined> {
    const row = await this.store.get<KeyRow>(
      'SELECT * FROM keys WHERE purpose = ? AND retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1',
      [purpose],
    );
    return row ? toRecord(row) : undefined;
  }

  /** Keys whose signatures are still accepted: the active one and those retired less than `overlapMs` ago. */
  async verificationKeys(purpose: string, overlapMs: number): Promise<KeyPairRecord[]> {
    const since = this.clock.now() - overlapMs;
    const rows = await this.store.all<KeyRow>(
      'SELECT * FROM keys WHERE purpose = ? AND (retired_at IS NULL OR retired_at > ?) ORDER BY created_at DESC',
      [purpose, since],
    );
    return rows.map(toRecord);
  }

  async byKid(kid: string): Promise<KeyPairRecord | undefined> {
    const row = await this.store.get<KeyRow>('SELECT * FROM keys WHERE kid = ?', [kid]);
    return row ? toRecord(row) : undefined;
  }

  /** Unseals the private key of `kid`. Kept in process memory only. */
  async privateKey(kid: string): Promise<KeyObject> {
    const cached = this.cache.get(kid);
    if (cached) return cached;
    const row = await this.store.get<KeyRow>('SELECT * FROM keys WHERE kid = ?', [kid]);
    if (!row) throw new KeyError('key.not_found', `key ${kid} not found`);
    const der = this.master.open(row.sealed_private, `key:${row.purpose}:${row.kid}`);
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    der.fill(0);
    this.cache.set(kid, key);
    return key;
  }

  async create(purpose: string, alg: KeyAlg = 'Ed25519'): Promise<KeyPairRecord> {
    const { publicKey, privateKey } = generateKeyPair(alg);
    return this.importPair(purpose, alg, publicKey, privateKey);
  }

  /** Stores an existing key pair sealed; returns its record. */
  async importPair(purpose: string, alg: KeyAlg, publicKey: KeyObject, privateKey: KeyObject): Promise<KeyPairRecord> {
    const sealed = this.seal(purpose, alg, publicKey, privateKey);
    await this.insert(sealed);
    return sealed.record;
  }

  /** Creates a new active key and retires the previous one (which stays verifiable for the overlap). */
  async rotate(purpose: string, alg?: KeyAlg): Promise<KeyPairRecord> {
    const chosen = alg ?? (await this.active(purpose))?.alg ?? 'Ed25519';
    // Generated outside the transaction, whose body may run more than once.
    const { publicKey, privateKey } = generateKeyPair(chosen);
    const sealed = this.seal(purpose, chosen, publicKey, privateKey);
    await this.store.transaction(async () => {
      await this.store.run('UPDATE keys SET retired_at = ? WHERE purpose = ? AND retired_at IS NULL', [
        this.clock.now(),
        purpose,
      ]);
      await this.insert(sealed);
    });
    return sealed.record;
  }

  private seal(purpose: string, alg: KeyAlg, publicKey: KeyObject, privateKey: KeyObject): SealedKey {
    const now = this.clock.now();
    const kid = `${purpose}-${now.toString(36)}-${randomBytes(6).toString('hex')}`;
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const sealed = this.master.seal(der, `key:${purpose}:${kid}`);
    der.fill(0);
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    return { record: { kid, purpose, alg, publicKey, createdAt: now, retiredAt: undefined }, pem, sealed };
  }

  private async insert(k: SealedKey): Promise<void> {
    const r = k.record;
    await this.store.run(
      'INSERT INTO keys (kid, purpose, alg, public_pem, sealed_private, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, NULL)',
      [r.kid, r.purpose, r.alg, k.pem, k.sealed, r.createdAt],
    );
  }
}

interface SealedKey {
  record: KeyPairRecord;
  pem: string;
  sealed: Buffer;
}

function toRecord(row: KeyRow): KeyPairRecord {
  return {
    kid: row.kid,
    purpose: row.purpose,
    alg: row.alg,
    publicKey: createPublicKey(row.public_pem),
    createdAt: row.created_at,
    retiredAt: row.retired_at ?? undefined,
  };
}

/**
 * The public keys of `purpose` by kid, straight from the store: verifying needs no master key. Read up front
 * because verification (`verifyLog`) looks keys up synchronously.
 */
export async function publicKeysOf(store: Store, purpose: string): Promise<Map<string, KeyObject>> {
  const rows = await store.all<{ kid: string; public_pem: string }>(
    'SELECT kid, public_pem FROM keys WHERE purpose = ?',
    [purpose],
  );
  return new Map(rows.map((r) => [r.kid, createPublicKey(r.public_pem)]));
}

const MASTER_CHECK = 'master_key.check';

/**
 * Refuses a master key other than the one the store's secrets are sealed under. The store keeps a check value
 * (an HMAC of a fixed label, which reveals nothing about the key); the first gateway to open the store writes it
 * and every later one compares, so a gateway started with another key stops at once instead of failing to
 * unseal keys or, worse, sealing new credentials under a key the other gateways cannot open.
 */
export async function verifyMasterKey(store: Store, master: MasterKey): Promise<void> {
  const mine = master.checkValue();
  await store.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING', [MASTER_CHECK, mine]);
  const stored = await store.getMeta(MASTER_CHECK);
  if (stored !== mine) {
    throw new KeyError(
      'key.master_mismatch',
      `the master key does not match the one the store ${store.location} is sealed under: every gateway on one store needs the same GATEHOUSE_MASTER_KEY`,
    );
  }
}
