import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = join(import.meta.dirname, '..', '..', 'dist', 'index.js');

describe('the package entry', () => {
  it('importing it changes no globals (no Reflect polyfill, no new global names)', () => {
    expect(existsSync(DIST), 'dist/index.js is missing: npm test builds it first').toBe(true);
    const script = `
      const before = new Set(Object.getOwnPropertyNames(globalThis));
      const reflectBefore = Object.getOwnPropertyNames(Reflect).length;
      await import(${JSON.stringify(DIST)});
      // zod keeps its schema registry on globalThis under a private name; it is zod's, and holds no behaviour.
      const added = Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k) && !k.startsWith('__zod_'));
      console.log(JSON.stringify({ added, reflect: Object.getOwnPropertyNames(Reflect).length - reflectBefore }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ added: [], reflect: 0 });
  });
});
