import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AuditLog } from '../src/audit/log.js';
import { verifyLog } from '../src/audit/verify.js';
import { type BenchRow, percentile, round } from './harness.js';

const signer = { kid: 'bench', privateKey: generateKeyPairSync('ed25519').privateKey };

const event = (i: number) => ({
  type: 'decision',
  agent: `agent-${i % 100}`,
  session: `s-${i % 1000}`,
  action: { kind: 'tool_call', tool: 'fs.read', argKeys: ['path'] },
  decision: 'allow' as const,
  tier: 'low' as const,
  reasons: [{ code: 'catalogue.tier.low', message: 'fs.read is a low-risk tool' }],
  epoch: 1,
});

/** `writers` closed-loop producers each awaiting a durable acknowledgement, `total` events in all. */
async function appendBench(writers: number, total: number): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-audit-'));
  const log = AuditLog.open({ dir, signer });
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        await log.append(event(i));
        lat.push((performance.now() - s) * 1000);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return {
    bench: 'audit',
    case: `append durable, ${writers} writer${writers > 1 ? 's' : ''}`,
    n: total,
    p50: round(percentile(lat, 50)),
    p99: round(percentile(lat, 99)),
    throughput: Math.round(total / secs),
    unit: 'events/s',
    target: writers === 100 ? 'p99 <= 5000 µs, >= 50,000 events/s' : '',
  };
}

async function verifyBench(events: number): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-verify-'));
  const log = AuditLog.open({ dir, signer });
  let next = 0;
  await Promise.all(
    Array.from({ length: 1000 }, async () => {
      while (next < events) await log.append(event(next++), { durable: false });
    }),
  );
  await log.close();
  const t0 = performance.now();
  const r = verifyLog(dir);
  const secs = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  if (!r.ok || r.events !== events) throw new Error(`verify failed: ${r.message}`);
  return {
    bench: 'audit',
    case: `verify ${events.toLocaleString('en')} events`,
    n: events,
    throughput: Math.round(events / secs),
    unit: 'events/s',
    target: '>= 200,000 events/s',
    note: `${secs.toFixed(2)} s`,
  };
}

export async function run(): Promise<BenchRow[]> {
  const large = process.env.GATEHOUSE_BENCH_QUICK ? 100_000 : 1_000_000;
  return [
    await appendBench(1, 5_000),
    await appendBench(16, 50_000),
    await appendBench(100, 100_000),
    await verifyBench(large),
  ];
}
