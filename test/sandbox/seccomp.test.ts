import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH,
  DENIED_SYSCALLS,
  evaluateSeccomp,
  hostSeccompArch,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  type SeccompArch,
  SYSCALL_NUMBERS,
  seccompFilterBytes,
  seccompProgram,
  TIOCLINUX,
  TIOCSTI,
} from '../../src/sandbox/seccomp.js';

const EPERM = SECCOMP_RET_ERRNO | 1;
const ENOSYS = SECCOMP_RET_ERRNO | 38;
const ARCHES: SeccompArch[] = ['x86_64', 'aarch64'];

describe('seccomp program bytes', () => {
  it('starts with the arch check and ends with the kill return, little-endian sock_filter', () => {
    const b = seccompFilterBytes('x86_64');
    expect(b.length % 8).toBe(0);
    // ld [4]
    expect(b.subarray(0, 8).toString('hex')).toBe('2000000004000000');
    // jeq AUDIT_ARCH_X86_64, jt 0 -> next, jf -> kill
    expect(b.readUInt16LE(8)).toBe(0x15);
    expect(b.readUInt32LE(12)).toBe(0xc000003e);
    // ld [0] (nr); jge 0x40000000 -> kill (x32)
    expect(b.subarray(16, 24).toString('hex')).toBe('2000000000000000');
    expect(b.readUInt16LE(24)).toBe(0x35);
    expect(b.readUInt32LE(28)).toBe(0x40000000);
    // last instruction: ret KILL_PROCESS
    expect(b.subarray(b.length - 8).toString('hex')).toBe('0600000000000080');
    const a = seccompFilterBytes('aarch64');
    expect(a.readUInt32LE(12)).toBe(0xc00000b7);
    // aarch64 has no x32 check: the third instruction is already a syscall comparison
    expect(a.readUInt16LE(24)).toBe(0x15);
  });

  it('is deterministic and every jump stays inside the program', () => {
    for (const arch of ARCHES) {
      expect(seccompFilterBytes(arch).equals(seccompFilterBytes(arch))).toBe(true);
      const prog = seccompProgram(arch);
      prog.forEach((ins, i) => {
        if (ins.code === 0x06) return; // ret
        expect(i + 1 + ins.jt).toBeLessThan(prog.length);
        expect(i + 1 + ins.jf).toBeLessThan(prog.length);
      });
      expect(prog.length).toBeLessThan(128);
    }
  });

  it('maps the host arch and refuses unknown ones', () => {
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(hostSeccompArch('arm64')).toBe('aarch64');
    expect(() => hostSeccompArch('ia32')).toThrow(/no seccomp filter/);
  });
});

describe.each(ARCHES)('seccomp policy semantics on %s', (arch) => {
  const prog = seccompProgram(arch);
  const nums = SYSCALL_NUMBERS[arch];
  const run = (nr: number, args: bigint[] = [], a = AUDIT_ARCH[arch]) => evaluateSeccomp(prog, { nr, arch: a, args });

  it('denies every listed syscall with EPERM', () => {
    for (const name of DENIED_SYSCALLS) {
      const nr = nums[name];
      if (nr === undefined) continue;
      expect(run(nr), name).toBe(EPERM);
    }
  });

  it('allows ordinary syscalls', () => {
    const ordinary = arch === 'x86_64' ? [0, 1, 2, 3, 9, 57, 59, 60, 231, 257] : [63, 64, 56, 57, 222, 93, 94, 221];
    for (const nr of ordinary) expect(run(nr)).toBe(SECCOMP_RET_ALLOW);
  });

  it('kills foreign architectures', () => {
    expect(run(nums.ptrace!, [], 0x40000003 /* i386 */)).toBe(SECCOMP_RET_KILL_PROCESS);
    expect(run(0, [], 0x40000028 /* arm */)).toBe(SECCOMP_RET_KILL_PROCESS);
  });

  it('clone3 gets ENOSYS, clone with namespace flags EPERM, plain clone passes', () => {
    expect(run(nums.clone3!)).toBe(ENOSYS);
    expect(run(nums.clone!, [0x01200011n])).toBe(SECCOMP_RET_ALLOW); // fork-like
    for (const flag of [0x10000000n, 0x20000000n, 0x40000000n, 0x00020000n, 0x02000000n, 0x04000000n, 0x08000000n]) {
      expect(run(nums.clone!, [flag | 0x11n])).toBe(EPERM);
    }
  });

  it('denies TIOCSTI and TIOCLINUX comparing only the low 32 bits', () => {
    expect(run(nums.ioctl!, [0n, BigInt(TIOCSTI)])).toBe(EPERM);
    expect(run(nums.ioctl!, [0n, BigInt(TIOCLINUX)])).toBe(EPERM);
    expect(run(nums.ioctl!, [0n, 0xdeadbeef00000000n | BigInt(TIOCSTI)])).toBe(EPERM);
    expect(run(nums.ioctl!, [0n, 0x100000000n | BigInt(TIOCLINUX)])).toBe(EPERM);
    expect(run(nums.ioctl!, [0n, 0x5401n /* TCGETS */])).toBe(SECCOMP_RET_ALLOW);
  });

  it('re-allows only what a profile names', () => {
    const loose = seccompProgram(arch, ['ptrace']);
    expect(evaluateSeccomp(loose, { nr: nums.ptrace!, arch: AUDIT_ARCH[arch] })).toBe(SECCOMP_RET_ALLOW);
    expect(evaluateSeccomp(loose, { nr: nums.bpf!, arch: AUDIT_ARCH[arch] })).toBe(EPERM);
  });
});

describe('x32', () => {
  it('kills x32 syscalls on x86_64', () => {
    const prog = seccompProgram('x86_64');
    expect(evaluateSeccomp(prog, { nr: 0x40000000 | 39, arch: AUDIT_ARCH.x86_64 })).toBe(SECCOMP_RET_KILL_PROCESS);
  });
});

describe('syscall tables agree with libseccomp', () => {
  // scmp_sys_resolver comes with the `seccomp` apt package, installed by .ci/run.
  it.each(ARCHES)('%s', (arch) => {
    const names = Object.keys(SYSCALL_NUMBERS[arch]) as (keyof (typeof SYSCALL_NUMBERS)['x86_64'])[];
    for (const name of names) {
      const out = execFileSync('scmp_sys_resolver', ['-a', arch, name], { encoding: 'utf8' }).trim();
      const n = Number(out);
      const ours = SYSCALL_NUMBERS[arch][name];
      if (ours === undefined) expect(n, name).toBeLessThan(0);
      else expect(n, name).toBe(ours);
    }
  });
});
