import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// `gatehouse exec` per DESIGN.md section 4, through the built CLI.
let cwd: string;
let cleanup: () => void;
beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir('gh-exec-'));
  if (process.getuid?.() === 0) chownSync(cwd, 65534, 65534);
  expect((await gatehouse(['init'], { cwd })).code).toBe(0);
});
afterAll(() => cleanup());

describe('gatehouse exec', () => {
  it('passes stdout and stderr through and exits with the command code', async () => {
    const r = await gatehouse(['exec', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7'], { cwd });
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('exits 128+signal when the command is killed, and --json prints the result object', async () => {
    const r = await gatehouse(['exec', '--json', '--', 'sh', '-c', 'echo hi; kill -9 $$'], { cwd });
    expect(r.code).toBe(137);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(
      expect.arrayContaining([
        'exitCode',
        'signal',
        'timedOut',
        'oomKilled',
        'cpuMs',
        'wallMs',
        'maxRssBytes',
        'stdout',
        'stderr',
      ]),
    );
    expect(j).toMatchObject({ exitCode: 137, signal: 'SIGKILL', timedOut: false, oomKilled: false, stdout: 'hi\n' });
  });

  it('feeds stdin, uses the current directory as the workspace and hides the data dir', async () => {
    writeFileSync(join(cwd, 'note.txt'), 'visible');
    const r = await gatehouse(
      ['exec', '--', 'sh', '-c', 'cat; cat note.txt; cat .gatehouse/master.key 2>/dev/null; pwd'],
      {
        cwd,
        input: 'from-stdin ',
      },
    );
    expect(r.stdout).toBe('from-stdin visible/workspace\n');
    expect(r.code).toBe(0);
  });

  it('an unknown profile is a usage error (2); an unusable sandbox refuses with 1 and says why', async () => {
    const bad = await gatehouse(['exec', '--profile', 'nope', '--', 'true'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown sandbox profile "nope"/);
    const other = tempDir('gh-exec-broken-');
    try {
      writeFileSync(join(other.dir, 'gatehouse.yaml'), 'version: 1\nsandbox:\n  bwrap: /nonexistent/bwrap\n');
      const r = await gatehouse(['exec', '--', 'touch', 'ran'], { cwd: other.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/sandbox unavailable \(bwrap\.missing\).*Fix: install bubblewrap/);
    } finally {
      other.cleanup();
    }
  });
});
