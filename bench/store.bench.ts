import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EXAMPLE_CONFIG } from '../src/config/example.js';
import { parseConfig } from '../src/config/load.js';
import { Gatehouse } from '../src/gatehouse.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import { freshSchema, startPostgres } from '../test/helpers/postgres.js';
import { type BenchRow, measure, percentile, round } from './harness.js';

const BUDGET = [
  {
    version: 1,
    name: 'budget',
    sql: `CREATE TABLE budget (key TEXT PRIMARY KEY, calls INTEGER NOT NULL, max INTEGER NOT NULL);
          INSERT INTO budget (key, calls, max) VALUES ('agent', 0, 1000000000);`,
  },
];

/** Checks and charges one unit of a budget in one conditional statement, as `Limits` charges budgets and buckets. */
async function charge(s: Store, key = 'agent'): Promise<boolean> {
  return (await s.run('UPDATE budget SET calls = calls + 1 WHERE key = ? AND calls < max', [key])).changes === 1;
}

/** The same as a read-then-write transaction (serialisable on PostgreSQL, retried on conflict): for comparison. */
async function chargeInTransaction(s: Store, key = 'agent'): Promise<boolean> {
  return s.transaction(async () => {
    const row = await s.get<{ calls: number; max: number }>('SELECT calls, max FROM budget WHERE key = ?', [key]);
    if (!row || row.calls >= row.max) return false;
    await s.run('UPDATE budget SET calls = calls + 1 WHERE key = ?', [key]);
    return true;
  });
}

/**
 * The shared store on its own (SQLite and PostgreSQL side by side, PostgreSQL with fsync on): an indexed read,
 * a budget check-and-charge transaction, three gateways' connections charging one budget at once (the overshoot
 * is measured against the limit: it must be 0), and how long a change signal takes to reach another connection.
 */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const server = await startPostgres({ durable: true });
  const dir = mkdtempSync(join(tmpdir(), 'gh-store-bench-'));
  try {
    const engines: Array<[string, Store]> = [
      ['sqlite', await SqliteStore.open(join(dir, 'bench.db'))],
      ['postgres', await PostgresStore.open(server.url, { schema: freshSchema('bench') })],
    ];
    for (const [name, s] of engines) {
      await s.migrate('bench', BUDGET);
      rows.push(
        await measure(
          'store',
          `${name}: indexed read`,
          () => s.get('SELECT calls FROM budget WHERE key = ?', ['agent']),
          { n: 3000 },
        ),
      );
      rows.push(
        await measure('store', `${name}: budget check-and-charge, one statement (durable)`, () => charge(s), {
          n: 1000,
          warmup: 100,
        }),
      );
      rows.push(
        await measure(
          'store',
          `${name}: budget check-and-charge, transaction (durable)`,
          () => chargeInTransaction(s),
          {
            n: 1000,
            warmup: 100,
          },
        ),
      );
    }
    rows.push(...(await decideOn('sqlite', () => SqliteStore.open(join(dir, 'decide.db')))));
    rows.push(...(await decideOn('postgres', () => PostgresStore.open(server.url, { schema: freshSchema('decide') }))));
    const schema = freshSchema('contend');
    const gateways = await Promise.all([0, 1, 2].map(() => PostgresStore.open(server.url, { schema, poolSize: 4 })));
    await gateways[0]!.migrate('bench', BUDGET);
    const limit = 600;
    await gateways[0]!.run("UPDATE budget SET max = ? WHERE key = 'agent'", [limit]);
    const t0 = performance.now();
    const outcomes = await Promise.all(gateways.flatMap((g) => Array.from({ length: 300 }, () => charge(g))));
    const ms = performance.now() - t0;
    const granted = outcomes.filter(Boolean).length;
    const stored = (await gateways[0]!.get<{ calls: number }>("SELECT calls FROM budget WHERE key = 'agent'"))!.calls;
    rows.push({
      bench: 'store',
      case: 'postgres: 3 gateways x 300 one-statement charges on one budget of 600',
      n: outcomes.length,
      throughput: Math.round(outcomes.length / (ms / 1000)),
      unit: 'charges/s',
      target: 'overshoot 0',
      note: `granted ${granted}, stored ${stored}, overshoot ${Math.max(0, granted - limit)}`,
    });
    const [a, b] = gateways;
    const lat: number[] = [];
    let sentAt = 0;
    let resolveWake: (() => void) | undefined;
    b!.watch('identity', () => {
      if (sentAt) lat.push((performance.now() - sentAt) * 1000);
      sentAt = 0;
      resolveWake?.();
    });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 200; i++) {
      const woke = new Promise<void>((r) => {
        resolveWake = r;
      });
      sentAt = performance.now();
      await a!.signal('identity');
      await Promise.race([woke, new Promise((r) => setTimeout(r, 2000))]);
    }
    lat.sort((x, y) => x - y);
    rows.push({
      bench: 'store',
      case: 'postgres: change signal to another gateway (NOTIFY)',
      n: lat.length,
      p50: round(percentile(lat, 50)),
      p95: round(percentile(lat, 95)),
      p99: round(percentile(lat, 99)),
      target: 'p99 <= 1 s (revocation propagation)',
    });
    await Promise.all([...gateways, ...engines.map(([, s]) => s)].map((s) => s.close()));
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** decide() through the whole pipeline on each engine, as the decide bench runs it on the embedded default. */
async function decideOn(name: string, open: () => Promise<Store>): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-store-bench-decide-'));
  const config = parseConfig(EXAMPLE_CONFIG.replace('tool_calls_per_minute: 120', 'tool_calls_per_minute: 100000000'));
  const gh = await Gatehouse.open({ config, data: dir, openStore: open });
  try {
    let i = 0;
    let unexpected = 0;
    const allow = await measure(
      'store',
      `${name}: decide() fs.read (unflagged allow, rate limit charged in the store)`,
      async () => {
        const d = await gh.decide({
          kind: 'tool_call',
          agent: 'demo',
          session: 'bench',
          tool: 'fs.read',
          args: { path: `docs/${i++ % 50}.md` },
        });
        if (d.effect !== 'allow' || d.flagged) unexpected++;
      },
      { n: 2000, warmup: 200, target: name === 'postgres' ? 'p99 <= 2000 µs' : 'p99 <= 1000 µs' },
    );
    if (unexpected > 0) throw new Error(`store bench: ${unexpected} fs.read calls were not unflagged allows`);
    const deny = await measure(
      'store',
      `${name}: decide() unknown tool (deny, durable audit)`,
      () => gh.decide({ kind: 'tool_call', agent: 'demo', session: 'bench', tool: 'no.such.tool', args: { n: i++ } }),
      { n: 500, warmup: 50, ...(name === 'postgres' ? { target: 'p99 <= 5000 µs' } : {}) },
    );
    return [allow, deny];
  } finally {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
