import { createHash, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAnchor } from '../../src/audit/anchor.js';
import { AuditLog } from '../../src/audit/log.js';
import { verifyLog, type Witness } from '../../src/audit/verify.js';
import { canonicalize } from '../../src/core/canonical.js';
import { tempDir } from '../helpers/tmp.js';

const keys = generateKeyPairSync('ed25519');
const signer = { kid: 'k1', privateKey: keys.privateKey };
let data: string;
let dir: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir: data, cleanup } = tempDir());
  dir = join(data, 'audit');
  // The main store's meta table, as SqliteStore creates it.
  const db = new Database(join(data, 'gatehouse.db'));
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.close();
});
afterEach(() => cleanup());

async function write(n: number, tag = 'a'): Promise<void> {
  const log = AuditLog.open({ dir, signer });
  for (let i = 0; i < n; i++) await log.append({ type: 'decision', agent: tag, data: { i } });
  await log.close();
}

const segFile = () => join(dir, 'seg-00000001.jsonl');
const events = () =>
  readFileSync(segFile(), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { seq: number; hash: string; type: string; data?: Record<string, unknown> });

/** What an attacker with write access to the files can do without the key: extend the chain correctly. */
function forgeAppend(n: number): void {
  for (let k = 0; k < n; k++) {
    const last = events().at(-1)!;
    const body = {
      type: 'decision',
      agent: 'forged',
      seq: last.seq + 1,
      ts: new Date().toISOString(),
      prev: last.hash,
    };
    const canonical = canonicalize(body);
    const hash = createHash('sha256').update(last.hash).update(canonical).digest('hex');
    appendFileSync(segFile(), `${canonical.slice(0, -1)},"hash":"${hash}"}\n`);
  }
}

const storeWitness = (): Witness[] => {
  const a = readAnchor(join(data, 'gatehouse.db'));
  return a ? [{ ...a, source: 'gatehouse.db' }] : [];
};

describe('audit: only what the key signed verifies', () => {
  it('reports a chain-valid tail appended after the signed checkpoint as unsigned, not ok', async () => {
    await write(5);
    forgeAppend(3);
    const r = verifyLog(dir, { publicKey: keys.publicKey });
    expect(r).toMatchObject({ ok: false, status: 'unsigned_tail', firstBadSeq: 6, lastSeq: 8, unsigned: 3 });
    // Explicitly allowed (a crash inside the signing window), the same log passes but still says so.
    expect(verifyLog(dir, { publicKey: keys.publicKey, allowUnsignedTail: true })).toMatchObject({
      ok: true,
      status: 'unsigned_tail',
      unsigned: 3,
    });
  });

  it('the next open does not silently adopt and sign a foreign tail: the chain records it first', async () => {
    await write(5);
    forgeAppend(3);
    await write(1, 'later');
    const evs = events();
    const mark = evs.find((e) => e.type === 'audit.unsigned_tail');
    expect(mark?.seq).toBe(9);
    expect(mark?.data).toMatchObject({ from: 6, to: 8, events: 3 });
    const r = verifyLog(dir, { publicKey: keys.publicKey });
    expect(r).toMatchObject({ ok: true, status: 'ok', unsigned: 0, unsignedFound: [{ seq: 9, from: 6, to: 8 }] });
    expect(r.message).toContain('6..8');
  });

  it('a clean close leaves nothing unsigned and no marker on the next open', async () => {
    await write(5);
    await write(5);
    expect(events().some((e) => e.type === 'audit.unsigned_tail')).toBe(false);
    expect(verifyLog(dir, { publicKey: keys.publicKey })).toMatchObject({ ok: true, status: 'ok', unsigned: 0 });
  });
});

describe('audit: rollback and deletion against checkpoints kept elsewhere', () => {
  it('copies every signed checkpoint to the store, monotonically', async () => {
    await write(4);
    expect(readAnchor(join(data, 'gatehouse.db'))).toMatchObject({ seq: 4, kid: 'k1' });
    await write(2);
    expect(readAnchor(join(data, 'gatehouse.db'))?.seq).toBe(6);
  });

  it('an older copy of the audit directory restored over the log fails verify and refuses to open', async () => {
    await write(5);
    const old = join(data, 'old');
    cpSync(dir, old, { recursive: true });
    await write(5);
    const witness = storeWitness();
    rmSync(dir, { recursive: true });
    cpSync(old, dir, { recursive: true });
    // Without an outside checkpoint the older log is self-consistent: that is the attack.
    expect(verifyLog(dir, { publicKey: keys.publicKey })).toMatchObject({ ok: true, lastSeq: 5 });
    expect(verifyLog(dir, { publicKey: keys.publicKey, witnesses: witness })).toMatchObject({
      ok: false,
      status: 'rolled_back',
      firstBadSeq: 6,
    });
    expect(() => AuditLog.open({ dir, signer })).toThrow(expect.objectContaining({ code: 'audit.rolled_back' }));
  });

  it('a deleted audit directory does not restart at seq 1', async () => {
    await write(5);
    rmSync(dir, { recursive: true });
    expect(verifyLog(dir, { publicKey: keys.publicKey, witnesses: storeWitness() })).toMatchObject({
      ok: false,
      status: 'rolled_back',
    });
    expect(() => AuditLog.open({ dir, signer })).toThrow(expect.objectContaining({ code: 'audit.rolled_back' }));
  });

  it('a replaced log with as many events but another history fails against the witness', async () => {
    await write(5);
    const witness = storeWitness();
    // The attacker rebuilds a whole log with their own events and even the same length.
    const other = join(data, 'other', 'audit');
    mkdirSync(other, { recursive: true });
    const log = AuditLog.open({
      dir: other,
      signer: { kid: 'k1', privateKey: generateKeyPairSync('ed25519').privateKey },
    });
    for (let i = 0; i < 7; i++) await log.append({ type: 'decision', agent: 'x' });
    await log.close();
    rmSync(dir, { recursive: true });
    cpSync(other, dir, { recursive: true });
    expect(verifyLog(dir, { witnesses: witness })).toMatchObject({ ok: false, status: 'rolled_back', firstBadSeq: 5 });
  });

  it('a forged witness (signature by another key) is tampering, not a pass', async () => {
    await write(3);
    const [w] = storeWitness();
    const forged = { ...w!, source: 'w.json', sig: Buffer.alloc(64, 1).toString('base64') };
    expect(verifyLog(dir, { publicKey: keys.publicKey, witnesses: [forged] })).toMatchObject({
      ok: false,
      status: 'tampered',
    });
  });
});
