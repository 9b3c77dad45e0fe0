import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_CONFIG } from '../src/config/example.js';
import { parseConfig } from '../src/config/load.js';
import { Gatehouse } from '../src/gatehouse.js';
import { type BenchRow, measure } from './harness.js';

/** decide() in process through the full pipeline as configured by `init`, including the audit append. */
export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-decide-'));
  const gh = await Gatehouse.open({ config: parseConfig(EXAMPLE_CONFIG), data: dir });
  try {
    let i = 0;
    const low = await measure(
      'decide',
      'tool_call fs.read (low: allow, audited)',
      () =>
        gh.decide({
          kind: 'tool_call',
          agent: 'demo',
          session: 'bench',
          tool: 'fs.read',
          args: { path: `docs/${i++ % 50}.md` },
        }),
      { n: 5000, target: 'p99 <= 1000 µs' },
    );
    const deny = await measure(
      'decide',
      'tool_call unknown tool (deny, durable audit)',
      () => gh.decide({ kind: 'tool_call', agent: 'demo', session: 'bench', tool: 'no.such.tool', args: { n: i++ } }),
      { n: 3000, target: 'p99 <= 1000 µs' },
    );
    return [low, deny];
  } finally {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
