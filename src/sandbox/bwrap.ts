import { execFileSync } from 'node:child_process';
import { accessSync, constants, lstatSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxRunError, SandboxUnavailableError } from './errors.js';
import { compileGlobs, type GlobSet, literalPrefix, type Mask, resolveReal } from './paths.js';

/** Oldest bubblewrap we accept: 0.8.0 added `--disable-userns`. */
export const MIN_BWRAP_VERSION = [0, 8, 0] as const;

const BWRAP_SEARCH = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap'];

const INSTALL_HINT =
  'install bubblewrap >= 0.8 (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; Arch: pacman -S bubblewrap) or set sandbox.bwrap';

/** Finds bwrap and checks its version; throws `SandboxUnavailableError` when missing or too old. */
export function locateBwrap(configured?: string): { path: string; version: string } {
  const candidates = configured ? [configured] : BWRAP_SEARCH;
  const path = candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!path) {
    throw new SandboxUnavailableError(
      'bwrap.missing',
      `bubblewrap not found at ${candidates.join(', ')}`,
      INSTALL_HINT,
    );
  }
  let out: string;
  try {
    out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new SandboxUnavailableError('bwrap.broken', `${path} --version failed`, INSTALL_HINT, { cause: err });
  }
  const m = /bubblewrap (\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) throw new SandboxUnavailableError('bwrap.broken', `${path} --version printed no version`, INSTALL_HINT);
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const version = v.join('.');
  for (let i = 0; i < 3; i++) {
    if (v[i]! > MIN_BWRAP_VERSION[i]!) break;
    if (v[i]! < MIN_BWRAP_VERSION[i]!) {
      throw new SandboxUnavailableError(
        'bwrap.too_old',
        `bubblewrap ${version} at ${path} is older than ${MIN_BWRAP_VERSION.join('.')} (no --disable-userns)`,
        INSTALL_HINT,
      );
    }
  }
  return { path, version };
}

/** Top-level system paths: symlinked on merged-/usr hosts, bound read-only otherwise. */
const SYSTEM_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** /etc entries a sandbox needs to run common tools; nothing with credentials. */
const ETC_ALLOW = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/ssl/certs',
  '/etc/ssl/openssl.cnf',
  '/etc/ca-certificates',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/nsswitch.conf',
  '/etc/protocols',
  '/etc/services',
  '/etc/os-release',
  '/etc/mime.types',
  '/etc/python3',
  '/etc/python3.11',
  '/etc/python3.12',
  '/etc/python3.13',
];

export const SANDBOX_WORKSPACE = '/workspace';
export const SANDBOX_RUN_DIR = '/run/gatehouse';

export interface BwrapPlan {
  /** Workspace host path (resolved) and mode. */
  workspace?: { host: string; mode: 'rw' | 'ro' };
  masks: readonly Mask[];
  readOnly: readonly string[];
  readWrite: readonly string[];
  hostForbidden: GlobSet;
  hostname: string;
  tmpBytes: number;
  env: Readonly<Record<string, string>>;
  /** Generated /etc/passwd, /etc/group, /etc/hosts (host paths). */
  etcFiles: { passwd: string; group: string; hosts: string };
  /** Extra host files bound read-only at the given sandbox paths (the egress socket and bridge). */
  extraRo: readonly { host: string; dest: string }[];
  seccompFd: number;
  argv: readonly string[];
}

const systemMountCache = new WeakMap<GlobSet, string[]>();

/** Read-only system mounts: the same for every run with the same forbidden set, so computed once. */
function systemMounts(hostForbidden: GlobSet): string[] {
  const cached = systemMountCache.get(hostForbidden);
  if (cached) return cached;
  const a: string[] = [];
  for (const d of SYSTEM_DIRS) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(d);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) a.push('--symlink', readlinkSync(d), d);
    else if (st.isDirectory()) a.push('--ro-bind', d, d);
  }
  for (const p of ETC_ALLOW) {
    const real = resolveReal(p);
    if (real && !hostForbidden.matches(real)) a.push('--ro-bind', real, p);
  }
  systemMountCache.set(hostForbidden, a);
  return a;
}

