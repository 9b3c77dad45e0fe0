import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSeccompArch, SYSCALL_NUMBERS, TIOCLINUX, TIOCSTI } from '../../src/sandbox/seccomp.js';
import { cleanup, makeSandbox, workspace } from './helpers.js';

// Containment classes 8 (seccomp denials while tools work) and 10 (host and sibling processes invisible).
const { sb } = makeSandbox();
beforeAll(() => sb.ensureReady());
afterAll(cleanup);

const nr = SYSCALL_NUMBERS[hostSeccompArch()];
const PROBE = `
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
N = json.loads(sys.argv[1])
def sc(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(N[name]), *[ctypes.c_ulong(a) for a in args])
    if r == 0 and name == 'clone':
        os._exit(0)
    return 0 if r >= 0 else ctypes.get_errno()
buf = ctypes.create_string_buffer(64)
out = {
  'ptrace': sc('ptrace', 0, 0, 0, 0),
  'unshare': sc('unshare', 0x10000000),
  'clone_newuser': sc('clone', 0x10000011, 0, 0, 0, 0),
  'clone_newns': sc('clone', 0x00020011, 0, 0, 0, 0),
  'clone3': sc('clone3', ctypes.addressof(buf), 64),
  'mount': sc('mount', 0, 0, 0, 0, 0),
  'bpf': sc('bpf', 0, 0, 0),
  'io_uring_setup': sc('io_uring_setup', 1, ctypes.addressof(buf)),
  'keyctl': sc('keyctl', 0, 0, 0, 0, 0),
  'perf_event_open': sc('perf_event_open', ctypes.addressof(buf), 0, -1 & 0xffffffffffffffff, -1 & 0xffffffffffffffff, 0),
  'userfaultfd': sc('userfaultfd', 0),
  'setns': sc('setns', 0, 0),
  'tiocsti': sc('ioctl', 0, ${TIOCSTI}, ctypes.addressof(buf)),
  'tiocsti_high': sc('ioctl', 0, 0x100000000 | ${TIOCSTI}, ctypes.addressof(buf)),
  'tioclinux': sc('ioctl', 0, ${TIOCLINUX}, ctypes.addressof(buf)),
  'getpid_ok': 0 if os.getpid() > 0 else 1,
}
print(json.dumps(out))
`;

describe('8. seccomp', () => {
  it('denies the dangerous syscalls (EPERM; clone3 ENOSYS), including TIOCSTI with high bits set', async () => {
    const r = await sb.run(['python3', '-c', PROBE, JSON.stringify(nr)], { workspace: workspace() });
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as Record<string, number>;
    const EPERM = 1;
    expect(got).toEqual({
      ptrace: EPERM,
      unshare: EPERM,
      clone_newuser: EPERM,
      clone_newns: EPERM,
      clone3: 38,
      mount: EPERM,
      bpf: EPERM,
      io_uring_setup: EPERM,
      keyctl: EPERM,
      perf_event_open: EPERM,
      userfaultfd: EPERM,
      setns: EPERM,
      tiocsti: EPERM,
      tiocsti_high: EPERM,
      tioclinux: EPERM,
      getpid_ok: 0,
    });
  });

  it('kills x32 syscalls (x86_64) and refuses nested user namespaces and ptrace tools', async () => {
    const r = await sb.run(
      ['sh', '-c', 'unshare -U true 2>/dev/null && echo USERNS; strace -f true >/dev/null && echo STRACE; echo end'],
      { workspace: workspace() },
    );
    expect(r.stdout).toBe('end\n');
    expect(r.stderr).toMatch(/PTRACE_TRACEME.*Operation not permitted/);
    if (hostSeccompArch() === 'x86_64') {
      const x = await sb.run(
        ['python3', '-c', 'import ctypes; ctypes.CDLL(None).syscall(0x40000000 | 39); print("alive")'],
        {
          workspace: workspace(),
        },
      );
      expect(x.stdout).toBe('');
      expect(x.signal).toBe('SIGSYS');
    }
  });

  it('bash, node, python and git still work', async () => {
    const r = await sb.run(
      [
        'bash',
        '-c',
        [
          'set -e',
          "node -e \"require('fs').writeFileSync('n.txt', String(6*7)); console.log(require('fs').readFileSync('n.txt', 'utf8'))\"",
          "python3 -c \"import subprocess; print(subprocess.run(['echo', 'py'], capture_output=True, text=True).stdout.strip())\"",
          'git init -q repo && cd repo && echo hi > a && git add a',
          'git -c user.email=a@b -c user.name=n commit -qm m && git log --format=%s',
          'declare -a arr=(1 2 3); echo "bash $((arr[0] + arr[1] + arr[2] - 3))"',
        ].join('\n'),
      ],
      { workspace: workspace() },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('42\npy\nm\nbash 3\n');
  });
});

describe('10. host processes and other sandboxes are invisible', () => {
  it('cannot see, signal or read a host process', async () => {
    const host = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = host.pid!;
      const r = await sb.run(
        [
          'sh',
          '-c',
          `kill -9 ${pid} 2>/dev/null && echo KILLED; cat /proc/${pid}/environ 2>/dev/null && echo READ; ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "`,
        ],
        { workspace: workspace() },
      );
      expect(r.stdout).not.toMatch(/KILLED|READ/);
      const pids = r.stdout.trim().split(' ').map(Number);
      expect(Math.max(...pids)).toBeLessThan(10);
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('a sibling sandbox is invisible', async () => {
    const a = sb.run(['sh', '-c', 'exec sleep 20'], { workspace: workspace(), agent: 'sibling-a' });
    while (sb.active().length === 0) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const b = await sb.run(['ps', '-eo', 'comm='], { workspace: workspace() });
    expect(sb.active().length).toBe(1);
    expect(b.stdout).not.toMatch(/sleep/);
    expect(b.stdout).toMatch(/ps/);
    sb.killAgent('sibling-a');
    expect((await a).signal).toBe('SIGKILL');
  });
});
