import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

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
  it('ends a clean run with the count per security directory and "none skipped"', () => {
    const r = runVitest({
      'test/sandbox/a.test.ts': `${PASS}\nit('holds too', () => {});`,
      'test/policy/b.test.ts': PASS,
      'test/core/c.test.ts': PASS,
    });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('Security suites: 2 files, 3 tests ran (sandbox 1, policy 1); none skipped.');
    // The default reporter's summary is still there, and the security line comes after it.
    expect(r.out.indexOf('Test Files')).toBeGreaterThan(-1);
    expect(r.out.indexOf('Security suites:')).toBeGreaterThan(r.out.indexOf('Test Files'));
  });

  it('fails a run whose only problem is a skipped or todo test in a security suite, naming each', () => {
    const r = runVitest({
      'test/sandbox/a.test.ts': `${PASS}\nit.skip('escapes the sandbox', () => {});`,
      'test/e2e/b.test.ts': `describe('flow', () => { it.todo('exfiltration is stopped'); });`,
      'test/audit/c.test.ts': `it.skipIf(true)('chain verifies', () => {});\n${PASS}`,
    });
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain('FAILED: 3 tests did not run. A security suite is never skipped:');
    expect(r.out).toContain('test/sandbox/a.test.ts > escapes the sandbox (skipped)');
    expect(r.out).toContain('test/e2e/b.test.ts > flow > exfiltration is stopped (skipped)');
    expect(r.out).toContain('test/audit/c.test.ts > chain verifies (skipped)');
  });

  it('does not count skips outside the security directories, and only lists them under a name filter', () => {
    const outside = runVitest({
      'test/core/a.test.ts': `${PASS}\nit.skip('later', () => {});`,
      'test/redact/b.test.ts': PASS,
    });
    expect(outside.status, outside.out).toBe(0);
    expect(outside.out).toContain('Security suites: 1 file, 1 test ran (redact 1); none skipped.');

    const filtered = runVitest({ 'test/screen/a.test.ts': `${PASS}\nit('other', () => {});` }, ['-t', 'holds']);
    expect(filtered.status, filtered.out).toBe(0);
    expect(filtered.out).toContain('1 test did not run under the name filter (not enforced)');
  });
});
