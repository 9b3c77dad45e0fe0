import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, makeSandbox, tempDir, workspace } from './helpers.js';

// Containment classes 1 (secrets), 2 (writes and symlinks), 9 (setuid) and 11 (env and fd leaks), against real bwrap.
const { sb, audit } = makeSandbox({
  profiles: {
    suid: { filesystem: { read_only: [] } },
  },
});

beforeAll(() => sb.ensureReady());
afterAll(cleanup);

describe('1. host secrets are unreadable', () => {
  it('cannot read /etc/shadow, /root, ~/.ssh or any unbound host path', async () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.txt'), 'TOPSECRET');
    const r = await sb.run(
      [
        'sh',
        '-c',
        `for p in /etc/shadow /etc/gshadow /root /home /etc/ssh ${outside}/secret.txt /work /var/lib; do if cat "$p" >/dev/null 2>&1 || ls "$p" >/dev/null 2>&1; then echo "READ $p"; fi; done; echo done`,
      ],
      { workspace: workspace() },
    );
    expect(r.stdout).toBe('done\n');
  });

  it('masks forbidden files inside the workspace, including hard links and the data dir name', async () => {
    const ws = workspace();
    writeFileSync(join(ws, '.env'), 'API_KEY=sk-live-123');
    mkdirSync(join(ws, '.ssh'));
    writeFileSync(join(ws, '.ssh', 'id_ed25519'), 'PRIVATE');
    mkdirSync(join(ws, 'sub', '.aws'), { recursive: true });
    writeFileSync(join(ws, 'sub', '.aws', 'credentials'), 'AWSSECRET');
    writeFileSync(join(ws, 'server.key'), 'KEYDATA');
    linkSync(join(ws, '.env'), join(ws, 'innocent.txt'));
    mkdirSync(join(ws, '.gatehouse'));
    writeFileSync(join(ws, '.gatehouse', 'master.key'), 'MASTER');
    writeFileSync(join(ws, 'README.md'), 'hello');
    const r = await sb.run(
      [
        'sh',
        '-c',
        'cat .env .ssh/id_ed25519 sub/.aws/credentials server.key innocent.txt .gatehouse/master.key README.md 2>/dev/null; true',
      ],
      {
        workspace: ws,
      },
    );
    expect(r.stdout).toBe('hello');
  });
});

describe('2. writes outside the workspace and /tmp fail; symlinks do not widen access', () => {
  it('only /tmp and /workspace are writable', async () => {
    const r = await sb.run(
      [
        'sh',
        '-c',
        'for p in /usr/x /etc/x /x /proc/sys/kernel/hostname /dev/x /run/x /dev/shm/x /tmp/x /workspace/x; do if echo 1 > "$p" 2>/dev/null; then echo "W $p"; fi; done',
      ],
      { workspace: workspace() },
    );
    expect(r.stdout).toBe('W /dev/shm/x\nW /tmp/x\nW /workspace/x\n');
  });

  it('.git (hooks, config, HEAD) is read-only, and a missing hooks dir cannot be planted', async () => {
    const ws = workspace();
    mkdirSync(join(ws, '.git'));
    writeFileSync(join(ws, '.git', 'config'), '[core]\n');
    chmodSync(join(ws, '.git'), 0o777);
    const r = await sb.run(
      [
        'sh',
        '-c',
        'echo evil > .git/hooks/pre-commit; echo "[core] hooksPath=/tmp" >> .git/config; echo ok > .git/HEAD; true',
      ],
      { workspace: ws },
    );
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(join(ws, '.git', 'config'), 'utf8')).toBe('[core]\n');
    expect(() => statSync(join(ws, '.git', 'hooks', 'pre-commit'))).toThrow();
    expect(existsSync(join(ws, '.git', 'HEAD'))).toBe(false);
  });

  it('nested repositories and symlinked hooks directories are protected too', async () => {
    const ws = workspace();
    mkdirSync(join(ws, 'lib', 'dep', '.git'), { recursive: true });
    writeFileSync(join(ws, 'lib', 'dep', '.git', 'config'), '[core]\n');
    mkdirSync(join(ws, '.git'));
    mkdirSync(join(ws, 'myhooks'));
    symlinkSync('../myhooks', join(ws, '.git', 'hooks'));
    chmodSync(join(ws, 'lib', 'dep', '.git'), 0o777);
    chmodSync(join(ws, 'myhooks'), 0o777);
    chmodSync(join(ws, 'lib', 'dep', '.git', 'config'), 0o666);
    const r = await sb.run(
      [
        'sh',
        '-c',
        'echo evil > lib/dep/.git/hooks/post-checkout; echo x >> lib/dep/.git/config; echo evil > myhooks/pre-commit; echo evil > .git/hooks/pre-push; true',
      ],
      { workspace: ws },
    );
    expect(r.stderr.match(/Read-only file system/g)?.length).toBe(4);
    expect(readFileSync(join(ws, 'lib', 'dep', '.git', 'config'), 'utf8')).toBe('[core]\n');
    expect(() => statSync(join(ws, 'myhooks', 'pre-commit'))).toThrow();
  });

  it('symlinks to host paths resolve inside the sandbox view only', async () => {
    const ws = workspace();
    const outside = tempDir();
    chmodSync(outside, 0o777);
    writeFileSync(join(outside, 'secret.txt'), 'TOPSECRET');
    symlinkSync('/etc/shadow', join(ws, 'shadow'));
    symlinkSync(outside, join(ws, 'out'));
    symlinkSync('/etc', join(ws, 'etc'));
    const r = await sb.run(
      [
        'sh',
        '-c',
        'cat shadow out/secret.txt 2>/dev/null; echo x > out/new 2>/dev/null; echo x > etc/new 2>/dev/null; echo end',
      ],
      {
        workspace: ws,
      },
    );
    expect(r.stdout).toBe('end\n');
    expect(() => statSync(join(outside, 'new'))).toThrow();
  });

  it('a workspace given as a symlink is resolved before binding, and forbidden workspaces are refused', async () => {
    const ws = workspace();
    const link = join(tempDir(), 'ws-link');
    symlinkSync(ws, link);
    const r = await sb.run(['sh', '-c', 'echo hi > f && cat f'], { workspace: link });
    expect(r.stdout).toBe('hi\n');
    expect(readFileSync(join(ws, 'f'), 'utf8')).toBe('hi\n');
    const rootLink = join(tempDir(), 'root-link');
    symlinkSync('/etc', rootLink);
    await expect(sb.run(['true'], { workspace: rootLink })).rejects.toThrow(/forbidden/);
    await expect(sb.run(['true'], { workspace: '/' })).rejects.toThrow(/forbidden/);
  });
});

