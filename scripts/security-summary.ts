/**
 * A vitest reporter that ends the run with a line on the security suites: how many test files and tests ran in them
 * (per directory on the next line), and that none was skipped. A skipped, todo or never-run test in a security suite,
 * or a security suite with no tests (a file that failed to load or holds none), fails the run (exit 1) and is listed.
 * So does a test file outside both lists below: a new test directory has to be classified here first.
 * Used next to the default reporter (vitest.config.ts), so it prints after vitest's own summary. With a name filter
 * (`-t`) the other tests are skipped by request: skips are then listed but not enforced.
 */
import { relative, sep } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

/**
 * The security suites (issue 17: none is ever skipped), as paths under test/: every directory that tests a control
 * of the pipeline (authenticate, screen, authorize, gate, sandbox, filter, audit), its store, its configuration,
 * its HTTP/MCP/CLI surfaces and the adapters that put it in front of agent frameworks, and the library facade.
 */
export const SECURITY_DIRS = [
  'adapters',
  'approvals',
  'audit',
  'config',
  'core',
  'credentials',
  'e2e',
  'flow',
  'gatehouse.test.ts',
  'guard',
  'identity',
  'mcp',
  'monitor',
  'policy',
  'redact',
  'sandbox',
  'screen',
  'server',
  'store',
] as const;

/** Test paths that are not security suites: the packed package and its examples (packaging, not a control). */
export const OTHER_DIRS = ['examples'] as const;

export interface SecuritySummary {
  /** Test files per security directory. */
  files: Record<string, number>;
  /** Tests of the security suites that ran (passed or failed). */
  tests: number;
  failed: number;
  /** `file > test name (state)` for every security test that did not run. */
  notRun: string[];
  /** Security test files that hold no test (or failed to load). */
  empty: string[];
  /** Test files in neither SECURITY_DIRS nor OTHER_DIRS. */
  unclassified: string[];
  ok: boolean;
  line: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function classify(rel: string, dirs: readonly string[]): string | undefined {
  return dirs.find((d) => rel === `test/${d}` || rel.startsWith(`test/${d}/`));
}

export function summarise(root: string, modules: readonly TestModule[], enforce = true): SecuritySummary {
  const files: Record<string, number> = {};
  const notRun: string[] = [];
  const empty: string[] = [];
  const unclassified: string[] = [];
  let tests = 0;
  let failed = 0;
  for (const m of modules) {
    const rel = relative(root, m.moduleId).split(sep).join('/');
    const dir = classify(rel, SECURITY_DIRS);
    if (!dir) {
      if (!classify(rel, OTHER_DIRS)) unclassified.push(rel);
      continue;
    }
    files[dir] = (files[dir] ?? 0) + 1;
    let here = 0;
    for (const t of m.children.allTests()) {
      here++;
      const state = t.result().state;
      if (state === 'passed' || state === 'failed') {
        tests++;
        if (state === 'failed') failed++;
      } else notRun.push(`${rel} > ${t.fullName} (${t.options.mode === 'todo' ? 'todo' : state})`);
    }
    if (here === 0) empty.push(rel);
  }
  const nFiles = Object.values(files).reduce((a, b) => a + b, 0);
  const problems = [
    notRun.length ? `${plural(notRun.length, 'test')} did not run` : '',
    empty.length ? `${plural(empty.length, 'file')} with no tests` : '',
  ].filter(Boolean);
  const ok = unclassified.length === 0 && (!enforce || problems.length === 0);

  let line: string;
  if (nFiles === 0) line = 'Security suites: none in this run.';
  else {
    const head = `Security suites: ${plural(nFiles, 'file')}, ${plural(tests, 'test')} ran${failed ? ` (${failed} failed)` : ''}`;
    if (problems.length === 0) line = `${head}; none skipped.`;
    else if (enforce) line = `${head}; FAILED: ${problems.join(' and ')}. A security suite is never skipped:`;
    else line = `${head}; ${problems.join(' and ')} under the name filter (not enforced):`;
    line += ['', ...notRun, ...empty.map((f) => `${f} (no tests)`)].join('\n  ');
    const per = SECURITY_DIRS.filter((d) => files[d]).map((d) => `${d.replace(/\.test\.ts$/, '')} ${files[d]}`);
    line += `\n  per directory: ${per.join(', ')}`;
  }
  if (unclassified.length > 0)
    line +=
      `\nFAILED: ${plural(unclassified.length, 'test file')} in no list of scripts/security-summary.ts ` +
      `(add the directory to SECURITY_DIRS or OTHER_DIRS):${['', ...unclassified].join('\n  ')}`;
  return { files, tests, failed, notRun, empty, unclassified, ok, line };
}

export default class SecuritySummaryReporter implements Reporter {
  private root = process.cwd();
  private enforce = true;
  private modules: readonly TestModule[] = [];

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
    this.enforce = !vitest.config.testNamePattern;
  }

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
