import { readFileSync } from 'node:fs';
import { Screener } from '../src/screen/screener.js';
import { normalize } from '../src/screen/normalize.js';
const s = new Screener();
const files = ['node_modules/zod/README.md', 'node_modules/fastify/README.md', 'node_modules/commander/Readme.md', 'node_modules/yaml/README.md'];
for (const f of files) { let text: string; try { text = readFileSync(f, 'utf8'); } catch { continue; }
  for (let i = 0; i + 4096 <= text.length; i += 4096) { const c = text.slice(i, i + 4096); const t = performance.now(); s.screen(c); const d = performance.now() - t; if (d > 20) { const t2 = performance.now(); const n = normalize(c); console.log(f, i, d.toFixed(1), 'normalize', (performance.now() - t2).toFixed(1), n.views.map(v => v.name + ':' + v.text.length).join(',')); } } }