/**
 * The bwrap command line: fixed hardening flags, mounts from the allowlist, workspace masks, then
 * `--remount-ro /` so nothing outside the workspace and /tmp is writable.
 */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const a: string[] = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
    '--hostname',
    plan.hostname,
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  a.push(...systemMounts(plan.hostForbidden));
  a.push('--ro-bind', plan.etcFiles.passwd, '/etc/passwd');
  a.push('--ro-bind', plan.etcFiles.group, '/etc/group');
  a.push('--ro-bind', plan.etcFiles.hosts, '/etc/hosts');
  // /dev is bwrap's private tmpfs: made read-only too, with a size-capped /dev/shm for POSIX shared memory.
  a.push('--proc', '/proc', '--dev', '/dev');
  a.push('--perms', '1777', '--size', String(plan.tmpBytes), '--tmpfs', '/dev/shm', '--remount-ro', '/dev');
  a.push('--perms', '1777', '--size', String(plan.tmpBytes), '--tmpfs', '/tmp');
  for (const p of plan.readOnly) a.push('--ro-bind', p, p);
  for (const p of plan.readWrite) a.push('--bind', p, p);
  if (plan.workspace) {
    const ws = plan.workspace;
    a.push(ws.mode === 'rw' ? '--bind' : '--ro-bind', ws.host, SANDBOX_WORKSPACE);
    for (const m of plan.masks) {
      const dest = join(SANDBOX_WORKSPACE, m.rel);
      if (m.kind === 'readonly') a.push('--ro-bind', join(ws.host, m.rel), dest);
      else if (m.kind === 'dir') a.push('--perms', '0000', '--tmpfs', dest, '--remount-ro', dest);
      else a.push('--ro-bind', '/dev/null', dest);
    }
  }
  for (const e of plan.extraRo) a.push('--ro-bind', e.host, e.dest);
  a.push('--remount-ro', '/');
  a.push('--chdir', plan.workspace ? SANDBOX_WORKSPACE : '/tmp');
  for (const [k, v] of Object.entries(plan.env)) a.push('--setenv', k, v);
  a.push('--seccomp', String(plan.seccompFd));
  a.push('--', ...plan.argv);
  return a;
}

/**
 * Resolves extra host binds of a profile: each must exist, is resolved through symlinks, and may neither be
 * nor contain a forbidden path (binding `/home` would expose `/home/*\/.ssh`).
 */
export function resolveExtraBinds(paths: readonly string[], forbiddenGlobs: readonly string[]): string[] {
  const forbidden = compileGlobs(forbiddenGlobs);
  const prefixes = forbiddenGlobs.map(literalPrefix);
  return paths.map((p) => {
    const real = resolveReal(p);
    if (!real) throw new SandboxRunError('sandbox.bind_missing', `filesystem bind ${p} does not exist`);
    // Refused when a forbidden glob could match the bind itself or anything beneath it.
    const related = (pre: string) =>
      pre.startsWith(real === '/' ? '/' : `${real}/`) || `${real}/`.startsWith(pre.endsWith('/') ? pre : `${pre}/`);
    if (forbidden.matches(real) || forbidden.matches(p) || prefixes.some(related)) {
      throw new SandboxRunError(
        'sandbox.bind_forbidden',
        `filesystem bind ${p} (${real}) is or contains a forbidden path`,
      );
    }
    return real;
  });
}

/**
 * The workspace, resolved and checked: an existing directory that is neither forbidden nor an ancestor of a
 * forbidden glob's fixed part (`/`, `/etc`, `/home`). Forbidden paths deeper inside (`/home/me/.ssh` for a
 * workspace `/home/me`) and `maskedInside` paths (Gatehouse's data dir) are masked by the workspace scan instead.
 */
export function resolveWorkspace(
  path: string,
  forbiddenGlobs: readonly string[],
  maskedInside: readonly string[] = [],
): string {
  const real = resolveReal(path);
  if (!real || !statSync(real).isDirectory()) {
    throw new SandboxRunError('sandbox.workspace_missing', `workspace ${path} is not an existing directory`);
  }
  const forbidden = compileGlobs([...forbiddenGlobs, ...maskedInside]);
  const contains = (pre: string) => pre.startsWith(real === '/' ? '/' : `${real}/`);
  if (forbidden.matches(real) || forbiddenGlobs.map(literalPrefix).some(contains)) {
    throw new SandboxRunError('sandbox.workspace_forbidden', `workspace ${real} is or contains a forbidden host path`);
  }
  return real;
}
