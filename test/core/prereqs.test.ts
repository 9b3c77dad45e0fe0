import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findPostgresBinDir,
  locate,
  missing,
  NEEDED,
  POSTGRES_BINARIES,
  postgresBinDir,
} from '../../scripts/test-prereqs.mjs';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'test-prereqs.mjs');
const INITDB = NEEDED.find((n) => n.command === 'initdb')!;

/** A fake `/usr/lib/postgresql` with the given major versions, each with executable server binaries. */
function fakePostgresRoot(versions: string[], binaries = POSTGRES_BINARIES): string {
  const root = mkdtempSync(join(tmpdir(), 'gh-pgroot-'));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const b of binaries) {
      writeFileSync(join(bin, b), '#!/bin/sh\necho fake\n');
      chmodSync(join(bin, b), 0o755);
    }
  }
  return root;
}

function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const old = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  }
}

describe('the test prerequisites step', () => {
  it('finds every needed tool on this machine (npm test ran it first)', () => {
    expect(missing()).toEqual([]);
  });

  it('with the tools and PostgreSQL hidden it fails naming them and the install command, never skips', () => {
    const empty = mkdtempSync(join(tmpdir(), 'gh-path-'));
    const r = spawnSync(process.execPath, [SCRIPT], {
      encoding: 'utf8',
      env: { PATH: empty, GATEHOUSE_NO_INSTALL: '1', GATEHOUSE_POSTGRES_ROOT: empty },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing: .*bwrap.*chromium.*initdb/);
    expect(r.stderr).toContain(
      'apt-get update && apt-get install -y --no-install-recommends bubblewrap seccomp chromium strace curl git util-linux postgresql\n',
    );
  });

  it("finds initdb in Debian's versioned directory even though it is not on PATH", () => {
    const empty = mkdtempSync(join(tmpdir(), 'gh-path-'));
    const root = fakePostgresRoot(['13', '15']);
    withEnv('GATEHOUSE_POSTGRES_ROOT', root, () => {
      expect(locate(INITDB, empty)).toBe(join(root, '15', 'bin', 'initdb'));
      expect(missing(empty, [INITDB])).toEqual([]);
    });
    withEnv('GATEHOUSE_POSTGRES_ROOT', empty, () => {
      expect(missing(empty, [INITDB]).map((m) => m.pkg)).toEqual(['postgresql']);
    });
  });
});

describe('postgresBinDir, for the PostgreSQL store suites', () => {
  it('returns a directory with a working initdb, pg_ctl and postgres on this machine', () => {
    const dir = postgresBinDir();
    for (const b of POSTGRES_BINARIES) {
      const r = spawnSync(join(dir, b), ['--version'], { encoding: 'utf8' });
      expect(r.status, `${b} --version`).toBe(0);
      expect(r.stdout).toMatch(/PostgreSQL\)? \d+/);
    }
  });

  it('prefers the newest /usr/lib/postgresql/NN/bin and skips an incomplete one', () => {
    const root = fakePostgresRoot(['9.6', '12', '16']);
    const partial = fakePostgresRoot(['17'], ['initdb']);
    withEnv('GATEHOUSE_POSTGRES_BIN', undefined, () => {
      expect(findPostgresBinDir({ path: '', root })).toBe(join(root, '16', 'bin'));
      expect(findPostgresBinDir({ path: '', root: partial })).toBeUndefined();
    });
  });

  it('follows an initdb symlink on PATH to the directory that holds the other binaries', () => {
    const root = fakePostgresRoot(['14']);
    const onPath = mkdtempSync(join(tmpdir(), 'gh-path-'));
    symlinkSync(join(root, '14', 'bin', 'initdb'), join(onPath, 'initdb'));
    const empty = mkdtempSync(join(tmpdir(), 'gh-pgroot-'));
    withEnv('GATEHOUSE_POSTGRES_BIN', undefined, () => {
      expect(findPostgresBinDir({ path: onPath, root: empty })).toBe(join(root, '14', 'bin'));
    });
  });

  it('honours GATEHOUSE_POSTGRES_BIN, and fails naming the install command when nothing is found', () => {
    const root = fakePostgresRoot(['15']);
    const empty = mkdtempSync(join(tmpdir(), 'gh-pgroot-'));
    withEnv('GATEHOUSE_POSTGRES_BIN', join(root, '15', 'bin'), () => {
      expect(postgresBinDir({ path: '', root: empty })).toBe(join(root, '15', 'bin'));
    });
    withEnv('GATEHOUSE_POSTGRES_BIN', empty, () => {
      expect(() => postgresBinDir({ path: '', root })).toThrow(`were not found in ${empty}.`);
    });
    withEnv('GATEHOUSE_POSTGRES_BIN', undefined, () => {
      expect(() => postgresBinDir({ path: '', root: empty })).toThrow(
        'apt-get update && apt-get install -y --no-install-recommends postgresql',
      );
    });
  });
});
