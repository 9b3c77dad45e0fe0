import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { verifyLog } from '../../src/audit/verify.js';
import { ManualClock } from '../../src/core/clock.js';
import { tempDir } from '../helpers/tmp.js';

let root: string;
let cleanup: () => void;
let mounted = false;
let mountError = '';
beforeAll(() => {
  ({ dir: root, cleanup } = tempDir());
  // A real full file system: a 2 MiB tmpfs. Mounting needs root (as CI runs); without it the test fails, naming why.
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', root], { encoding: 'utf8' });
  mounted = r.status === 0;
  mountError = r.error?.message ?? r.stderr;
});
afterAll(() => {
  if (mounted) spawnSync('umount', [root]);
  cleanup();
});

describe('audit: a full disk', () => {
  it('denies while the file system is full, never crashes, and recovers by itself once space returns', async () => {
    expect(mounted, `a 2 MiB tmpfs is needed (run as root): mount failed: ${mountError}`).toBe(true);
    const dir = join(root, 'audit');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const log = AuditLog.open({ dir, clock, signer: undefined });
    await log.append({ type: 'decision', agent: 'before' });
    // Fill the file system, leaving a few KiB.
    const filler = join(root, 'filler');
    let size = 0;
    try {
      for (;;) {
        writeFileSync(filler, Buffer.alloc(64 * 1024), { flag: 'a' });
        size += 64 * 1024;
      }
    } catch {
      // ENOSPC: full.
    }
    expect(size).toBeGreaterThan(0);
    const payload = 'x'.repeat(8 * 1024);
    const errors: string[] = [];
    for (let i = 0; i < 50; i++) {
      try {
        await log.append({ type: 'decision', agent: 'during', data: { payload } });
      } catch (err) {
        errors.push((err as { code: string }).code);
      }
      await log.flush();
    }
    // Appends are refused (so decisions deny) with a stable code; a failing flush or head commit threw nothing.
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['audit.write_failed']));
    expect(log.error?.code).toBe('audit.write_failed');

    rmSync(filler);
    // Still refused inside the retry pause, accepted after it: no restart, no operator.
    clock.advance(300);
    const r = await log.append({ type: 'decision', agent: 'after' });
    expect(log.error).toBeUndefined();
    await log.close();
    const lines = readFileSync(join(dir, 'seg-00000001.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { seq: number; type: string; data?: { refused?: number; code?: string } });
    const outage = lines.find((e) => e.type === 'audit.outage');
    expect(outage?.data).toMatchObject({ code: 'audit.write_failed' });
    expect(outage!.data!.refused).toBeGreaterThan(0);
    expect(lines.at(-1)?.seq).toBe(r.seq);
    expect(verifyLog(dir)).toMatchObject({ ok: true });
  }, 60_000);
});

describe('audit: allows are not durable, but the loss is bounded', () => {
  it('a child killed with SIGKILL loses at most maxUndurable acknowledged non-durable events', async () => {
    const { dir, cleanup: done } = tempDir();
    try {
      mkdirSync(dir, { recursive: true });
      const bound = 64;
      const p = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'undurable.ts'), dir, String(bound)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let maxAcked = 0;
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
            const m = /^ack (\d+)$/.exec(line);
            if (m) maxAcked = Math.max(maxAcked, Number(m[1]));
          }
          if (maxAcked >= 5000 && !p.killed) {
            p.kill('SIGKILL');
            resolve();
          }
        });
        p.on('exit', () => (maxAcked >= 5000 ? resolve() : reject(new Error(`child exited early: ${stderr}`))));
      });
      expect(await exited).toBe('SIGKILL');
      const r = verifyLog(dir);
      expect(['ok', 'torn_tail']).toContain(r.status);
      expect(maxAcked - r.lastSeq).toBeLessThanOrEqual(bound);
    } finally {
      done();
    }
  }, 60_000);
});
