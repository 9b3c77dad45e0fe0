import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { verifyLog } from '../../src/audit/verify.js';
import { tempDir } from '../helpers/tmp.js';

const keys = generateKeyPairSync('ed25519');
let dir: string;
let cleanup: () => void;

async function writeEvents(n: number, segmentMaxBytes?: number): Promise<void> {
  const log = AuditLog.open({
    dir,
    signer: { kid: 'k1', privateKey: keys.privateKey },
    ...(segmentMaxBytes ? { segmentMaxBytes } : {}),
  });
  const event = (i: number) => ({ type: 'decision', agent: `a${i % 3}`, data: { i, note: 'é ünïcode ✓' } });
  if (segmentMaxBytes) for (let i = 0; i < n; i++) await log.append(event(i));
  else await Promise.all(Array.from({ length: n }, (_, i) => log.append(event(i))));
  await log.close();
}

const segFile = () => join(dir, 'seg-00000001.jsonl');
const lines = () =>
  readFileSync(segFile(), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
const writeLines = (ls: string[]) => writeFileSync(segFile(), `${ls.join('\n')}\n`);

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

describe('audit verify', () => {
  it('passes an intact log and checks the signed checkpoint', async () => {
    await writeEvents(50);
    const r = verifyLog(dir, { publicKey: keys.publicKey });
    expect(r).toMatchObject({
      ok: true,
      status: 'ok',
      events: 50,
      lastSeq: 50,
      checkpoint: { seq: 50, signed: true, signatureValid: true },
    });
  });

  it('detects an edited byte anywhere, naming that sequence number', async () => {
    await writeEvents(20);
    const ls = lines();
    ls[6] = ls[6]!.replace('"agent":"a0"', '"agent":"a9"');
    writeLines(ls);
    expect(verifyLog(dir)).toMatchObject({ ok: false, status: 'tampered', firstBadSeq: 7 });
  });

  it('detects a one-bit change inside a unicode string', async () => {
    await writeEvents(5);
    const buf = readFileSync(segFile());
    const at = buf.indexOf('ünïcode', buf.indexOf('"seq":3') - 200);
    const at3 = buf.indexOf(Buffer.from('ünïcode'), buf.indexOf(Buffer.from('"seq":3')) - 400);
    expect(at).toBeGreaterThan(-1);
    buf[at3] = buf[at3]! ^ 1;
    writeFileSync(segFile(), buf);
    const r = verifyLog(dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadSeq).toBeLessThanOrEqual(3);
  });

  it('detects a deleted line', async () => {
    await writeEvents(20);
    const ls = lines();
    ls.splice(9, 1);
    writeLines(ls);
    expect(verifyLog(dir)).toMatchObject({ ok: false, status: 'tampered', firstBadSeq: 10 });
  });

  it('detects an inserted line, even one copied from elsewhere with a valid hash', async () => {
    await writeEvents(20);
    const ls = lines();
    ls.splice(4, 0, ls[15]!);
    writeLines(ls);
    expect(verifyLog(dir)).toMatchObject({ ok: false, status: 'tampered', firstBadSeq: 5 });
  });

  it('detects two swapped lines', async () => {
    await writeEvents(20);
    const ls = lines();
    [ls[11], ls[12]] = [ls[12]!, ls[11]!];
    writeLines(ls);
    expect(verifyLog(dir)).toMatchObject({ ok: false, status: 'tampered', firstBadSeq: 12 });
  });

  it('detects a duplicated line', async () => {
    await writeEvents(20);
    const ls = lines();
    ls.splice(3, 0, ls[2]!);
    writeLines(ls);
    expect(verifyLog(dir)).toMatchObject({ ok: false, status: 'tampered', firstBadSeq: 4 });
  });

  it('detects a truncated tail against the checkpoint', async () => {
    await writeEvents(20);
    writeLines(lines().slice(0, 17));
    const r = verifyLog(dir);
    expect(r).toMatchObject({ ok: false, status: 'truncated', firstBadSeq: 18, lastSeq: 17 });
    expect(r.message).toContain('18..20');
  });

  it('detects a deleted whole segment and a deleted only segment', async () => {
    await writeEvents(60, 2000);
    rmSync(join(dir, 'seg-00000002.jsonl'));
    const r = verifyLog(dir);
    expect(r.ok).toBe(false);
    expect(r.status).toBe('tampered');
    const { dir: d2, cleanup: c2 } = tempDir();
    try {
      const log = AuditLog.open({ dir: d2, signer: { kid: 'k', privateKey: keys.privateKey } });
      await log.append({ type: 'decision' });
      await log.close();
      rmSync(join(d2, 'seg-00000001.jsonl'));
      expect(verifyLog(d2)).toMatchObject({ ok: false, status: 'truncated', firstBadSeq: 1 });
    } finally {
      c2();
    }
  });

  it('detects a rewritten chain (every hash recomputed) through the checkpoint', async () => {
    await writeEvents(5);
    const { dir: other, cleanup: c2 } = tempDir();
    try {
      const log = AuditLog.open({ dir: other });
      for (let i = 0; i < 5; i++) await log.append({ type: 'decision', agent: 'forged' });
      await log.close();
      writeFileSync(segFile(), readFileSync(join(other, 'seg-00000001.jsonl')));
      expect(verifyLog(dir)).toMatchObject({ ok: false, status: 'tampered', firstBadSeq: 5 });
    } finally {
      c2();
    }
  });

  it('rejects a checkpoint signed by another key', async () => {
    await writeEvents(3);
    const other = generateKeyPairSync('ed25519');
    const r = verifyLog(dir, { publicKey: other.publicKey });
    expect(r).toMatchObject({ ok: false, status: 'tampered', checkpoint: { signatureValid: false } });
  });

  it('fails a checkpoint whose kid names no known audit key instead of skipping the signature check', async () => {
    await writeEvents(3);
    const keyFor = (kid: string) => (kid === 'k1' ? keys.publicKey : undefined);
    expect(verifyLog(dir, { keyFor })).toMatchObject({ ok: true, checkpoint: { signatureValid: true } });
    const head = new Database(join(dir, 'head.sqlite'));
    head.prepare("UPDATE signed SET kid = 'k-forged' WHERE id = 1").run();
    head.close();
    const r = verifyLog(dir, { keyFor });
    expect(r).toMatchObject({ ok: false, status: 'tampered', checkpoint: { signatureValid: false } });
    expect(r.message).toContain('k-forged');
  });

  it('reports a torn last line as a torn tail, never as valid', async () => {
    await writeEvents(10);
    const text = readFileSync(segFile(), 'utf8');
    writeFileSync(segFile(), `${text}{"seq":11,"ts":"2026-01-`);
    const r = verifyLog(dir);
    expect(r).toMatchObject({ ok: false, status: 'torn_tail', firstBadSeq: 11, lastSeq: 10 });
  });

  it('reports a committed event cut in the middle as truncation, not as a crash', async () => {
    await writeEvents(10);
    const text = readFileSync(segFile(), 'utf8');
    // Cut event 10 in half: the checkpoint says it was on disk before it was committed, so no crash tore it.
    writeFileSync(segFile(), text.slice(0, text.length - 40));
    const r = verifyLog(dir);
    expect(r).toMatchObject({ ok: false, status: 'truncated', firstBadSeq: 10, lastSeq: 9 });
    expect(r.message).toMatch(/truncated/);
  });

  it('opening a log with a torn tail moves the fragment aside and records it in the chain', async () => {
    await writeEvents(10);
    const goodBytes = readFileSync(segFile()).length;
    writeFileSync(segFile(), `${readFileSync(segFile(), 'utf8')}{"seq":11,"partial`);
    const log = AuditLog.open({ dir, signer: { kid: 'k1', privateKey: keys.privateKey } });
    await log.append({ type: 'decision', agent: 'after' });
    await log.close();
    const r = verifyLog(dir, { publicKey: keys.publicKey });
    expect(r).toMatchObject({ ok: true, lastSeq: 12 });
    const events = lines().map((l) => JSON.parse(l));
    expect(events[10]).toMatchObject({
      seq: 11,
      type: 'audit.torn_tail',
      data: { bytes: '{"seq":11,"partial'.length },
    });
    expect(events[11]).toMatchObject({ seq: 12, agent: 'after' });
    expect(readFileSync(`${segFile()}.torn-${goodBytes}`, 'utf8')).toBe('{"seq":11,"partial');
  });

  it('refuses to open for writing when the last committed event was edited or the file shrank', async () => {
    await writeEvents(5);
    const ls = lines();
    const original = [...ls];
    ls[4] = ls[4]!.replace('decision', 'decisioN');
    writeLines(ls);
    expect(() => AuditLog.open({ dir })).toThrow(/tampered|does not match/);
    writeLines(original.slice(0, 4));
    expect(() => AuditLog.open({ dir })).toThrow(/shorter/);
  });
});
