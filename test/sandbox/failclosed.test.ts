import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SandboxSchema } from '../../src/config/sections/sandbox.js';
import { createSandbox, SandboxUnavailableError } from '../../src/sandbox/index.js';
import { cleanup, MemoryAudit, makeSandbox, tempDir, workspace } from './helpers.js';

// Containment class 12: missing or old bwrap, broken namespaces, unwritable cgroups or a weakened bwrap refuse the
// command; unsandboxed execution happens only as an explicit, audited opt-in.
afterAll(cleanup);

/** An executable the sandbox uid can run (the launcher execs it after dropping privileges). */
function fakeBwrap(body: string): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const p = join(dir, 'bwrap');
  writeFileSync(p, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return p;
}

/** A wrapper around the real bwrap that drops some of our flags (with `n` values after each) or replaces them. */
function weakenedBwrap(drop: Record<string, number | string>): string {
  const cases = Object.entries(drop)
    .map(([flag, n]) =>
      typeof n === 'number' ? `    ${flag}) skip=${n}; continue;;` : `    ${flag}) args+=(${n}); continue;;`,
    )
    .join('\n');
  return fakeBwrap(`if [ "$1" = --version ]; then exec /usr/bin/bwrap --version; fi
args=(); skip=0
for a in "$@"; do
  if [ $skip -gt 0 ]; then skip=$((skip-1)); continue; fi
  case "$a" in
${cases}
    --) break;;
  esac
  args+=("$a")
done
while [ "$1" != -- ]; do shift; done
exec /usr/bin/bwrap "\${args[@]}" "$@"`);
}

async function refusal(config: Record<string, unknown>): Promise<{ err: SandboxUnavailableError; marker: string }> {
  const ws = workspace();
  const marker = join(ws, 'ran');
  const { sb } = makeSandbox(config);
  const err = await sb.run(['touch', '/workspace/ran'], { workspace: ws }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SandboxUnavailableError);
  expect(existsSync(marker)).toBe(false);
  return { err: err as SandboxUnavailableError, marker };
}

describe('12. fail closed', () => {
  it('refuses when bwrap is missing, naming how to install it', async () => {
    const { err } = await refusal({ bwrap: '/nonexistent/bwrap' });
    expect(err.check).toBe('bwrap.missing');
    expect(err.message).toMatch(/apt-get install bubblewrap/);
  });

  it('refuses bwrap older than 0.8', async () => {
    const { err } = await refusal({ bwrap: fakeBwrap('echo "bubblewrap 0.7.0"') });
    expect(err.check).toBe('bwrap.too_old');
  });

  it('refuses when user namespaces are unavailable, with the AppArmor hint', async () => {
    const { err } = await refusal({
      bwrap: fakeBwrap(
        'if [ "$1" = --version ]; then echo "bubblewrap 0.9.0"; exit 0; fi\necho "bwrap: setting up uid map: Permission denied" >&2; exit 1',
      ),
    });
    expect(err.check).toBe('userns.unavailable');
    expect(err.message).toMatch(/apparmor_restrict_unprivileged_userns/);
  });

  it('refuses when cgroups are not writable', async () => {
    const { err } = await refusal({ cgroup_root: '/proc/gatehouse-not-a-cgroup' });
    expect(err.check).toBe('cgroup.not_writable');
    expect(err.message).toMatch(/Delegate=yes/);
  });

  it('the self-test catches a bwrap that silently drops seccomp', async () => {
    const { err } = await refusal({ bwrap: weakenedBwrap({ '--seccomp': 1 }) });
    expect(err.check).toBe('selftest.Seccomp');
  });

  it('the self-test catches a bwrap that silently shares the network', async () => {
    const { err } = await refusal({
      bwrap: weakenedBwrap({ '--unshare-all': '--unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup' }),
    });
    expect(err.check).toBe('selftest.ifaces');
  });

  it('the self-test catches a writable root', async () => {
    const { err } = await refusal({ bwrap: weakenedBwrap({ '--remount-ro': 1 }) });
    expect(err.check).toBe('selftest.rootfs');
  });

  it('stays refused for later runs (no retry into a weaker mode)', async () => {
    const { sb } = makeSandbox({ bwrap: '/nonexistent/bwrap' });
    await expect(sb.run(['true'], { workspace: workspace() })).rejects.toThrow(SandboxUnavailableError);
    await expect(sb.run(['true'], { workspace: workspace() })).rejects.toThrow(SandboxUnavailableError);
  });

  it('the config refuses uid 0 for sandboxes', () => {
    expect(() => SandboxSchema.parse({ user: { uid: 0, gid: 0 } })).toThrow(/must not be 0/);
  });

  it('runs unsandboxed only on the explicit opt-in, loudly and audited', async () => {
    const audit = new MemoryAudit();
    const warnings: string[] = [];
    const sb = createSandbox(SandboxSchema.parse({ bwrap: '/nonexistent/bwrap', unsandboxed: true }), {
      audit,
      warn: (m) => warnings.push(m),
    });
    const r = await sb.run(['sh', '-c', 'echo plain'], { workspace: workspace() });
    expect(r.stdout).toBe('plain\n');
    expect(r.unsandboxed).toBe(true);
    expect(warnings.join()).toMatch(/WITHOUT ANY SANDBOX/);
    expect(audit.events.map((e) => e.type)).toContain('sandbox.unsandboxed_run');
  });
});
