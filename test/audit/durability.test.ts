import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { verifyLog } from '../../src/audit/verify.js';
import { tempDir } from '../helpers/tmp.js';

const fixture = join(import.meta.dirname, 'fixtures', 'appender.ts');
let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

function child(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function allEvents(): { seq: number; agent: string; data: { i: number } }[] {
  return readFileSync(join(dir, 'seg-00000001.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l));
}

describe('audit durability', () => {
  it('a child killed with SIGKILL in the middle of 10,000 appends loses no acknowledged event', async () => {
    const p = child([dir, '10000', '16', 'k']);
    const acked = new Map<number, number>();
    let buffer = '';
    let stderr = '';
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_c, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      p.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        for (const line of parts) {
          const m = /^ack (\d+) (\d+)$/.exec(line);
          if (m) acked.set(Number(m[1]), Number(m[2]));
        }
        if (acked.size >= 3000 && !p.killed) {
          p.kill('SIGKILL');
          resolve();
        }
      });
      p.on('exit', () => (acked.size >= 3000 ? resolve() : reject(new Error(`child exited early: ${stderr}`))));
    });
    expect(await exited).toBe('SIGKILL');
    expect(acked.size).toBeGreaterThanOrEqual(3000);
    expect(acked.size).toBeLessThan(10000);

    const r = verifyLog(dir);
    expect(['ok', 'torn_tail']).toContain(r.status);
    const maxAcked = Math.max(...acked.keys());
    expect(r.lastSeq).toBeGreaterThanOrEqual(maxAcked);
    const bySeq = new Map(allEvents().map((e) => [e.seq, e.data.i]));
    for (const [seq, i] of acked) expect(bySeq.get(seq)).toBe(i);

    const log = AuditLog.open({ dir });
    await log.append({ type: 'decision', agent: 'after-crash' });
    await log.close();
    expect(verifyLog(dir)).toMatchObject({ ok: true });
  }, 60_000);

  it('two processes appending to one log at once keep one valid chain', async () => {
    const run = (tag: string) =>
      new Promise<number>((resolve, reject) => {
        const p = child([dir, '400', '8', tag]);
        let err = '';
        p.stderr.on('data', (d) => {
          err += d;
        });
        p.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(err))));
      });
    await Promise.all([run('p1'), run('p2')]);
    const r = verifyLog(dir);
    expect(r).toMatchObject({ ok: true, events: 800, lastSeq: 800 });
    const events = allEvents();
    for (const tag of ['p1', 'p2']) {
      const is = events
        .filter((e) => e.agent === tag)
        .map((e) => e.data.i)
        .sort((a, b) => a - b);
      expect(is).toEqual(Array.from({ length: 400 }, (_, k) => k));
    }
  }, 60_000);

  it('concurrent appends in one process get consecutive sequence numbers in call order', async () => {
    const log = AuditLog.open({ dir });
    const receipts = await Promise.all(
      Array.from({ length: 500 }, (_, i) => log.append({ type: 'decision', data: { i } }, { durable: i % 2 === 0 })),
    );
    await log.close();
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(allEvents().map((e) => e.data.i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('rejects malformed event types without writing anything', async () => {
    const log = AuditLog.open({ dir });
    await expect(log.append({ type: 'Bad Type' })).rejects.toThrow(/invalid audit event type/);
    await log.append({ type: 'ok.event' });
    await log.close();
    expect(verifyLog(dir)).toMatchObject({ ok: true, events: 1 });
  });
});
