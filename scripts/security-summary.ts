/**
 * A vitest reporter that ends the run with a line on the security suites: how many test files and tests ran under
 * each security directory, and that none was skipped. A skipped, todo or never-run test in a security suite, or a
 * security suite with no tests at all, fails the run (exit 1) and is listed. Used next to the default reporter
 * (vitest.config.ts). With a name filter (`-t`) the other tests are skipped by request, so skips are listed but
 * not enforced.
 */
import { relative, sep } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

/** The directories whose suites must never skip (issue 17). */
export const SECURITY_DIRS = ['identity', 'sandbox', 'audit', 'screen', 'redact', 'policy', 'e2e'] as const;

export interface SecuritySummary {
  /** Test files per security directory. */
  files: Record<string, number>;
  tests: number;
  /** `file > test name (state)` for every security test that did not run. */
  notRun: string[];
  /** Security test files that hold no test. */
  empty: string[];
  ok: boolean;
  line: string;
}

export function summarise(root: string, modules: readonly TestModule[], enforce = true): SecuritySummary {
  const files: Record<string, number> = {};
  const notRun: string[] = [];
  const empty: string[] = [];
  let tests = 0;
  for (const m of modules) {
    const rel = relative(root, m.moduleId).split(sep).join('/');
    const dir = SECURITY_DIRS.find((d) => rel.startsWith(`test/${d}/`));
    if (!dir) continue;
    files[dir] = (files[dir] ?? 0) + 1;
    let here = 0;
    for (const t of m.children.allTests()) {
      here++;
      const state = t.result().state;
      if (state === 'passed' || state === 'failed') tests++;
      else notRun.push(`${rel} > ${t.fullName} (${state})`);
    }
    if (here === 0) empty.push(rel);
  }
  const nFiles = Object.values(files).reduce((a, b) => a + b, 0);
  const per = SECURITY_DIRS.filter((d) => files[d]).map((d) => `${d} ${files[d]}`);
  const ok = !enforce || (notRun.length === 0 && empty.length === 0);
  let line: string;
  if (nFiles === 0) line = 'Security suites: none in this run.';
  else {
    const head = `Security suites: ${nFiles} file${nFiles === 1 ? '' : 's'}, ${tests} test${tests === 1 ? '' : 's'} ran (${per.join(', ')})`;
    if (notRun.length === 0 && empty.length === 0) line = `${head}; none skipped.`;
    else {
      const what = [
        notRun.length ? `${notRun.length} test${notRun.length === 1 ? '' : 's'} did not run` : '',
        empty.length ? `${empty.length} file${empty.length === 1 ? '' : 's'} with no tests` : '',
      ].filter(Boolean);
      line = enforce
        ? `${head}; FAILED: ${what.join(' and ')}. A security suite is never skipped:`
        : `${head}; ${what.join(' and ')} under the name filter (not enforced):`;
      line += ['', ...notRun, ...empty.map((f) => `${f} (no tests)`)].join('\n  ');
    }
  }
  return { files, tests, notRun, empty, ok, line };
}

export default class SecuritySummaryReporter implements Reporter {
  private root = process.cwd();
  private enforce = true;

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    this.enforce = !vitest.config.testNamePattern;
  }

  private modules: readonly TestModule[] = [];

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    this.modules = modules;
  }

  /** After the default reporter's summary (vitest calls every onTestRunEnd, then every onFinished, in order). */
  onFinished(): void {
    const s = summarise(this.root, this.modules, this.enforce);
    console.log(`${s.line}\n`);
    if (!s.ok) process.exitCode = 1;
  }
}
