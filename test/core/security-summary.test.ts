import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OTHER_DIRS, SECURITY_DIRS } from '../../scripts/security-summary.js';

const REPO = join(import.meta.dirname, '..', '..');
const VITEST = join(REPO, 'node_modules', 'vitest', 'vitest.mjs');
const REPORTER = join(REPO, 'scripts', 'security-summary.ts');
// Inside the checkout (git-ignored) so the fixture's `import 'vitest'` resolves.
mkdirSync(join(REPO, 'test-output'), { recursive: true });
const BASE = mkdtempSync(join(REPO, 'test-output', 'security-summary-'));
afterAll(() => rmSync(BASE, { recursive: true, force: true }));

let n = 0;
/** A project of the given test files, run by a real vitest with the default and the security-summary reporters. */
function runVitest(files: Record<string, string>, args: string[] = []) {
  const root = join(BASE, `p${n++}`);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), `import { describe, it } from 'vitest';\n${body}\n`);
  }
  writeFileSync(
    join(root, 'vitest.config.mjs'),
    `export default { test: { include: ['test/**/*.test.ts'], reporters: ['default', ${JSON.stringify(REPORTER)}] } };\n`,
  );
  const r = spawnSync(
    process.execPath,
    [VITEST, 'run', '--root', root, '--config', join(root, 'vitest.config.mjs'), ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', CI: '1' },
    },
  );
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const PASS = "it('holds', () => {});";

describe('the security-suite summary reporter', () => {
  it('names every test directory of this checkout in one of its two lists', () => {
    const listed = new Set<string>([...SECURITY_DIRS, ...OTHER_DIRS]);
    // Folders of helpers and fixtures (no test files in them) need no place in the lists.
    const hasTests = (dir: string) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.test.ts'));
    const here = readdirSync(join(REPO, 'test'), { withFileTypes: true })
      .filter((e) => (e.isDirectory() && hasTests(join(REPO, 'test', e.name))) || e.name.endsWith('.test.ts'))
      .map((e) => e.name);
    expect(here.filter((d) => !listed.has(d))).toEqual([]);
    expect(SECURITY_DIRS).toEqual(expect.arrayContaining(['sandbox', 'e2e', 'store', 'approvals', 'credentials']));
  });

  it('ends a clean run with the count per security directory and "none skipped"', () => {
    const r = runVitest({
      'test/sandbox/a.test.ts': `${PASS}\nit('holds too', () => {});`,
      'test/policy/b.test.ts': PASS,
      'test/examples/c.test.ts': PASS,
    });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(
      'Security suites: 2 files, 3 tests ran; none skipped.\n  per directory: policy 1, sandbox 1',
    );
    // The default reporter's summary is still there, and the security line comes after it.
    expect(r.out.indexOf('Test Files')).toBeGreaterThan(-1);
    expect(r.out.indexOf('Security suites:')).toBeGreaterThan(r.out.indexOf('Test Files'));
  });

  it('fails a run whose only problem is a skipped or todo test in a security suite, naming each', () => {
    const r = runVitest({
      'test/sandbox/a.test.ts': `${PASS}\nit.skip('escapes the sandbox', () => {});`,
      'test/e2e/b.test.ts': `describe('flow', () => { it.todo('exfiltration is stopped'); });`,
      'test/store/c.test.ts': `it.skipIf(true)('approval is consumed once', () => {});\n${PASS}`,
      'test/audit/d.test.ts': `it('chain verifies', (ctx) => ctx.skip());\n${PASS}`,
    });
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain('FAILED: 4 tests did not run. A security suite is never skipped:');
    expect(r.out).toContain('test/sandbox/a.test.ts > escapes the sandbox (skipped)');
    expect(r.out).toContain('test/e2e/b.test.ts > flow > exfiltration is stopped (todo)');
    expect(r.out).toContain('test/store/c.test.ts > approval is consumed once (skipped)');
    expect(r.out).toContain('test/audit/d.test.ts > chain verifies (skipped)');
  });

  it('fails on a security file that does not load, and on a test file in no list', () => {
    const r = runVitest({
      'test/sandbox/a.test.ts': `import './missing-helper.js';\n${PASS}`,
      'test/newdir/b.test.ts': PASS,
      'test/redact/c.test.ts': PASS,
    });
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain('test/sandbox/a.test.ts (no tests)');
    expect(r.out).toContain('FAILED: 1 test file in no list of scripts/security-summary.ts');
    expect(r.out).toContain('  test/newdir/b.test.ts');
  });

  it('does not count skips outside the security directories, and only lists them under a name filter', () => {
    const outside = runVitest({
      'test/examples/a.test.ts': `${PASS}\nit.skip('later', () => {});`,
      'test/redact/b.test.ts': PASS,
    });
    expect(outside.status, outside.out).toBe(0);
    expect(outside.out).toContain('Security suites: 1 file, 1 test ran; none skipped.');

    const filtered = runVitest({ 'test/screen/a.test.ts': `${PASS}\nit('other', () => {});` }, ['-t', 'holds']);
    expect(filtered.status, filtered.out).toBe(0);
    expect(filtered.out).toContain('1 test did not run under the name filter (not enforced)');
  });
});
