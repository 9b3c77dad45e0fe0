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
  // The example allows 120 tool calls a minute per agent: past that every call would measure a rate-limit deny.
  const config = parseConfig(EXAMPLE_CONFIG.replace('tool_calls_per_minute: 120', 'tool_calls_per_minute: 100000000'));
  const gh = await Gatehouse.open({ config, data: dir });
  try {
    let i = 0;
    const call = () =>
      gh.decide({
        kind: 'tool_call',
        agent: 'demo',
        session: 'bench',
        tool: 'fs.read',
        args: { path: `docs/${i++ % 50}.md` },
      });
    // Measure what the case says: every call must be an unflagged allow.
    let unexpected = 0;
    const low = await measure(
      'decide',
      'tool_call fs.read (low: allow, audited)',
      async () => {
        const d = await call();
        if (d.effect !== 'allow' || d.flagged) unexpected++;
      },
      { n: 5000, target: 'p99 <= 1000 µs' },
    );
    if (unexpected > 0) throw new Error(`decide bench: ${unexpected} fs.read calls were not unflagged allows`);
    const deny = await measure(
      'decide',
      'tool_call unknown tool (deny, durable audit)',
      () => gh.decide({ kind: 'tool_call', agent: 'demo', session: 'bench', tool: 'no.such.tool', args: { n: i++ } }),
      { n: 3000, target: 'p99 <= 3000 µs' },
    );
    // The same judge with commit off: what `policy explain` costs.
    const explain = await measure(
      'decide',
      'explain fs.read (judge only, no commit, no audit)',
      () =>
        gh.explain({
          kind: 'tool_call',
          agent: 'demo',
          session: 'bench',
          tool: 'fs.read',
          args: { path: 'docs/1.md' },
        }),
      { n: 3000 },
    );
    return [low, deny, explain];
  } finally {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
