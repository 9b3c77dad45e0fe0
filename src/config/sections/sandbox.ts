import { z } from 'zod';
import { DurationSchema, SizeSchema } from '../units.js';

/** Syscalls a profile may re-allow inside its own sandbox (all are denied by default). */
export const LOOSENABLE_SYSCALLS = ['ptrace', 'process_vm_readv', 'process_vm_writev', 'perf_event_open'] as const;

const MiB = 1024 ** 2;

/** Host identity bwrap runs as when Gatehouse itself runs as root. Never 0. */
export const SandboxUserSchema = z
  .object({
    uid: z.number().int().min(1, 'must not be 0: bwrap run as root leaks root-owned files').max(0xfffffffe),
    gid: z.number().int().min(1, 'must not be 0').max(0xfffffffe),
  })
  .strict();

/** A host:port pattern: `registry.npmjs.org:443`, `*.github.com:443`, `10.0.0.5:8080` (port optional: 443). */
const HostPatternSchema = z
  .string()
  .regex(
    /^(\*\.)?[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/,
    'expected host[:port], *.domain[:port] or [ipv6][:port]',
  );

const CpuSchema = z
  .object({
    /** Relative weight against other sandboxes (v1 cpu.shares; v2 cpu.weight is derived). */
    shares: z.number().int().min(2).max(262_144).default(1024),
    /** CPUs' worth of time per period: 0.5 is half a core, 2 is two cores. */
    quota: z.number().positive().max(1024).default(1),
    period: DurationSchema.default(100).refine((ms) => ms >= 1 && ms <= 1000, 'period must be 1ms..1s'),
  })
  .strict();

const ResourcesSchema = z
  .object({
    memory: SizeSchema.optional(),
    /** Swap a sandbox may use. Only 0 is supported: swap would let a memory limit be outlived. */
    swap: SizeSchema.refine((v) => v === 0, 'only 0 is supported (no swap)').default(0),
    cpu: CpuSchema.default(CpuSchema.parse({})),
    /** Total CPU time for the whole process tree, read from cgroup accounting. */
    cpu_seconds: z.number().positive().optional(),
    pids: z.number().int().min(8).max(32_768).optional(),
    /** Open files per process (RLIMIT_NOFILE). */
    files: z.number().int().min(16).max(1_048_576).optional(),
    /** Largest file a process may write (RLIMIT_FSIZE). */
    file_size: SizeSchema.default(1024 * MiB),
    /** Size of the private /tmp (counts against memory). */
    tmp_size: SizeSchema.default(64 * MiB),
    /** Captured stdout and stderr, each; the rest is dropped and the result says it was truncated. */
    output: SizeSchema.default(4 * MiB),
    /** Egress proxy: connections and bytes (both directions) per hour, and at once. */
    network_connections: z.number().int().nonnegative().default(256),
    network_bytes: SizeSchema.default(256 * MiB),
    network_concurrent: z.number().int().positive().default(16),
  })
  .strict();

const FilesystemSchema = z
  .object({
    /** Extra host paths mounted read-only (absolute). */
    read_only: z.array(z.string().startsWith('/', 'must be an absolute path')).default([]),
    /** Extra host paths mounted read-write (absolute). */
    read_write: z.array(z.string().startsWith('/', 'must be an absolute path')).default([]),
    /**
     * Globs never mounted and masked inside the workspace. Absolute globs apply to host paths, relative ones
     * to paths inside the workspace. Added to the built-in list, never replacing it.
     */
    forbidden: z.array(z.string().min(1)).default([]),
  })
  .strict();

/**
 * One sandbox profile, in the seven levels: namespaces, user, capabilities, seccomp, network, filesystem,
 * resources. The flat keys of the first release (`memory`, `pids`, `cpu_seconds`, `timeout`, `files`) remain
 * as shorthands for `resources.*`; giving both with different values is an error.
 */
export const SandboxProfileSchema = z
  .object({
    /** Every namespace is always unshared (network too unless `network: allowlist` routes it via the proxy). */
    namespaces: z
      .object({
        hostname: z
          .string()
          .regex(/^[a-z0-9-]{1,63}$/)
          .default('sandbox'),
      })
      .strict()
      .default({ hostname: 'sandbox' }),
    /** Host uid/gid for this profile's sandboxes; defaults to `sandbox.user`. */
    user: SandboxUserSchema.optional(),
    /** Capabilities are always all dropped; the key exists so a profile states it. */
    capabilities: z
      .object({ drop: z.literal('ALL').default('ALL') })
      .strict()
      .default({ drop: 'ALL' }),
    seccomp: z
      .object({ allow: z.array(z.enum(LOOSENABLE_SYSCALLS)).default([]) })
      .strict()
      .default({ allow: [] }),
    network: z.enum(['none', 'allowlist']).default('none'),
    allow_hosts: z.array(HostPatternSchema).default([]),
    workspace: z.enum(['rw', 'ro', 'none']).default('rw'),
    filesystem: FilesystemSchema.default(FilesystemSchema.parse({})),
    resources: ResourcesSchema.default(ResourcesSchema.parse({})),
    /** Extra environment variables (values are not secrets: use the credential broker for those). */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    memory: SizeSchema.optional(),
    pids: z.number().int().min(8).max(32_768).optional(),
    cpu_seconds: z.number().positive().optional(),
    timeout: DurationSchema.default(60_000),
    files: z.number().int().min(16).max(1_048_576).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const key of ['memory', 'pids', 'cpu_seconds', 'files'] as const) {
      const flat = p[key];
      const nested = p.resources[key];
      if (flat !== undefined && nested !== undefined && flat !== nested) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `conflicts with resources.${key}; give one of them`,
        });
      }
    }
    if (p.network === 'none' && p.allow_hosts.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['allow_hosts'], message: 'needs network: allowlist' });
    }
  });

export type SandboxProfileConfig = z.output<typeof SandboxProfileSchema>;

export const SandboxSchema = z
  .object({
    /** Host identity for sandboxes when Gatehouse runs as root (as non-root, sandboxes run as the caller). */
    user: SandboxUserSchema.default({ uid: 65534, gid: 65534 }),
    /** Path to bubblewrap (>= 0.8); searched in /usr/bin, /usr/local/bin and /bin when absent. */
    bwrap: z.string().startsWith('/').optional(),
    /** Parent cgroup for sandboxes; auto-detected when absent. */
    cgroup_root: z.string().startsWith('/').optional(),
    /**
     * DANGER: run commands with no sandbox at all. An explicit opt-in, logged loudly on every run and recorded
     * in the audit log; never used as a fallback when the sandbox is unavailable.
     */
    unsandboxed: z.boolean().default(false),
    /**
     * Entries the per-run workspace scan (forbidden-path masks, .git protection) may visit; a larger workspace is
     * refused rather than half-checked.
     */
    workspace_scan_limit: z.number().int().min(100).max(10_000_000).default(100_000),
    profiles: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), SandboxProfileSchema).default({}),
  })
  .strict();

export type SandboxConfig = z.output<typeof SandboxSchema>;
