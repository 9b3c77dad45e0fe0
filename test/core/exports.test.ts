import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, unknown>;
  peerDependenciesMeta: Record<string, { optional: boolean }>;
};

describe('the package as a user imports it', () => {
  it('is published under a name of ours and installs the gatehouse command', () => {
    // `gatehouse` on npm is an unrelated package: the README's `npx gatehouse` must never resolve to it.
    expect(pkg.name).toBe('gatehouse-agent');
    expect(Object.keys(pkg.bin)).toEqual(['gatehouse']);
  });

  it('every subpath export resolves by the package name in plain Node (npm test builds first)', () => {
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
    expect(subpaths).toEqual(
      expect.arrayContaining(['.', './client', './guard', './ai', './openai-agents', './langchain']),
    );
    const script = subpaths
      .map((s) => `await import(${JSON.stringify(s === '.' ? pkg.name : `${pkg.name}/${s.slice(2)}`)});`)
      .join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${script}\nconsole.log('ok');`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('framework SDKs are optional peers, so the core install does not pull them in', () => {
    for (const p of ['ai', '@openai/agents', '@langchain/core'])
      expect(pkg.peerDependenciesMeta[p]?.optional).toBe(true);
  });
});