describe('9. a setuid-root binary gains nothing', () => {
  it('a setuid copy of id and the setuid mount binary keep the sandbox uid', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    copyFileSync('/usr/bin/id', join(dir, 'suid-id'));
    chmodSync(join(dir, 'suid-id'), 0o4755);
    const { sb: s2 } = makeSandbox({ profiles: { suid: { filesystem: { read_only: [dir] } } } });
    const r = await s2.run(
      [
        'sh',
        '-c',
        `${dir}/suid-id -u; ${dir}/suid-id -ru; mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1 && echo MOUNTED; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status`,
      ],
      {
        profile: 'suid',
        workspace: workspace(),
      },
    );
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('65534');
    expect(lines[1]).toBe('65534');
    expect(r.stdout).not.toMatch(/MOUNTED/);
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(r.stdout).toMatch(/CapEff:\s+0000000000000000/);
  });
});

describe('11. no parent environment and no extra descriptors leak in', () => {
  it('sees only the explicit environment; broker values reach the command but not the audit log', async () => {
    process.env.GH_LEAK_CANARY = 'canary-value-should-not-leak';
    try {
      const r = await sb.run(['sh', '-c', 'env | sort'], {
        workspace: workspace(),
        env: { GH_TOKEN: 'tok-secret-xyz' },
        agent: 'agent-1',
      });
      const keys = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=')[0]);
      expect(keys.sort()).toEqual(['GH_TOKEN', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR', 'USER'].sort());
      expect(r.stdout).toContain('GH_TOKEN=tok-secret-xyz');
      expect(r.stdout).not.toContain('canary');
      expect(JSON.stringify(audit.events)).not.toContain('tok-secret-xyz');
      expect(JSON.stringify(audit.events)).toContain('GH_TOKEN');
    } finally {
      delete process.env.GH_LEAK_CANARY;
    }
  });

  it('has only descriptors 0-2, even when Gatehouse itself inherited open ones ', async () => {
    const { spawnSync } = await import('node:child_process');
    const fixture = join(import.meta.dirname, 'fixtures', 'fd-child.ts');
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
    // Node itself marks inherited descriptors up to 15 close-on-exec at startup; these two stay inheritable.
    for (let fd = 3; fd <= 20; fd++) stdio.push(fd === 17 || fd === 20 ? 'pipe' : 'ignore');
    const child = spawnSync(process.execPath, ['--import', 'tsx', fixture, workspace()], {
      stdio,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    const got = JSON.parse(child.stdout) as { parent: number[]; inside: number[] };
    expect(got.parent).toEqual(expect.arrayContaining([17, 20]));
    // 0-2, plus the directory ls itself opened to list /proc/self/fd
    expect(got.inside).toEqual([0, 1, 2, 3]);
  });
});
