import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxSchema } from '../src/config/sections/sandbox.js';
import { createSandbox } from '../src/sandbox/index.js';
import { type BenchRow, percentile, round } from './harness.js';

/**
 * Start-to-exit of /bin/true through the full sandbox path (workspace scan, cgroup create + limits, launcher,
 * setpriv uid drop, bwrap with all mounts, seccomp, wait, cgroup accounting read and removal), next to a raw
 * `bwrap … /bin/true` with a comparable mount set measured in the same run.
 */
export async function run(): Promise<BenchRow[]> {
  const ws = mkdtempSync(join(tmpdir(), 'gh-bench-ws-'));
  if (process.getuid?.() === 0) chownSync(ws, 65534, 65534);
  const sb = createSandbox(SandboxSchema.parse({}));
  await sb.ensureReady();
  const rawArgs = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--symlink',
    'usr/bin',
    '/bin',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--bind',
    ws,
    '/workspace',
    '--',
    '/bin/true',
  ];
  const raw = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn('bwrap', rawArgs, { stdio: 'ignore' });
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`raw bwrap exited ${code}`))));
    });
  const full = async () => {
    const r = await sb.run(['/bin/true'], { workspace: ws });
    if (r.exitCode !== 0) throw new Error(`sandboxed /bin/true exited ${r.exitCode}`);
  };
  // Alternate the two so background load on this shared machine affects both alike.
  const n = 80;
  for (let i = 0; i < 5; i++) {
    await full();
    await raw();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await full();
    a.push(performance.now() - t);
    t = performance.now();
    await raw();
    b.push(performance.now() - t);
  }
  const row = (name: string, xs: number[], extra: Partial<BenchRow> = {}): BenchRow => {
    xs.sort((x, y) => x - y);
    return {
      bench: 'sandbox',
      case: name,
      n,
      p50: round(percentile(xs, 50)),
      p95: round(percentile(xs, 95)),
      p99: round(percentile(xs, 99)),
      throughput: round(1000 / (xs.reduce((s, x) => s + x, 0) / xs.length), 1),
      unit: 'ms; runs/s',
      ...extra,
    };
  };
  const fullRow = row('full path /bin/true (start-to-exit)', a, { target: 'p50 <= 15 ms, p95 <= 30 ms' });
  const rawRow = row('raw bwrap /bin/true (same run)', b);
  const rows: BenchRow[] = [
    { ...fullRow, ratio: round(fullRow.p50! / rawRow.p50!), note: 'ratio = full p50 / raw bwrap p50' },
    rawRow,
  ];
  rmSync(ws, { recursive: true, force: true });
  return rows;
}
