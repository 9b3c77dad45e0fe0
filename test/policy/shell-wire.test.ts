import { accessSync, constants, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ToolSchema } from '../../src/config/sections/tools.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { compileToolRules } from '../../src/policy/tools.js';
import { SANDBOX_WORKSPACE } from '../../src/sandbox/bwrap.js';
import { tempDir } from '../helpers/tmp.js';

// A shell tool's write targets are confined to its workspace, /tmp and its `roots` by default, through the
// real pipeline (gh.decide): what an agent needs stays allowed, writes elsewhere are denied. The workspace is
// not under /tmp (an allowed root), or every escape from it would land in /tmp; the checkout itself may be under
// /tmp (CI clones there), so the workspace goes to /var/tmp, else the home directory.
function workDir(): { dir: string; cleanup: () => void } {
  const base = [`/var/tmp`, homedir()].find((d) => {
    try {
      accessSync(d, constants.W_OK);
      return !realpathSync(d).startsWith('/tmp/');
    } catch {
      return false;
    }
  });
  if (!base) throw new Error('these tests need a writable directory outside /tmp: /var/tmp or the home directory');
  const dir = realpathSync(mkdtempSync(join(base, 'gh-wire-')));
  expect(dir.startsWith('/tmp/')).toBe(false);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
const tools: Record<string, z.input<typeof ToolSchema>> = {
  'shell.exec': { risk: 'low', args: { command: {} } },
  'sandbox.exec': { risk: 'low', sandbox: 'default', args: { command: {} } },
  'shell.shared': { risk: 'low', args: { command: { roots: ['/srv/shared'] } } },
  'shell.anywhere': { risk: 'low', args: { command: { roots: ['/'] } } },
  'fs.write': { risk: 'low', args: { path: {} } },
};

describe('shell write targets through gh.decide', () => {
  const tmp = workDir();
  const data = tempDir('gh-wire-data-');
  let ws: string;
  let gh: Gatehouse;
  beforeAll(async () => {
    ws = join(tmp.dir, 'ws');
    mkdirSync(join(ws, 'sub'), { recursive: true });
    mkdirSync(join(tmp.dir, 'outside', 'deep'), { recursive: true });
    // A link inside the workspace to a directory outside it: `out/..` is `outside` to the kernel.
    symlinkSync(join(tmp.dir, 'outside', 'deep'), join(ws, 'out'));
    gh = await Gatehouse.open({
      config: {
        version: 1,
        identity: { agents: { bot: { roles: ['dev'] } } },
        roles: { dev: { grants: [{ tools: Object.keys(tools) }] } },
        tools,
        policy: { workspace: ws },
      },
      data: data.dir,
    });
  });
  afterAll(async () => {
    await gh.close();
    tmp.cleanup();
    data.cleanup();
  });

  const decide = async (command: string, tool = 'shell.exec') => {
    const d = await gh.decide({ kind: 'tool_call', agent: 'bot', session: 's', tool, args: { command } });
    return { effect: d.effect, codes: d.reasons.map((r) => r.code) };
  };

  it.each([
    'npm test > test.log 2>&1',
    'echo x > sub/a.txt',
    'sed -i s/a/b/ sub/a.txt',
    'ls > /dev/null',
    'make 2> /dev/stderr | tee build.log',
    'cd ./sub && echo x > c.txt',
  ])('allows a write inside the workspace: %j', async (command) => {
    expect((await decide(command)).effect).toBe('allow');
  });

  it.each(['echo x > /tmp/scratch.txt', 'curl -o /tmp/page.html https://e.com', 'cd /tmp && tar -xf a.tar'])(
    'allows a write to /tmp: %j',
    async (command) => {
      expect((await decide(command)).effect).toBe('allow');
    },
  );

  it.each([
    ['echo x > /etc/cron.d/job', 'args.command.write_escape'],
    ['cp a.txt ../escaped.txt', 'args.command.write_escape'],
    ['echo x > /var/tmp/x', 'args.command.write_escape'],
    ['echo x > out/x', 'args.command.write_symlink_escape'],
    // The kernel resolves `..` after the link: this is outside/x, not the workspace's x.
    ['echo x > out/../x', 'args.command.write_symlink_escape'],
    ['cd ./out && echo x > ../x', 'args.command.write_symlink_escape'],
    ['echo x > /workspace/x', 'args.command.write_escape'],
  ])('denies a write outside: %j (%s)', async (command, code) => {
    const r = await decide(command);
    expect(r.effect).toBe('deny');
    expect(r.codes).toContain(code);
  });

  it.each(['echo x > "$OUT"', 'cp a.txt $DEST', 'echo x > "$TMPDIR/x"', 'tee $(mktemp) < a.txt'])(
    'denies a target only known at run time: %j',
    async (command) => {
      const r = await decide(command);
      expect(r.effect).toBe('deny');
      expect(r.codes).toContain('args.command.write_unresolved');
    },
  );

  it('a sandboxed tool sees the workspace at /workspace', async () => {
    expect(SANDBOX_WORKSPACE).toBe('/workspace');
    expect((await decide('echo x > /workspace/sub/a.txt', 'sandbox.exec')).effect).toBe('allow');
    expect((await decide('cd /workspace/sub && echo x > a.txt', 'sandbox.exec')).effect).toBe('allow');
    const out = await decide('echo x > /workspace/../etc/x', 'sandbox.exec');
    expect(out.codes).toContain('args.command.write_escape');
    expect((await decide('echo x > /workspacex/a', 'sandbox.exec')).codes).toContain('args.command.write_escape');
  });

  it('roots add places a command may write; roots: ["/"] lifts the confinement', async () => {
    expect((await decide('echo x > /srv/shared/a', 'shell.shared')).effect).toBe('allow');
    expect((await decide('echo x > /srv/other/a', 'shell.shared')).codes).toContain('args.command.write_escape');
    expect((await decide('echo x > /srv/other/a', 'shell.anywhere')).effect).toBe('allow');
    expect((await decide('echo x > "$OUT"', 'shell.anywhere')).codes).toContain('args.command.write_unresolved');
  });

  it('a path argument is resolved as the kernel resolves it too: `link/..` is the link target’s parent', async () => {
    const call = (path: string) =>
      gh.decide({ kind: 'tool_call', agent: 'bot', session: 's', tool: 'fs.write', args: { path } });
    expect((await call('out/../x')).reasons.map((r) => r.code)).toContain('args.path.symlink_escape');
    expect((await call('sub/../x')).effect).toBe('allow');
  });
});

describe('compileToolRules: a command rule checks writes without any path rule configured', () => {
  it('denies an escape and allows the workspace', () => {
    const { dir, cleanup } = workDir();
    try {
      const rules = compileToolRules('sh', ToolSchema.parse({ risk: 'low', args: { cmd: {} } }), dir);
      expect(rules.check({ cmd: 'echo x > ok.txt' }).ok).toBe(true);
      expect(rules.check({ cmd: 'echo x > ../no.txt' }).reasons.map((r) => r.code)).toEqual([
        'args.command.write_escape',
      ]);
    } finally {
      cleanup();
    }
  });
});
