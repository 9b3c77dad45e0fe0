import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types, run before the suite by `npm test`.
import { missing, NEEDED } from '../../scripts/test-prereqs.mjs';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'test-prereqs.mjs');

describe('the test prerequisites step', () => {
  it('finds every needed tool on this machine (npm test ran it first)', () => {
    expect(missing()).toEqual([]);
  });

  it('with bubblewrap and Chromium hidden from PATH it fails naming them and the install command, never skips', () => {
    const empty = mkdtempSync(join(tmpdir(), 'gh-path-'));
    expect((missing(empty, NEEDED) as Array<{ command: string }>).map((m) => m.command)).toContain('bwrap');
    const r = spawnSync(process.execPath, [SCRIPT], {
      encoding: 'utf8',
      env: { PATH: empty, GATEHOUSE_NO_INSTALL: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing: .*bwrap.*chromium/);
    expect(r.stderr).toContain('apt-get install -y --no-install-recommends bubblewrap seccomp chromium');
  });
});
