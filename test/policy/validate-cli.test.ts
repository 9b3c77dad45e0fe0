import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gatehouse } from '../helpers/cli.js';

/** `gatehouse policy validate` in process, on real files. */
async function validate(text: string, ...flags: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-validate-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, text);
  try {
    const r = await gatehouse(['--config', file, 'policy', 'validate', ...flags], { cwd: dir });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, file };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

const BASE = 'version: 1\ntools:\n  fs.read: { risk: low }\nroles:\n  r:\n    grants:\n';

describe('policy validate', () => {
  it('lists every CEL problem with file, line and column, exit 2', async () => {
    const r = await validate(
      `${BASE}      - tools: [fs.read]\n        when: principal.proofOfPosession\n      - tools: [fs.read]\n        when: "1 +"\n`,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${r.file}:8:25: roles.r.grants[0].when: CEL condition does not type-check`);
    expect(r.stderr).toContain(`${r.file}:10:19: roles.r.grants[1].when: invalid CEL`);
  });
  it('--strict fails on a grant for a tool that does not exist; without it the file is valid', async () => {
    const text = `${BASE}      - tools: [fs.raed]\n`;
    const loose = await validate(text);
    expect(loose.code).toBe(0);
    const strict = await validate(text, '--strict');
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain(`${strict.file}:7: roles.r.grants[0].tools[0]: found tool "fs.raed"`);
    const json = await validate(text, '--strict', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, problems: [{ line: 7 }] });
  });
  it('--strict passes a clean file', async () => {
    const r = await validate(`${BASE}      - tools: [fs.read]\n`, '--strict');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/is valid: 1 tools, 1 roles, 1 rules/);
  });
});
