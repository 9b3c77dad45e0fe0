/**
 * Seccomp filter emitted as classic BPF (`struct sock_filter[]`, 8 bytes each, little-endian) for bwrap's
 * `--seccomp FD`. No npm package compiles seccomp and a C helper would add a compiler dependency, so the
 * program is assembled here; its bytes are unit-tested and cross-checked against libseccomp's syscall tables.
 *
 * Policy: kill the process on a foreign architecture (i386/arm compat) and on x32 syscalls; EPERM for the
 * kernel attack surface a sandboxed tool never needs; `clone3` → ENOSYS so libc falls back to `clone`, whose
 * flags we can inspect; `clone` with namespace flags and `ioctl(TIOCSTI|TIOCLINUX)` → EPERM, comparing
 * only the low 32 bits the kernel itself uses (CVE-2019-10063 class).
 */

export type SeccompArch = 'x86_64' | 'aarch64';

/** Syscalls denied with EPERM, by name. Numbers per arch below. */
export const DENIED_SYSCALLS = [
  // Debugging and reading other processes.
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'pidfd_getfd',
  'kcmp',
  // Mount family, old and new API.
  'mount',
  'umount2',
  'pivot_root',
  'move_mount',
  'open_tree',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  // Namespaces.
  'unshare',
  'setns',
  // Kernel attack surface.
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'add_key',
  'request_key',
  'keyctl',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'open_by_handle_at',
  'name_to_handle_at',
  'lookup_dcookie',
  // Host administration.
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
  'reboot',
  'swapon',
  'swapoff',
  'syslog',
  'acct',
  'quotactl',
  'quotactl_fd',
  'iopl',
  'ioperm',
  // Clock setting.
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
] as const;

export type DeniedSyscall = (typeof DENIED_SYSCALLS)[number];

/** Syscall numbers; `undefined` where the arch has no such syscall (iopl/ioperm on aarch64). */
export const SYSCALL_NUMBERS: Record<
  SeccompArch,
  Record<DeniedSyscall | 'clone' | 'clone3' | 'ioctl', number | undefined>
> = {
  x86_64: {
    ptrace: 101,
    process_vm_readv: 310,
    process_vm_writev: 311,
    pidfd_getfd: 438,
    kcmp: 312,
    mount: 165,
    umount2: 166,
    pivot_root: 155,
    move_mount: 429,
    open_tree: 428,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    unshare: 272,
    setns: 308,
    bpf: 321,
    perf_event_open: 298,
    userfaultfd: 323,
    add_key: 248,
    request_key: 249,
    keyctl: 250,
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
    open_by_handle_at: 304,
    name_to_handle_at: 303,
    lookup_dcookie: 212,
    kexec_load: 246,
    kexec_file_load: 320,
    init_module: 175,
    finit_module: 313,
    delete_module: 176,
    reboot: 169,
    swapon: 167,
    swapoff: 168,
    syslog: 103,
    acct: 163,
    quotactl: 179,
    quotactl_fd: 443,
    iopl: 172,
    ioperm: 173,
    settimeofday: 164,
    clock_settime: 227,
    clock_adjtime: 305,
    adjtimex: 159,
    clone: 56,
    clone3: 435,
    ioctl: 16,
  },
  aarch64: {
    ptrace: 117,
    process_vm_readv: 270,
    process_vm_writev: 271,
    pidfd_getfd: 438,
    kcmp: 272,
    mount: 40,
    umount2: 39,
    pivot_root: 41,
    move_mount: 429,
    open_tree: 428,
    fsopen: 430,
    fsconfig: 431,
    fsmount: 432,
    fspick: 433,
    mount_setattr: 442,
    unshare: 97,
    setns: 268,
    bpf: 280,
    perf_event_open: 241,
    userfaultfd: 282,
    add_key: 217,
    request_key: 218,
    keyctl: 219,
    io_uring_setup: 425,
    io_uring_enter: 426,
    io_uring_register: 427,
    open_by_handle_at: 265,
    name_to_handle_at: 264,
    lookup_dcookie: 18,
    kexec_load: 104,
    kexec_file_load: 294,
    init_module: 105,
    finit_module: 273,
    delete_module: 106,
    reboot: 142,
    swapon: 224,
    swapoff: 225,
    syslog: 116,
    acct: 89,
    quotactl: 60,
    quotactl_fd: 443,
    iopl: undefined,
    ioperm: undefined,
    settimeofday: 170,
    clock_settime: 112,
    clock_adjtime: 266,
    adjtimex: 171,
    clone: 220,
    clone3: 435,
    ioctl: 29,
  },
};

/** `AUDIT_ARCH_*` values the kernel puts in `seccomp_data.arch`. */
export const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

export const X32_SYSCALL_BIT = 0x40000000;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (NEWTIME only exists for clone3/unshare). */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;

// BPF opcodes.
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** `struct seccomp_data` offsets. */
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;

