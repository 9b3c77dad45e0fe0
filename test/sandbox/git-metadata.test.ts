import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, makeSandbox, workspace } from './helpers.js';

// Repository metadata is host-executable (hooks run on the host's next git command): the sandbox must not change it.
const { sb, audit } = makeSandbox();
beforeAll(() => sb.ensureReady());
afterAll(cleanup);

function repo(ws: string, rel = '.git'): string {
  const g = join(ws, rel);
  mkdirSync(join(g, 'hooks'), { recursive: true });
  writeFileSync(join(g, 'config'), '[core]\n');
  writeFileSync(join(g, 'HEAD'), 'ref: refs/heads/main\n');
  chmodSync(g, 0o777);
  chmodSync(join(g, 'hooks'), 0o777);
  return g;
}

describe('sandbox: .git as a whole', () => {
  it('cannot rename .git away and put back a copy with a new post-checkout hook', async () => {
    const ws = workspace();
    repo(ws);
    chmodSync(ws, 0o777);
    const r = await sb.run(
      [
        'sh',
        '-c',
        'cp -r .git /tmp/g && mkdir -p /tmp/g/hooks && printf "#!/bin/sh\\necho pwned\\n" > /tmp/g/hooks/post-checkout; ' +
          'mv .git .git-old; echo "mv=$?"; rm -rf .git; echo "rm=$?"; cp -r /tmp/g .git; true',
      ],
      { workspace: ws },
    );
    expect(r.stdout).toMatch(/mv=[1-9]/);
    expect(r.stdout).toMatch(/rm=[1-9]/);
    expect(existsSync(join(ws, '.git-old'))).toBe(false);
    expect(existsSync(join(ws, '.git', 'hooks', 'post-checkout'))).toBe(false);
    expect(readFileSync(join(ws, '.git', 'config'), 'utf8')).toBe('[core]\n');
  });

  it('every file of .git is read-only (HEAD, refs, info), not only hooks and config', async () => {
    const ws = workspace();
    repo(ws);
    const r = await sb.run(
      ['sh', '-c', 'echo x > .git/HEAD; mkdir .git/info; echo "*.c filter=x" > .git/info/attributes; true'],
      {
        workspace: ws,
      },
    );
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(join(ws, '.git', 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
    expect(existsSync(join(ws, '.git', 'info'))).toBe(false);
  });

  it('a .git file pointing into the workspace protects the file and the repository it names', async () => {
    const ws = workspace();
    repo(ws, 'store/mod.git');
    mkdirSync(join(ws, 'mod'));
    writeFileSync(join(ws, 'mod', '.git'), 'gitdir: ../store/mod.git\n');
    chmodSync(join(ws, 'mod'), 0o777);
    chmodSync(join(ws, 'mod', '.git'), 0o666);
    const r = await sb.run(
      [
        'sh',
        '-c',
        'echo evil > store/mod.git/hooks/post-checkout; echo "gitdir: /tmp" > mod/.git; mv mod/.git mod/x; true',
      ],
      { workspace: ws },
    );
    expect(r.stderr.match(/Read-only file system|busy/gi)?.length).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(ws, 'mod', '.git'), 'utf8')).toBe('gitdir: ../store/mod.git\n');
    expect(existsSync(join(ws, 'store', 'mod.git', 'hooks', 'post-checkout'))).toBe(false);
  });

  it('a core.hooksPath pointing into the workspace is protected', async () => {
    const ws = workspace();
    const g = repo(ws);
    writeFileSync(join(g, 'config'), '[core]\n\thooksPath = tools/hooks\n');
    mkdirSync(join(ws, 'tools', 'hooks'), { recursive: true });
    chmodSync(join(ws, 'tools', 'hooks'), 0o777);
    const r = await sb.run(['sh', '-c', 'echo evil > tools/hooks/pre-commit; true'], { workspace: ws });
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(ws, 'tools', 'hooks', 'pre-commit'))).toBe(false);
  });

  it('a repository the sandbox creates (no .git before, or a new nested one) is quarantined and audited', async () => {
    const ws = workspace();
    chmodSync(ws, 0o777);
    mkdirSync(join(ws, 'sub'));
    chmodSync(join(ws, 'sub'), 0o777);
    const r = await sb.run(
      [
        'sh',
        '-c',
        'mkdir -p .git/hooks sub/.git/hooks && echo evil > .git/hooks/post-checkout && ln -s /tmp sub/x && echo ok',
      ],
      { workspace: ws },
    );
    expect(r.stdout).toBe('ok\n');
    expect(existsSync(join(ws, '.git'))).toBe(false);
    expect(existsSync(join(ws, 'sub', '.git'))).toBe(false);
    expect(readdirSync(ws).some((n) => n.startsWith('.git.quarantined-'))).toBe(true);
    const ev = audit.events.find((e) => e.type === 'sandbox.git_quarantined');
    expect((ev?.data as { moved: string[] } | undefined)?.moved.slice().sort()).toEqual(['.git', 'sub/.git']);
  });

  it('a .git symlink swapped for a planted directory is quarantined', async () => {
    const ws = workspace();
    repo(ws, 'real.git');
    symlinkSync('real.git', join(ws, '.git'));
    chmodSync(ws, 0o777);
    await sb.run(['sh', '-c', 'rm .git && mkdir -p .git/hooks && echo evil > .git/hooks/post-checkout'], {
      workspace: ws,
    });
    expect(lstatSync(join(ws, '.git'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('hard links cannot reach files outside the workspace (mount boundaries: EXDEV)', async () => {
    const ws = workspace();
    const r = await sb.run(
      [
        'sh',
        '-c',
        'ln /usr/bin/env ./e; echo "usr=$?"; ln /tmp/../etc/passwd ./p; echo "etc=$?"; echo x > /tmp/f; ln /tmp/f ./f; echo "tmp=$?"',
      ],
      {
        workspace: ws,
      },
    );
    expect(r.stdout).toMatch(/usr=1/);
    expect(r.stdout).toMatch(/etc=1/);
    expect(r.stdout).toMatch(/tmp=1/);
    expect(r.stderr).toMatch(/cross-device|Invalid cross-device link/i);
  });
});
