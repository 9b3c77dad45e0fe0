import { performance } from 'node:perf_hooks';

/** One row of the benchmark table. Times in microseconds unless the unit says otherwise. */
export interface BenchRow {
  bench: string;
  case: string;
  n: number;
  p50?: number;
  p95?: number;
  p99?: number;
  /** Operations (or events, or bytes, per `unit`) per second. */
  throughput?: number;
  unit?: string;
  target?: string;
  /** Peer comparison: our figure divided by the peer's, or the peer's divided by ours, as `note` says. */
  ratio?: number;
  note?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `fn` `warmup` times, then `n` times, timing each call; returns µs percentiles and ops/s. */
export async function measure(
  bench: string,
  name: string,
  fn: () => unknown,
  opts: { n?: number; warmup?: number; target?: string } = {},
): Promise<BenchRow> {
  const n = opts.n ?? 10_000;
  const warmup = opts.warmup ?? Math.min(1000, n);
  for (let i = 0; i < warmup; i++) await fn();
  const samples = new Array<number>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const r = fn();
    if (r instanceof Promise) await r;
    samples[i] = (performance.now() - s) * 1000;
  }
  const total = performance.now() - t0;
  samples.sort((a, b) => a - b);
  return {
    bench,
    case: name,
    n,
    p50: round(percentile(samples, 50)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    throughput: Math.round(n / (total / 1000)),
    unit: 'ops/s',
    ...(opts.target ? { target: opts.target } : {}),
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
