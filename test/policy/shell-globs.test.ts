import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePathRule } from '../../src/policy/paths.js';
import { expandGlob, MAX_GLOB_ENTRIES, segmentPattern } from '../../src/policy/shell/glob.js';
import { checkCommand } from '../../src/policy/shell.js';

// A glob target is checked by what it matches, not only by the directory before the first wildcard: `*/passwd`
// starts in the workspace but matches through a link to a directory outside it.
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'gh-shell-globs-')));
const ws = join(tmp, 'ws');
const outside = join(tmp, 'outside');
mkdirSync(join(ws, 'docs'), { recursive: true });
mkdirSync(join(ws, 'src', 'deep'), { recursive: true });
mkdirSync(join(ws, 'links'));
mkdirSync(outside);
writeFileSync(join(outside, 'passwd'), 'x');
writeFileSync(join(ws, 'docs', 'a.md'), 'a');
writeFileSync(join(ws, 'docs', 'b.md'), 'b');
writeFileSync(join(ws, 'src', 'deep', 'x.ts'), 'x');
symlinkSync(outside, join(ws, 'out'));
symlinkSync(join(outside, 'passwd'), join(ws, 'links', 'p'));
const paths = compilePathRule(ws, undefined);
// A workspace of its own for a directory with more entries than a glob may check.
const bulk = join(tmp, 'bulk');
mkdirSync(join(bulk, 'many'), { recursive: true });
for (let i = 0; i <= MAX_GLOB_ENTRIES; i++) writeFileSync(join(bulk, 'many', `f${i}`), '');
const codes = (cmd: string, rule = paths) =>
  checkCommand(cmd, { builtin: false, arg: 'command', paths: rule }).reasons.map((r) => r.code);
const LINK = 'args.command.write_symlink_escape';

describe('shell: glob write targets are checked by their matches', () => {
  it.each([
    ['echo x | tee */passwd', LINK],
    ['chmod 644 links/*', LINK],
    ['chmod -R 755 ./*', LINK],
    ['sed -i s/a/b/ [lo]*/p*', LINK],
    ['echo x > o?t/passwd', LINK],
    ['cp a [o]ut/', LINK],
    ['rm -rf links/*/', LINK],
    ['sed -i s/a/b/ **/passwd', LINK],
    ['chmod 644 /etc/*', 'args.command.write_escape'],
    // The trailing slash follows the link.
    ['rm -rf out/', LINK],
    ['find out/ -delete', LINK],
    // find -exec runs the command on every match, links below the start included.
    ['find . -exec chmod 644 {} +', LINK],
    ["find . -name '*' -exec sed -i s/a/b/ {} \\;", LINK],
    ['find links -exec touch {} +', LINK],
  ])('denies %j (%s)', (cmd, code) => {
    expect(codes(cmd)).toContain(code);
  });

  it.each([
    'chmod 644 docs/*',
    'sed -i s/a/b/ docs/*.md',
    'echo x | tee docs/[ab].md',
    'chmod 644 src/*/x.ts',
    'sed -i s/a/b/ src/**/*.ts',
    // rm and mv act on a link itself, not on what it points to.
    'rm -f links/*',
    'rm -rf ./*',
    'mv links/* docs/',
    'touch docs/new-*.md',
    'rm -rf out',
    'find out -delete',
    'find . -type f -exec chmod 644 {} +',
    'find . -name x -exec rm {} +',
    'find . -exec grep -l a {} +',
    'find docs src -exec chmod 644 {} +',
  ])('allows %j', (cmd) => {
    expect(codes(cmd)).toEqual([]);
  });

  it('a glob over a directory with more entries than the limit is denied (write_unresolved); a plain path is not', () => {
    const rule = compilePathRule(bulk, undefined);
    expect(codes('rm -f many/*', rule)).toContain('args.command.write_unresolved');
    expect(codes('rm -f many/f1*', rule)).toContain('args.command.write_unresolved');
    expect(codes('rm -f many/f1', rule)).toEqual([]);
  });

  it('a sandboxed tool sees the workspace at /workspace: globs there match the workspace', () => {
    const rule = { ...paths, mount: '/workspace' };
    expect(codes('chmod 644 /workspace/docs/*', rule)).toEqual([]);
    expect(codes('chmod 644 /workspace/links/*', rule)).toContain(LINK);
  });
});

describe('glob matching', () => {
  it('over-approximates the shell: dotfiles, any bracket character, never . or ..', () => {
    expect(segmentPattern('*').test('.hidden')).toBe(true);
    expect(segmentPattern('[!x]').test('x')).toBe(true);
    expect(segmentPattern('a.b').test('axb')).toBe(false);
    expect(segmentPattern('a+(b)').test('a+(b)')).toBe(true);
    expect(expandGlob(`${ws}/docs/*`)?.sort()).toEqual([join(ws, 'docs', 'a.md'), join(ws, 'docs', 'b.md')]);
    expect(expandGlob(`${ws}/*`)).not.toContain(join(ws, '..'));
  });
  it('is linear in the name and the pattern (RE2)', () => {
    const t = performance.now();
    const re = segmentPattern(`${'*a'.repeat(2000)}b`);
    for (let i = 0; i < 100; i++) re.test('a'.repeat(255));
    expect(performance.now() - t).toBeLessThan(1000);
  });
});
