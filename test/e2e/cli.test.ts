import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;
let cleanup: () => void;
beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir());
  const r = await gatehouse(['init'], { cwd });
  expect(r.code).toBe(0);
});
afterAll(() => cleanup());

const run = (args: string[], input?: string) => gatehouse(args, { cwd, ...(input !== undefined ? { input } : {}) });
const call = (tool: string, args: Record<string, unknown> = {}) =>
  JSON.stringify({ kind: 'tool_call', agent: 'demo', session: 's1', tool, args });

describe('gatehouse CLI (contract of DESIGN.md section 4)', () => {
  it('init writes a commented config and a private data dir, and is idempotent', async () => {
    expect(readFileSync(join(cwd, 'gatehouse.yaml'), 'utf8')).toContain('# The tool catalogue');
    expect(statSync(join(cwd, '.gatehouse')).mode & 0o777).toBe(0o700);
    expect(statSync(join(cwd, '.gatehouse', 'master.key')).mode & 0o777).toBe(0o600);
    const again = await run(['init', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ configCreated: false });
  });

  it('decide prints the Decision and exits 0 allow, 3 deny, 4 review', async () => {
    const allow = await run(['decide'], call('fs.read', { path: 'README.md' }));
    expect(allow.code).toBe(0);
    expect(JSON.parse(allow.stdout)).toMatchObject({ effect: 'allow', tier: 'low' });
    const deny = await run(['decide', '--json'], call('nope'));
    expect(deny.code).toBe(3);
    expect(JSON.parse(deny.stdout).reasons[0].code).toBe('catalogue.tool_unknown');
    const review = await run(['decide'], call('email.send', { to: 'a@example.com' }));
    expect(review.code).toBe(4);
    expect(JSON.parse(review.stdout)).toMatchObject({ effect: 'review', tier: 'high' });
  });

  it('decide --jsonl answers each line in order and survives malformed lines', async () => {
    const input = [
      call('fs.read'),
      '{not json',
      JSON.stringify({ id: 'x1', kind: 'tool_call', agent: 'demo' }),
      call('nope'),
    ].join('\n');
    const r = await run(['decide', '--jsonl'], `${input}\n`);
    expect(r.code).toBe(0);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(4);
    expect(out[0].effect).toBe('allow');
    expect(out[1].error).toMatch(/line 2: invalid JSON/);
    expect(out[2]).toMatchObject({ id: 'x1' });
    expect(out[2].error).toMatch(/action\.tool/);
    expect(out[3].effect).toBe('deny');
  });

  it('bad input is one clear line on stderr with exit 2, no stack trace', async () => {
    const r = await run(['decide'], '{"kind": "tool_call", "agent": 5}');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/action\.agent: expected string/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const garbage = await run(['decide'], 'garbage');
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/stdin: invalid JSON/);
    expect((await run(['no-such-command'])).code).toBe(2);
  });

  it('policy validate names file, line and key of a bad config', async () => {
    expect((await run(['policy', 'validate'])).code).toBe(0);
    writeFileSync(join(cwd, 'bad.yaml'), 'version: 1\ntools:\n  x:\n    risk: low\n    sandboxx: default\n');
    const r = await run(['--config', 'bad.yaml', 'policy', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:5: tools\.x\.sandboxx: unknown key "sandboxx"/);
    const missing = await run(['--config', 'missing.yaml', 'decide'], call('fs.read'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing\.yaml: file not found/);
  });

  it('audit verify, tail and query work on the log the commands wrote; verify names the first bad seq', async () => {
    const v = await run(['audit', 'verify', '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, checkpoint: { signed: true, signatureValid: true } });
    const tail = await run(['audit', 'tail', '-n', '2']);
    expect(tail.stdout.trim().split('\n')).toHaveLength(2);
    const denies = await run(['audit', 'query', '--agent', 'demo', '--type', 'decision', '--json']);
    const events = JSON.parse(denies.stdout).events as { decision: string }[];
    expect(events.some((e) => e.decision === 'deny')).toBe(true);
    expect((await run(['audit', 'query', '--since', 'yesterday-ish'])).code).toBe(2);

    const seg = join(cwd, '.gatehouse', 'audit', 'seg-00000001.jsonl');
    const lines = readFileSync(seg, 'utf8').split('\n');
    const edited = lines[2]!.replace(/"ts":"(\d)/, (_m, d: string) => `"ts":"${(Number(d) + 1) % 10}`);
    expect(edited).not.toBe(lines[2]);
    lines[2] = edited;
    writeFileSync(seg, lines.join('\n'));
    const bad = await run(['audit', 'verify']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/at seq 3/);
  });
});
