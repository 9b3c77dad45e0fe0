import { chownSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxRunError, SandboxUnavailableError } from './errors.js';
import { resolveProfile } from './profiles.js';
import type { Sandbox } from './runner.js';

/** The probe prints one `key=value` per protection; the self-test accepts only the exact expected values. */
const PROBE = [
  'for k in NoNewPrivs Seccomp CapInh CapPrm CapEff CapBnd CapAmb; do',
  '  printf "%s=%s\\n" "$k" "$(grep "^$k:" /proc/self/status | tr -d " \\t" | cut -d: -f2)"',
  'done',
  'printf "ifaces=%s\\n" "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ",")"',
  'if ! command -v unshare >/dev/null; then echo userns=untestable',
  'elif unshare -U true 2>/dev/null; then echo userns=allowed; else echo userns=refused; fi',
  'if [ -e /etc/shadow ] || [ -e /root ]; then echo secrets=visible; else echo secrets=absent; fi',
  'if echo x > /etc/probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=readonly; fi',
  'echo probe > /workspace/selftest.out && echo workspace=writable',
].join('\n');

const EXPECT: Record<string, { want: string; what: string; hint: string }> = {
  NoNewPrivs: { want: '1', what: 'no_new_privs is not set', hint: 'use bubblewrap >= 0.8 unmodified' },
  Seccomp: {
    want: '2',
    what: 'the seccomp filter is not active',
    hint: 'the kernel needs CONFIG_SECCOMP_FILTER; check that bwrap accepts --seccomp',
  },
  CapInh: { want: '0000000000000000', what: 'inheritable capabilities remain', hint: 'use bubblewrap >= 0.8' },
  CapPrm: { want: '0000000000000000', what: 'permitted capabilities remain', hint: 'use bubblewrap >= 0.8' },
  CapEff: { want: '0000000000000000', what: 'effective capabilities remain', hint: 'use bubblewrap >= 0.8' },
  CapBnd: { want: '0000000000000000', what: 'the capability bounding set is not empty', hint: 'use bubblewrap >= 0.8' },
  CapAmb: { want: '0000000000000000', what: 'ambient capabilities remain', hint: 'use bubblewrap >= 0.8' },
  ifaces: {
    want: 'lo,',
    what: 'network interfaces other than lo are visible',
    hint: 'bwrap must be able to unshare the network namespace',
  },
  userns: {
    want: 'refused',
    what: 'nested user namespaces are allowed inside the sandbox',
    hint: 'use bubblewrap >= 0.8 (--disable-userns) and keep util-linux (unshare) installed',
  },
  secrets: { want: 'absent', what: '/etc/shadow or /root is visible', hint: 'report this as a Gatehouse bug' },
  rootfs: { want: 'readonly', what: 'the sandbox root is writable', hint: 'use bubblewrap >= 0.8 (--remount-ro)' },
  workspace: {
    want: 'writable',
    what: 'the workspace is not writable by the sandbox uid',
    hint: 'the temp directory must allow the sandbox uid to enter it',
  },
};

const USERNS_HINT =
  'allow unprivileged user namespaces: Ubuntu 23.10+: sysctl kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap; Debian < 11: sysctl kernel.unprivileged_userns_clone=1; everywhere: user.max_user_namespaces > 0; in a container: run it with user namespaces allowed (e.g. docker --security-opt seccomp=unconfined, or a userns-enabled runtime)';

/**
 * Runs a probe through the production path and proves each protection: NoNewPrivs, seccomp mode 2, no
 * capabilities, only `lo`, nested user namespaces refused, no host secrets, read-only root, a non-root host
 * uid (files the sandbox writes are not owned by root on the host), and a cgroup that limits and accounts.
 * Throws `SandboxUnavailableError` naming the first missing protection and how to fix it.
 */
export async function runSelfTest(sandbox: Sandbox): Promise<void> {
  const host = sandbox.describeHost();
  const profile = resolveProfile({ ...sandbox.config, profiles: {} }, 'default');
  const probeProfile = {
    ...profile,
    name: 'selftest',
    network: 'none' as const,
    workspace: 'rw' as const,
    forbidden: [],
    readOnly: [],
    readWrite: [],
    env: {},
    timeoutMs: 15_000,
    limits: { ...profile.limits, memoryBytes: 64 * 1024 ** 2, pids: 16, cpuSeconds: 5 },
  };
  const ws = mkdtempSync(join(tmpdir(), 'gatehouse-selftest-'));
  try {
    if (host?.uid !== null && host?.uid !== undefined) chownSync(ws, probeProfile.user.uid, probeProfile.user.gid);
    let r: Awaited<ReturnType<Sandbox['runSandboxed']>>;
    try {
      r = await sandbox.runSandboxed(['/bin/sh', '-c', PROBE], probeProfile, { workspace: ws });
    } catch (err) {
      if (err instanceof SandboxRunError && err.code === 'sandbox.setup_failed') {
        const userns = /namespace|uid map|setting up uid|Operation not permitted|No permissions/i.test(err.message);
        throw new SandboxUnavailableError(
          userns ? 'userns.unavailable' : 'bwrap.failed',
          err.message,
          userns ? USERNS_HINT : 'run `bwrap --unshare-all --ro-bind / / true` as the sandbox user to see why',
          { cause: err },
        );
      }
      throw err;
    }
    if (r.exitCode !== 0) {
      throw new SandboxUnavailableError(
        'selftest.probe_failed',
        `the self-test probe exited ${r.exitCode}: ${r.stderr.trim().slice(0, 300)}`,
        'make sure /bin/sh, coreutils and util-linux are installed under /usr',
      );
    }
    const seen = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) seen.set(line.slice(0, i), line.slice(i + 1));
    }
    for (const [key, e] of Object.entries(EXPECT)) {
      const got = seen.get(key);
      if (got !== e.want) {
        throw new SandboxUnavailableError(`selftest.${key}`, `${e.what} (${key}=${got ?? 'missing'})`, e.hint);
      }
    }
    const owner = statSync(join(ws, 'selftest.out')).uid;
    if (owner === 0) {
      throw new SandboxUnavailableError(
        'identity.root',
        'files written in the sandbox are owned by root on the host',
        'never run bwrap as root: keep sandbox.user at an unprivileged uid (65534) and util-linux setpriv installed',
      );
    }
    if (!(r.maxRssBytes > 0)) {
      throw new SandboxUnavailableError(
        'cgroup.accounting',
        'the probe did not show up in its cgroup accounting',
        'make sure the memory and cpuacct (v1) or memory and cpu (v2) controllers are enabled',
      );
    }
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}
