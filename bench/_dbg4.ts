import { readFileSync, readdirSync } from 'node:fs';
import RE2 from 're2';
import { RULES } from '../src/screen/rules/index.js';
const srcs = RULES.map(r => r.pattern.replaceAll('\\W+', '[^\\w.!?\\n]+'));
const texts: string[] = [];
for (const d of readdirSync('node_modules').sort().slice(0, 300)) { try { const t = readFileSync(`node_modules/${d}/README.md`, 'utf8'); for (let i = 0; i + 4096 <= t.length && texts.length < 600; i += 4096) texts.push(t.slice(i, i + 4096)); } catch {} }
console.log('texts', texts.length);
for (const size of [1, 4, 8, 16, 32, 200]) {
  const sets: InstanceType<typeof RE2.Set>[] = [];
  for (let i = 0; i < srcs.length; i += size) sets.push(new RE2.Set(srcs.slice(i, i + size), 'iu'));
  const xs: number[] = [];
  for (const t of texts) { const s = performance.now(); for (const set of sets) set.match(t); xs.push(performance.now() - s); }
  const ys = xs.slice(100).sort((a, b) => a - b);
  console.log(size, 'sets', sets.length, 'p50', ys[Math.floor(ys.length / 2)]!.toFixed(3), 'p99', ys[Math.floor(ys.length * 0.99)]!.toFixed(3), 'total', xs.reduce((a, b) => a + b, 0).toFixed(0));
}