/** One `struct sock_filter`. */
export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Label = 'kill' | 'eperm' | 'enosys' | 'allow' | 'clone' | 'ioctl';
type Pending = { code: number; k: number; jt?: Label; jf?: Label };

/**
 * The filter program for `arch`, as instructions. Jumps are resolved from labels; every target lies
 * forward and within the 8-bit jump range, which is asserted. `allow` re-allows some denied syscalls (profile choice).
 */
export function seccompProgram(arch: SeccompArch, allow: readonly string[] = []): BpfInsn[] {
  const nums = SYSCALL_NUMBERS[arch];
  const body: Pending[] = [];
  const labels = new Map<Label, number>();
  const at = (l: Label) => labels.set(l, body.length);

  body.push({ code: LD_W_ABS, k: OFF_ARCH });
  body.push({ code: JEQ_K, k: AUDIT_ARCH[arch], jf: 'kill' });
  body.push({ code: LD_W_ABS, k: OFF_NR });
  if (arch === 'x86_64') body.push({ code: JGE_K, k: X32_SYSCALL_BIT, jt: 'kill' });
  body.push({ code: JEQ_K, k: nums.clone!, jt: 'clone' });
  body.push({ code: JEQ_K, k: nums.ioctl!, jt: 'ioctl' });
  body.push({ code: JEQ_K, k: nums.clone3!, jt: 'enosys' });
  for (const name of DENIED_SYSCALLS) {
    const nr = nums[name];
    if (nr !== undefined && !allow.includes(name)) body.push({ code: JEQ_K, k: nr, jt: 'eperm' });
  }
  body.push({ code: RET_K, k: SECCOMP_RET_ALLOW });
  at('clone');
  body.push({ code: LD_W_ABS, k: argLow(0) });
  body.push({ code: JSET_K, k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' });
  at('ioctl');
  body.push({ code: LD_W_ABS, k: argLow(1) });
  body.push({ code: JEQ_K, k: TIOCSTI, jt: 'eperm' });
  body.push({ code: JEQ_K, k: TIOCLINUX, jt: 'eperm', jf: 'allow' });
  at('allow');
  body.push({ code: RET_K, k: SECCOMP_RET_ALLOW });
  at('eperm');
  body.push({ code: RET_K, k: SECCOMP_RET_ERRNO | EPERM });
  at('enosys');
  body.push({ code: RET_K, k: SECCOMP_RET_ERRNO | ENOSYS });
  at('kill');
  body.push({ code: RET_K, k: SECCOMP_RET_KILL_PROCESS });

  return body.map((p, i) => {
    const rel = (l: Label | undefined): number => {
      if (l === undefined) return 0;
      const target = labels.get(l)!;
      const off = target - i - 1;
      if (off < 0 || off > 255) throw new Error(`seccomp: jump from ${i} to ${l} out of range (${off})`);
      return off;
    };
    return { code: p.code, jt: rel(p.jt), jf: rel(p.jf), k: p.k >>> 0 };
  });
}

/** The program as the bytes the kernel expects: `u16 code, u8 jt, u8 jf, u32 k`, little-endian. */
export function seccompFilterBytes(arch: SeccompArch = hostSeccompArch(), allow: readonly string[] = []): Buffer {
  const prog = seccompProgram(arch, allow);
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k, i * 8 + 4);
  });
  return buf;
}

/** Our arch in seccomp terms; throws on anything we have no filter for (fail closed). */
export function hostSeccompArch(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new Error(`no seccomp filter for architecture ${nodeArch} (supported: x64, arm64)`);
}

/**
 * Runs a program against a syscall the way the kernel would: a small cBPF interpreter used by the tests to
 * check the policy's semantics, not only its bytes.
 */
export function evaluateSeccomp(
  prog: readonly BpfInsn[],
  data: { nr: number; arch: number; args?: readonly bigint[] },
): number {
  const word = (off: number): number => {
    if (off === OFF_NR) return data.nr >>> 0;
    if (off === OFF_ARCH) return data.arch >>> 0;
    const i = Math.floor((off - 16) / 8);
    const arg = data.args?.[i] ?? 0n;
    const half = (off - 16) % 8 === 0 ? arg & 0xffffffffn : arg >> 32n;
    return Number(half & 0xffffffffn);
  };
  let acc = 0;
  for (let pc = 0; pc < prog.length; ) {
    const ins = prog[pc]!;
    switch (ins.code) {
      case LD_W_ABS:
        acc = word(ins.k);
        pc++;
        break;
      case JEQ_K:
        pc += 1 + (acc === ins.k ? ins.jt : ins.jf);
        break;
      case JGE_K:
        pc += 1 + (acc >= ins.k ? ins.jt : ins.jf);
        break;
      case JSET_K:
        pc += 1 + ((acc & ins.k) >>> 0 !== 0 ? ins.jt : ins.jf);
        break;
      case RET_K:
        return ins.k;
      default:
        throw new Error(`unknown BPF opcode 0x${ins.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('BPF program fell off the end');
}
