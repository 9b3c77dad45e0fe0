import { type SandboxConfig, type SandboxProfileConfig, SandboxProfileSchema } from '../config/sections/sandbox.js';
import { SandboxRunError } from './errors.js';

/** A profile with every level decided: what the runner enforces. */
export interface ResolvedProfile {
  name: string;
  hostname: string;
  user: { uid: number; gid: number };
  seccompAllow: readonly string[];
  network: 'none' | 'allowlist';
  allowHosts: readonly string[];
  workspace: 'rw' | 'ro' | 'none';
  readOnly: readonly string[];
  readWrite: readonly string[];
  forbidden: readonly string[];
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  limits: {
    memoryBytes: number;
    pids: number;
    cpuSeconds: number;
    cpuShares: number;
    cpuQuota: number;
    cpuPeriodMs: number;
    files: number;
    fileSizeBytes: number;
    tmpBytes: number;
    outputBytes: number;
    netConnectionsPerHour: number;
    netBytesPerHour: number;
    netConcurrent: number;
  };
}

/** Host paths that are never mounted, whatever a profile lists. */
export const BUILTIN_HOST_FORBIDDEN = [
  '/etc/shadow',
  '/etc/shadow-',
  '/etc/gshadow',
  '/etc/gshadow-',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/ssh',
  '/root',
  '/home/*/.ssh',
  '/home/*/.aws',
  '/home/*/.gnupg',
  '/home/*/.config',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/var/run',
  '/boot',
] as const;

/** Workspace paths that are masked (empty tmpfs for directories, /dev/null for files). */
export const BUILTIN_WORKSPACE_FORBIDDEN = [
  '**/.env',
  '**/.env.*',
  '**/.ssh',
  '**/.aws',
  '**/.gnupg',
  '**/.netrc',
  '**/.npmrc',
  '**/.pypirc',
  '**/.git-credentials',
  '**/.docker/config.json',
  '**/.kube/config',
  '**/.gatehouse',
  '**/id_rsa',
  '**/id_ecdsa',
  '**/id_ed25519',
  '**/*.pem',
  '**/*.key',
  '**/*.p12',
  '**/*.pfx',
] as const;

const DEFAULTS = SandboxProfileSchema.parse({});

/**
 * Resolves `name` from the config. `default` always exists: built-in safe values, overridden by a
 * configured `default`. Unknown names are an error, never a silent fallback to a weaker profile.
 *
 * @example resolveProfile(config.sandbox, 'default').limits.memoryBytes // 1073741824
 */
export function resolveProfile(config: SandboxConfig, name: string): ResolvedProfile {
  const p: SandboxProfileConfig | undefined = config.profiles[name] ?? (name === 'default' ? DEFAULTS : undefined);
  if (!p) {
    const known = ['default', ...Object.keys(config.profiles).filter((k) => k !== 'default')];
    throw new SandboxRunError(
      'sandbox.unknown_profile',
      `unknown sandbox profile "${name}" (known: ${known.join(', ')})`,
    );
  }
  const r = p.resources;
  return {
    name,
    hostname: p.namespaces.hostname,
    user: p.user ?? config.user,
    seccompAllow: p.seccomp.allow,
    network: p.network,
    allowHosts: p.allow_hosts,
    workspace: p.workspace,
    readOnly: p.filesystem.read_only,
    readWrite: p.filesystem.read_write,
    forbidden: p.filesystem.forbidden,
    env: p.env,
    timeoutMs: p.timeout,
    limits: {
      memoryBytes: r.memory ?? p.memory ?? 1024 ** 3,
      pids: r.pids ?? p.pids ?? 64,
      cpuSeconds: r.cpu_seconds ?? p.cpu_seconds ?? 30,
      cpuShares: r.cpu.shares,
      cpuQuota: r.cpu.quota,
      cpuPeriodMs: r.cpu.period,
      files: r.files ?? p.files ?? 256,
      fileSizeBytes: r.file_size,
      tmpBytes: r.tmp_size,
      outputBytes: r.output,
      netConnectionsPerHour: r.network_connections,
      netBytesPerHour: r.network_bytes,
      netConcurrent: r.network_concurrent,
    },
  };
}
