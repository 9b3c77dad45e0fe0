import { readFileSync } from 'node:fs';
import RE2 from 're2';
import { RULES } from '../src/screen/rules/index.js';
const text = readFileSync('node_modules/fastify/README.md', 'utf8').slice(0, 4096);
const text2 = readFileSync('node_modules/commander/Readme.md', 'utf8').slice(8192, 8192 + 4096);
const res: [string, number][] = [];
for (const r of RULES) { const re = new RE2(r.pattern.replaceAll('\\W+', '[^\\w.!?\\n]+'), 'iu'); let t = performance.now(); for (let i = 0; i < 5; i++) { re.test(text); re.test(text2); } res.push([r.id, (performance.now() - t) / 10]); }
res.sort((a, b) => b[1] - a[1]); console.log(res.slice(0, 15).map(([k, v]) => v.toFixed(3) + ' ' + k).join('\n'));
console.log('sum', res.reduce((a, b) => a + b[1], 0).toFixed(2));
const set = new RE2.Set(RULES.map(r => r.pattern.replaceAll('\\W+', '[^\\w.!?\\n]+')), 'iu');
for (let k = 0; k < 3; k++) { const t = performance.now(); set.match(text); set.match(text2); console.log('set', (performance.now() - t) / 2); }
