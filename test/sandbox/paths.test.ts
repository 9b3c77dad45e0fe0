import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveExtraBinds, resolveWorkspace } from '../../src/sandbox/bwrap.js';
import { compileGlobs, scanWorkspace } from '../../src/sandbox/paths.js';
import { BUILTIN_HOST_FORBIDDEN, BUILTIN_WORKSPACE_FORBIDDEN } from '../../src/sandbox/profiles.js';
import { cleanup, tempDir } from './helpers.js';

afterAll(cleanup);

describe('globs', () => {
  it('match segments, any depth, and descendants', () => {
    const g = compileGlobs(['**/.env', '/home/*/.ssh', 'secrets/**', '*.pem']);
    expect(g.matches('.env')).toBe(true);
    expect(g.matches('a/b/.env')).toBe(true);
    expect(g.matches('a/b/.envrc')).toBe(false);
    expect(g.matches('/home/me/.ssh/id_rsa')).toBe(true);
    expect(g.matches('/home/me/x/.ssh')).toBe(false);
    expect(g.matches('secrets/a/b')).toBe(true);
    expect(g.matches('key.pem')).toBe(true);
    expect(g.matches('dir/key.pem')).toBe(false);
  });

  it('the fast paths agree with a reference matcher on random paths', () => {
    const ref = (g: string, s: string): boolean => {
      const m = (i: number, j: number): boolean => {
        if (i === g.length) return j === s.length;
        if (g.startsWith('**/', i)) {
          if (m(i + 3, j)) return true;
          for (let k = j; k < s.length; k++) if (s[k] === '/' && m(i + 3, k + 1)) return true;
          return false;
        }
        if (g.startsWith('**', i)) {
          for (let k = j; k <= s.length; k++) if (m(i + 2, k)) return true;
          return false;
        }
        if (g[i] === '*') {
          for (let k = j; ; k++) {
            if (m(i + 1, k)) return true;
            if (k === s.length || s[k] === '/') return false;
          }
        }
        if (g[i] === '?') return j < s.length && s[j] !== '/' && m(i + 1, j + 1);
        return s[j] === g[i] && m(i + 1, j + 1);
      };
      return m(0, 0);
    };
    const matchesRef = (globs: readonly string[], path: string) => {
      const parts = path.split('/');
      for (let n = 1; n <= parts.length; n++) {
        const prefix = parts.slice(0, n).join('/');
        if (prefix && globs.some((g) => ref(g, prefix))) return true;
      }
      return false;
    };
    const segs = [
      '.env',
      '.env.local',
      'a',
      'x.pem',
      '.ssh',
      'config',
      '.kube',
      'home',
      'u',
      'config.json',
      '.docker',
      'id_rsa',
      'b.key',
    ];
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (const globs of [BUILTIN_WORKSPACE_FORBIDDEN, BUILTIN_HOST_FORBIDDEN, ['a/*.pem', 'config', '**/u/**/x.pem']]) {
      const g = compileGlobs(globs);
      for (let i = 0; i < 1500; i++) {
        const len = 1 + rnd(4);
        const path = (rnd(2) ? '/' : '') + Array.from({ length: len }, () => segs[rnd(segs.length)]).join('/');
        expect(g.matches(path), `${path} vs ${globs.join(',')}`).toBe(matchesRef(globs, path));
      }
    }
  });

  it('run in linear time on adversarial names', () => {
    const g = compileGlobs(['**/*a*a*a*a*a*a*a*b']);
    const t = performance.now();
    expect(g.matches(`${'a/'.repeat(2000)}${'a'.repeat(100_000)}`)).toBe(false);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});

describe('workspace scan', () => {
  it('masks forbidden entries, hard links to them, and absolute host globs inside the workspace', () => {
    const ws = tempDir();
    writeFileSync(join(ws, '.env'), 'x');
    linkSync(join(ws, '.env'), join(ws, 'copy'));
    mkdirSync(join(ws, 'a', '.ssh'), { recursive: true });
    writeFileSync(join(ws, 'a', '.ssh', 'id'), 'k');
    linkSync(join(ws, 'a', '.ssh', 'id'), join(ws, 'key-copy'));
    writeFileSync(join(ws, 'ok.txt'), 'fine');
    symlinkSync('/etc/shadow', join(ws, '.netrc'));
    mkdirSync(join(ws, 'data'));
    const masks = scanWorkspace(ws, compileGlobs(BUILTIN_WORKSPACE_FORBIDDEN), compileGlobs([join(ws, 'data')]), 1000);
    expect(masks.sort((x, y) => x.rel.localeCompare(y.rel))).toEqual([
      { rel: '.env', kind: 'file' },
      { rel: 'a/.ssh', kind: 'dir' },
      { rel: 'copy', kind: 'file' },
      { rel: 'data', kind: 'dir' },
      { rel: 'key-copy', kind: 'file' },
    ]);
  });

  it('refuses a workspace larger than the scan limit', () => {
    const ws = tempDir();
    for (let i = 0; i < 20; i++) writeFileSync(join(ws, `f${i}`), '');
    expect(() => scanWorkspace(ws, compileGlobs([]), compileGlobs([]), 10)).toThrow(/more than 10 entries/);
  });
});

describe('binds', () => {
  it('refuses workspaces and binds that are or contain forbidden paths', () => {
    const host = [...BUILTIN_HOST_FORBIDDEN];
    for (const p of ['/', '/etc', '/home', '/root', '/proc'])
      expect(() => resolveWorkspace(p, host), p).toThrow(/forbidden/);
    const ws = tempDir();
    expect(resolveWorkspace(ws, host)).toBe(ws);
    expect(() => resolveWorkspace(join(ws, 'missing'), host)).toThrow(/not an existing directory/);
    expect(() => resolveExtraBinds(['/etc'], host)).toThrow(/forbidden/);
    expect(() => resolveExtraBinds(['/home'], host)).toThrow(/forbidden/);
    const link = join(tempDir(), 'l');
    symlinkSync('/root', link);
    expect(() => resolveExtraBinds([link], host)).toThrow(/forbidden/);
    expect(resolveExtraBinds(['/usr/share'], host)).toEqual(['/usr/share']);
  });
});
