import { writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './harness.js';

/**
 * Runs every bench/*.bench.ts (or those named on the command line: `npm run bench -- audit decide`),
 * prints one table and writes bench/results.json.
 */
const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const rows: BenchRow[] = [];
for (const f of files) {
  const name = f.replace(/\.bench\.ts$/, '');
  if (only.length > 0 && !only.includes(name)) continue;
  const mod = (await import(join(here, f))) as { run: () => Promise<BenchRow[]> };
  const started = Date.now();
  const got = await mod.run();
  rows.push(...got);
  console.error(`[bench] ${name}: ${got.length} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
const cols = ['bench', 'case', 'n', 'p50', 'p95', 'p99', 'throughput', 'unit', 'ratio', 'target', 'note'] as const;
const table = rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : String(r[c]))));
const widths = cols.map((c, i) => Math.max(c.length, ...table.map((t) => t[i]!.length)));
const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(cols));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const t of table) console.log(line(t));
console.log('\n(times in µs unless the unit says otherwise)');
const out = join(here, 'results.json');
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
