import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEventInput } from '../audit/event.js';
import type { SandboxConfig } from '../config/sections/sandbox.js';
import { BRIDGE_PORT, BRIDGE_SOURCE } from './bridge.js';
import { bwrapArgs, locateBwrap, resolveExtraBinds, resolveWorkspace, SANDBOX_RUN_DIR } from './bwrap.js';
import { CgroupManager, type SandboxCgroup } from './cgroups.js';
import { type EgressEvent, EgressProxy } from './egress-proxy.js';
import { SandboxRunError, SandboxUnavailableError } from './errors.js';
import { compileGlobs, type GlobSet, gitEntries, resolveReal, scanWorkspace } from './paths.js';
import {
  BUILTIN_HOST_FORBIDDEN,
  BUILTIN_WORKSPACE_FORBIDDEN,
  type ResolvedProfile,
  resolveProfile,
} from './profiles.js';
import { hostSeccompArch, seccompFilterBytes } from './seccomp.js';

/** What `run` needs to record security events; `AuditLog` satisfies it. */
export interface SandboxAudit {
  append(event: AuditEventInput, opts?: { durable?: boolean }): Promise<unknown>;
}

export interface RunOptions {
  /** Profile name from `sandbox.profiles`; `default` when absent. */
  profile?: string;
  /** Host directory mounted at /workspace (read-write or read-only per profile). */
  workspace?: string;
  /** Extra environment (e.g. credentials resolved by the broker). Values are never logged or audited. */
  env?: Readonly<Record<string, string>>;
  /** Bytes for the command's stdin; empty when absent. The sandbox never gets a terminal. */
  stdin?: string | Buffer;
  /** Wall-clock limit in ms; the profile's `timeout` when absent (and never above it). */
  timeout?: number;
  /** Live output, e.g. for `gatehouse exec` pass-through; capture is capped regardless. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Attribution for the audit log. */
  agent?: string;
  session?: string;
  tool?: string;
}

export interface SandboxResult {
  id: string;
  profile: string;
  /** CMD's exit code; 128+signal when it was killed. */
  exitCode: number;
  signal: string | null;
  timedOut: boolean;
  oomKilled: boolean;
  /** The CPU-time budget (`cpu_seconds`) ran out. */
  cpuExceeded: boolean;
  cpuMs: number;
  wallMs: number;
  maxRssBytes: number;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** True only for the explicit, audited `sandbox.unsandboxed` opt-in. */
  unsandboxed: boolean;
}

export interface SandboxOptions {
  audit?: SandboxAudit;
  /** Gatehouse's data directory: never visible inside a sandbox. */
  dataDir?: string;
  /** Where loud warnings go (unsandboxed runs); stderr when absent. */
  warn?: (message: string) => void;
  /** Entries the workspace scan may visit before refusing; `sandbox.workspace_scan_limit` when absent. */
  scanLimit?: number;
  /** Skip the startup self-test (tests of the self-test itself only). */
  selfTest?: (sandbox: Sandbox) => Promise<void>;
}

interface Forbidden {
  /** Host globs never mounted (built-in, the profile's absolute globs, the data dir). */
  hostForbidden: string[];
  /** Gatehouse's data dir: masked when inside a workspace. */
  dataDir: string[];
  hostGlobs: GlobSet;
  wsGlobs: GlobSet;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const POLL_MS = 50;

interface Host {
  bwrap: string;
  bwrapVersion: string;
  cgroups: CgroupManager;
  /** Private directory for generated files (0755: the sandbox uid reads them to bind them). */
  dir: string;
  /** Drop to this uid/gid before bwrap (we are root); undefined when we already run unprivileged. */
  drop: { uid: number; gid: number } | undefined;
  setpriv: string | undefined;
  bash: string | undefined;
}

const LAUNCHER = [
  'n=$1 f=$2 t=$3 u=$4 c=$5; shift 5',
  'for x in $c; do eval "exec $x>&-"; done',
  'die() { echo "gatehouse-launcher: $1" >&2; exit 125; }',
  'while [ "$1" != -- ]; do echo $$ > "$1" || die "cannot join cgroup $1"; shift; done; shift',
  'ulimit -c 0 && ulimit -n "$n" && ulimit -f "$f" && ulimit -t "$t" || die "cannot set resource limits"',
  'if [ "$u" != - ]; then ulimit -p "$u" 2>/dev/null || ulimit -u "$u" || die "cannot set RLIMIT_NPROC"; fi',
  'exec "$@"',
].join('\n');

/**
 * Runs commands in bubblewrap with seccomp, cgroups, rlimits and (optionally) an egress allowlist, or refuses.
 * The first `run` performs the self-test; if any protection cannot be proven, every run throws
 * `SandboxUnavailableError` and nothing executes.
 *
 * @example
 * const sandbox = createSandbox(config.sandbox, { audit });
 * const r = await sandbox.run(['git', 'status'], { workspace: '/srv/repo' });
 * console.log(r.exitCode, r.stdout);
 */
export class Sandbox {
  private host: Host | undefined;
  private ready: Promise<void> | undefined;
  private readonly running = new Map<string, { kill: () => void; agent: string | undefined }>();

  constructor(
    readonly config: SandboxConfig,
    private readonly opts: SandboxOptions = {},
  ) {}

  /** Proves every protection once (memoised). Rejects with `SandboxUnavailableError` when one is missing. */
  ensureReady(): Promise<void> {
    if (this.config.unsandboxed) return Promise.resolve();
    this.ready ??= (async () => {
      this.host = this.prepareHost();
      const test = this.opts.selfTest ?? (await import('./selftest.js')).runSelfTest;
      await test(this);
    })();
    return this.ready;
  }

  /** Profile names this sandbox knows. */
  profiles(): string[] {
    return [...new Set(['default', ...Object.keys(this.config.profiles)])];
  }

  /** Ids of sandboxes running now. */
  active(): string[] {
    return [...this.running.keys()];
  }

  /** Kills the running sandboxes of one agent (quarantine); returns how many. */
  killAgent(agent: string): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (r.agent === agent) {
        r.kill();
        n++;
      }
    }
    return n;
  }

  /** Kills every running sandbox (incident response). */
  killAll(): number {
    const n = this.running.size;
    for (const r of this.running.values()) r.kill();
    return n;
  }

  /** Runs `cmd` (argv, no shell) in a fresh sandbox and resolves when its whole process tree is gone. */
  async run(cmd: readonly string[], opts: RunOptions = {}): Promise<SandboxResult> {
    if (cmd.length === 0 || cmd.some((c) => typeof c !== 'string' || c.includes('\0'))) {
      throw new SandboxRunError('sandbox.bad_command', 'command must be a non-empty argv without NUL bytes');
    }
    const profile = resolveProfile(this.config, opts.profile ?? 'default');
    for (const k of Object.keys(opts.env ?? {})) {
      if (!ENV_NAME.test(k))
        throw new SandboxRunError('sandbox.bad_env', `environment variable name "${k}" is invalid`);
    }
    if (this.config.unsandboxed) return this.runUnsandboxed(cmd, profile, opts);
    await this.ensureReady();
    return this.runSandboxed(cmd, profile, opts);
  }

  /** @internal the self-test uses this to run its probe on the production path. */
  async runSandboxed(cmd: readonly string[], profile: ResolvedProfile, opts: RunOptions): Promise<SandboxResult> {
    const host = this.host;
    if (!host)
      throw new SandboxUnavailableError('selftest.not_run', 'the sandbox was not prepared', 'call ensureReady()');
    const id = randomBytes(6).toString('hex');
    const started = performance.now();
    const { hostForbidden, dataDir, hostGlobs, wsGlobs } = this.forbiddenFor(profile);

    let workspace: { host: string; mode: 'rw' | 'ro' } | undefined;
    let masks: ReturnType<typeof scanWorkspace> = [];
    let gitBefore: Map<string, string> | undefined;
    const scanLimit = this.opts.scanLimit ?? this.config.workspace_scan_limit;
    if (profile.workspace !== 'none') {
      const ws = resolveWorkspace(
        opts.workspace ?? process.cwd(),
        hostForbidden.filter((g) => !dataDir.includes(g)),
        dataDir,
      );
      workspace = { host: ws, mode: profile.workspace };
      masks = scanWorkspace(ws, wsGlobs, hostGlobs, scanLimit, profile.workspace === 'rw');
      if (profile.workspace === 'rw') gitBefore = gitEntries(ws, scanLimit);
    }
    const readOnly = resolveExtraBinds(profile.readOnly, hostForbidden);
    const readWrite = resolveExtraBinds(profile.readWrite, hostForbidden);

    const timeoutMs = Math.min(opts.timeout ?? profile.timeoutMs, profile.timeoutMs);
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/tmp',
      TMPDIR: '/tmp',
      LANG: 'C.UTF-8',
      USER: 'sandbox',
      ...profile.env,
      ...opts.env,
    };

    let argv = [...cmd];
    let proxy: EgressProxy | undefined;
    let sockDir: string | undefined;
    const extraRo: { host: string; dest: string }[] = [];
    const cgroup = host.cgroups.create(id, {
      memoryBytes: profile.limits.memoryBytes,
      pids: profile.limits.pids,
      cpuQuota: profile.limits.cpuQuota,
      cpuPeriodMs: profile.limits.cpuPeriodMs,
      cpuShares: profile.limits.cpuShares,
    });
    try {
      if (profile.network === 'allowlist') {
        sockDir = join(host.dir, `net-${id}`);
        mkdirSync(sockDir, { mode: 0o700 });
        if (host.drop) chownSync(sockDir, profile.user.uid, profile.user.gid);
        proxy = new EgressProxy({
          sandbox: id,
          allow: profile.allowHosts,
          maxConnectionsPerHour: profile.limits.netConnectionsPerHour,
          maxBytesPerHour: profile.limits.netBytesPerHour,
          maxConcurrent: profile.limits.netConcurrent,
          audit: async (e) => {
            await this.auditEgress(e, opts);
          },
        });
        await proxy.listen(join(sockDir, 'egress.sock'));
        const node = resolveNodeBinary(hostGlobs);
        extraRo.push({ host: join(sockDir, 'egress.sock'), dest: `${SANDBOX_RUN_DIR}/egress.sock` });
        extraRo.push({ host: join(host.dir, 'bridge.cjs'), dest: `${SANDBOX_RUN_DIR}/bridge.cjs` });
        if (!node.startsWith('/usr/')) extraRo.push({ host: node, dest: node });
        const proxyUrl = `http://127.0.0.1:${BRIDGE_PORT}`;
        for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) {
          env[k] = proxyUrl;
        }
        argv = [
          node,
          `${SANDBOX_RUN_DIR}/bridge.cjs`,
          `${SANDBOX_RUN_DIR}/egress.sock`,
          String(BRIDGE_PORT),
          '--',
          ...cmd,
        ];
      }

      const seccompFile = this.seccompFile(profile.seccompAllow);
      const args = bwrapArgs({
        workspace,
        masks,
        readOnly,
        readWrite,
        hostForbidden: hostGlobs,
        hostname: profile.hostname,
        tmpBytes: profile.limits.tmpBytes,
        env,
        etcFiles: { passwd: join(host.dir, 'passwd'), group: join(host.dir, 'group'), hosts: join(host.dir, 'hosts') },
        extraRo,
        seccompFd: 3,
        argv,
      });
      const rl = profile.limits;
      // Descriptors Gatehouse inherited without close-on-exec would pass straight into the sandbox: the launcher
      // closes them. dash cannot name descriptors above 9, so those need bash.
      const leaked = inheritableFds();
      const shell = leaked.some((n) => n > 9) ? host.bash : '/bin/sh';
      if (!shell) {
        throw new SandboxUnavailableError(
          'fd.leak',
          `Gatehouse inherited open file descriptors ${leaked.join(', ')} that would leak into sandboxes`,
          'install bash, or start Gatehouse without inherited descriptors',
        );
      }
      const launch = [
        '-c',
        LAUNCHER,
        'gatehouse-launcher',
        String(rl.files),
        String(Math.max(1, Math.ceil(rl.fileSizeBytes / 512))),
        String(Math.ceil(rl.cpuSeconds) + 1),
        host.drop ? String(Math.max(1024, rl.pids * 8)) : '-',
        leaked.join(' '),
        ...cgroup.procsFiles,
        '--',
        ...(host.drop && host.setpriv
          ? [
              host.setpriv,
              `--reuid=${profile.user.uid}`,
              `--regid=${profile.user.gid}`,
              '--clear-groups',
              '--bounding-set=-all',
              '--inh-caps=-all',
              '--',
            ]
          : []),
        host.bwrap,
        ...args,
      ];

      await this.opts.audit?.append(
        {
          type: 'sandbox.started',
          actor: 'gatehouse',
          ...(opts.agent ? { agent: opts.agent } : {}),
          ...(opts.session ? { session: opts.session } : {}),
          data: {
            sandbox: id,
            profile: profile.name,
            program: cmd[0],
            argc: cmd.length,
            ...(opts.tool ? { tool: opts.tool } : {}),
            workspace: workspace?.host ?? null,
            network: profile.network,
            envKeys: Object.keys(opts.env ?? {}).sort(),
          },
        },
        { durable: true },
      );

      const seccompFd = openSync(seccompFile, 'r');
      let child: ChildProcess;
      try {
        // bash would source ~/.bashrc when its stdin is a socket (Debian's SSH_SOURCE_BASHRC): never let it.
        child = spawn(shell, shell === '/bin/sh' ? launch : ['--norc', '--noprofile', ...launch], {
          detached: true,
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
          stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', seccompFd],
          cwd: '/',
        });
      } finally {
        closeSync(seccompFd);
      }
      const result = await this.supervise(child, id, profile, cgroup, timeoutMs, opts, started);
      await this.opts.audit?.append({
        type: 'sandbox.exited',
        actor: 'gatehouse',
        ...(opts.agent ? { agent: opts.agent } : {}),
        ...(opts.session ? { session: opts.session } : {}),
        data: {
          sandbox: id,
          exitCode: result.exitCode,
          signal: result.signal,
          timedOut: result.timedOut,
          oomKilled: result.oomKilled,
          cpuExceeded: result.cpuExceeded,
          cpuMs: result.cpuMs,
          wallMs: result.wallMs,
        },
      });
      return result;
    } finally {
      await proxy?.close();
      if (sockDir) rmSync(sockDir, { recursive: true, force: true });
      const gone = await cgroup.destroy();
      if (!gone) {
        await this.opts.audit?.append({
          type: 'sandbox.cleanup_failed',
          actor: 'gatehouse',
          data: { sandbox: id, cgroup: cgroup.name },
        });
      }
      if (workspace && gitBefore) await this.quarantineNewGit(workspace.host, gitBefore, scanLimit, id, opts);
    }
  }

  /**
   * Repository metadata the sandbox created (a workspace without `.git`, a new nested repository, a swapped
   * `.git` symlink) would run its hooks on the host's next git command: it is renamed out of git's way and
   * audited. Existing `.git` entries are read-only mount points during the run and cannot change.
   */
  private async quarantineNewGit(
    root: string,
    before: Map<string, string>,
    limit: number,
    id: string,
    opts: RunOptions,
  ): Promise<void> {
    const moved: string[] = [];
    const failed: string[] = [];
    let after: Map<string, string>;
    try {
      after = gitEntries(root, limit);
    } catch {
      after = new Map();
      failed.push('(workspace scan)');
    }
    for (const [rel, print] of after) {
      if (before.get(rel) === print) continue;
      try {
        renameSync(join(root, rel), join(root, `${rel}.quarantined-${id}`));
        moved.push(rel);
      } catch {
        failed.push(rel);
      }
    }
    if (moved.length === 0 && failed.length === 0) return;
    await this.opts.audit?.append(
      {
        type: 'sandbox.git_quarantined',
        actor: 'gatehouse',
        ...(opts.agent ? { agent: opts.agent } : {}),
        ...(opts.session ? { session: opts.session } : {}),
        data: { sandbox: id, moved, failed },
      },
      { durable: true },
    );
  }

  private supervise(
    child: ChildProcess,
    id: string,
    profile: ResolvedProfile,
    cgroup: SandboxCgroup,
    timeoutMs: number,
    opts: RunOptions,
    started: number,
  ): Promise<SandboxResult> {
    const cap = profile.limits.outputBytes;
    const out = new CappedBuffer(cap);
    const err = new CappedBuffer(cap);
    let timedOut = false;
    let cpuExceeded = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      cgroup.killAll();
    };
    this.running.set(id, { kill, agent: opts.agent });
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d);
      opts.onStdout?.(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err.push(d);
      opts.onStderr?.(d);
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const budgetUs = profile.limits.cpuSeconds * 1e6;
    const poll = setInterval(() => {
      if (cgroup.usage().cpuUsec > budgetUs) {
        cpuExceeded = true;
        kill();
      }
    }, POLL_MS);
    return new Promise<SandboxResult>((resolve, reject) => {
      child.once('error', (e) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.running.delete(id);
        kill();
        reject(new SandboxRunError('sandbox.spawn_failed', `could not start the sandbox launcher: ${e.message}`));
      });
      child.once('close', (code, sig) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.running.delete(id);
        // The pid namespace is gone with bwrap; anything that escaped into the cgroup goes now.
        cgroup.killAll();
        const usage = cgroup.usage();
        if (usage.cpuUsec > budgetUs) cpuExceeded = true;
        const stderr = err.text();
        if (!timedOut && !cpuExceeded && code === 125 && stderr.startsWith('gatehouse-launcher:')) {
          reject(new SandboxUnavailableError('launcher', stderr.trim(), 'check cgroup permissions and /bin/sh'));
          return;
        }
        if (!timedOut && !cpuExceeded && code === 1 && /^bwrap: /.test(stderr) && out.length === 0) {
          reject(
            new SandboxRunError('sandbox.setup_failed', `bubblewrap could not set up the sandbox: ${stderr.trim()}`),
          );
          return;
        }
        const exitCode = code ?? 128 + (sig ? (osConstants.signals[sig] ?? 9) : 9);
        const signal = sig ?? (exitCode > 128 && exitCode < 128 + 65 ? signalName(exitCode - 128) : null);
        resolve({
          id,
          profile: profile.name,
          exitCode,
          signal,
          timedOut,
          oomKilled: usage.oomKills > 0,
          cpuExceeded,
          cpuMs: Math.round(usage.cpuUsec / 1000),
          wallMs: Math.round(performance.now() - started),
          maxRssBytes: usage.memoryPeakBytes,
          stdout: out.text(),
          stderr,
          stdoutTruncated: out.truncated,
          stderrTruncated: err.truncated,
          unsandboxed: false,
        });
      });
    });
  }

  private async runUnsandboxed(
    cmd: readonly string[],
    profile: ResolvedProfile,
    opts: RunOptions,
  ): Promise<SandboxResult> {
    const id = randomBytes(6).toString('hex');
    const warn = this.opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
    warn(
      `WARNING: gatehouse sandbox.unsandboxed is ON: running "${cmd[0]}" WITHOUT ANY SANDBOX (no isolation, no limits but the timeout)`,
    );
    await this.opts.audit?.append(
      {
        type: 'sandbox.unsandboxed_run',
        actor: 'gatehouse',
        ...(opts.agent ? { agent: opts.agent } : {}),
        data: { sandbox: id, profile: profile.name, program: cmd[0], argc: cmd.length },
      },
      { durable: true },
    );
    const started = performance.now();
    const child = spawn(cmd[0]!, cmd.slice(1), {
      detached: true,
      cwd: opts.workspace ?? process.cwd(),
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ...profile.env, ...opts.env },
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = new CappedBuffer(profile.limits.outputBytes);
    const err = new CappedBuffer(profile.limits.outputBytes);
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d);
      opts.onStdout?.(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err.push(d);
      opts.onStderr?.(d);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.stdin);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      },
      Math.min(opts.timeout ?? profile.timeoutMs, profile.timeoutMs),
    );
    return new Promise((resolve, reject) => {
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new SandboxRunError('sandbox.spawn_failed', `could not start ${cmd[0]}: ${e.message}`));
      });
      child.once('close', (code, sig) => {
        clearTimeout(timer);
        const exitCode = code ?? 128 + (sig ? (osConstants.signals[sig] ?? 9) : 9);
        resolve({
          id,
          profile: profile.name,
          exitCode,
          signal: sig,
          timedOut,
          oomKilled: false,
          cpuExceeded: false,
          cpuMs: 0,
          wallMs: Math.round(performance.now() - started),
          maxRssBytes: 0,
          stdout: out.text(),
          stderr: err.text(),
          stdoutTruncated: out.truncated,
          stderrTruncated: err.truncated,
          unsandboxed: true,
        });
      });
    });
  }

  private auditEgress(e: EgressEvent, opts: RunOptions): Promise<unknown> | undefined {
    return this.opts.audit?.append(
      {
        type:
          e.phase === 'close'
            ? 'sandbox.egress_closed'
            : e.decision === 'allow'
              ? 'sandbox.egress_allowed'
              : 'sandbox.egress_denied',
        actor: 'gatehouse',
        ...(opts.agent ? { agent: opts.agent } : {}),
        ...(opts.session ? { session: opts.session } : {}),
        data: { ...e },
        ...(e.decision === 'deny' ? { reasons: [{ code: e.code, message: e.reason }] } : {}),
      },
      { durable: e.phase === 'connect' },
    );
  }

  private readonly seccompFiles = new Map<string, string>();
  private readonly forbiddenCache = new Map<string, Forbidden>();

  /** Forbidden globs of a profile, compiled once (RE2 compilation costs more than the rest of a run's setup). */
  private forbiddenFor(profile: ResolvedProfile): Forbidden {
    const key = JSON.stringify(profile.forbidden);
    let f = this.forbiddenCache.get(key);
    if (!f) {
      const hostForbidden = [...BUILTIN_HOST_FORBIDDEN, ...profile.forbidden.filter((g) => g.startsWith('/'))];
      const dataDir = this.opts.dataDir ? [resolveReal(this.opts.dataDir) ?? this.opts.dataDir] : [];
      const wsForbidden = [...BUILTIN_WORKSPACE_FORBIDDEN, ...profile.forbidden.filter((g) => !g.startsWith('/'))];
      f = {
        hostForbidden: [...hostForbidden, ...dataDir],
        dataDir,
        hostGlobs: compileGlobs([...hostForbidden, ...dataDir]),
        wsGlobs: compileGlobs(wsForbidden),
      };
      this.forbiddenCache.set(key, f);
    }
    return f;
  }

  private seccompFile(allow: readonly string[]): string {
    const key = [...allow].sort().join(',');
    let file = this.seccompFiles.get(key);
    if (!file) {
      file = join(this.host!.dir, `seccomp-${this.seccompFiles.size}.bpf`);
      writeFileSync(file, seccompFilterBytes(hostSeccompArch(), allow), { mode: 0o644 });
      this.seccompFiles.set(key, file);
    }
    return file;
  }

  private prepareHost(): Host {
    const { path: bwrap, version } = locateBwrap(this.config.bwrap);
    hostSeccompArch();
    const cgroups = CgroupManager.detect(this.config.cgroup_root);
    cgroups.prepare();
    const isRoot = process.getuid?.() === 0;
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
      try {
        closeSync(openSync(p, 'r'));
        return true;
      } catch {
        return false;
      }
    });
    if (isRoot && !setpriv) {
      throw new SandboxUnavailableError(
        'identity.setpriv',
        'running as root but setpriv (util-linux) is missing, so bwrap cannot be started as an unprivileged uid',
        'install util-linux',
      );
    }
    const bash = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p));
    reapStaleHostDirs();
    const dir = mkdtempSync(join(tmpdir(), `gatehouse-sbx-${process.pid}-`));
    chmodSync(dir, 0o755);
    removeOnExit(dir);
    const uid = isRoot ? this.config.user.uid : (process.getuid?.() ?? 65534);
    const gid = isRoot ? this.config.user.gid : (process.getgid?.() ?? 65534);
    writeFileSync(
      join(dir, 'passwd'),
      `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nsandbox:x:${uid}:${gid}:sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
      { mode: 0o644 },
    );
    writeFileSync(join(dir, 'group'), `root:x:0:\nsandbox:x:${gid}:\nnogroup:x:65534:\n`, { mode: 0o644 });
    writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n', { mode: 0o644 });
    writeFileSync(join(dir, 'bridge.cjs'), BRIDGE_SOURCE, { mode: 0o644 });
    return {
      bwrap,
      bwrapVersion: version,
      cgroups,
      dir,
      drop: isRoot ? { uid, gid } : undefined,
      setpriv: isRoot ? setpriv : undefined,
      bash,
    };
  }

  /** Facts about the host setup after `ensureReady` (for the self-test and `gatehouse exec --json`). */
  describeHost(): { bwrap: string; bwrapVersion: string; cgroupVersion: 1 | 2; uid: number | null } | undefined {
    const h = this.host;
    if (!h) return undefined;
    return {
      bwrap: h.bwrap,
      bwrapVersion: h.bwrapVersion,
      cgroupVersion: h.cgroups.layout.version,
      uid: h.drop?.uid ?? null,
    };
  }
}

/** Creates the sandbox runner from the `sandbox` config section. */
export function createSandbox(config: SandboxConfig, opts: SandboxOptions = {}): Sandbox {
  return new Sandbox(config, opts);
}

function resolveNodeBinary(hostForbidden: { matches(p: string): boolean }): string {
  const node = process.execPath;
  if (hostForbidden.matches(node)) {
    throw new SandboxUnavailableError(
      'network.bridge',
      `the node binary ${node} lies under a forbidden path and cannot run the in-sandbox network bridge`,
      'install node under /usr or /opt',
    );
  }
  return node;
}

/** Removes the generated-files directories of Gatehouse processes that died without their exit hook. */
function reapStaleHostDirs(): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^gatehouse-sbx-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH')
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

const exitDirs = new Set<string>();

/** One exit hook for all sandboxes of the process (a listener each would trip Node's leak warning). */
function removeOnExit(dir: string): void {
  if (exitDirs.size === 0) {
    process.once('exit', () => {
      for (const d of exitDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  exitDirs.add(dir);
}

const O_CLOEXEC = 0o2000000;

/** Our descriptors above 3 that an exec would pass on (no close-on-exec flag). */
export function inheritableFds(): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const name of names) {
    const fd = Number(name);
    if (!(fd > 3)) continue;
    try {
      const m = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m && (Number.parseInt(m[1]!, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function signalName(n: number): string | null {
  for (const [name, num] of Object.entries(osConstants.signals)) if (num === n) return name;
  return null;
}

class CappedBuffer {
  private chunks: Buffer[] = [];
  length = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(d: Buffer): void {
    const room = this.cap - this.length;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const take = d.length > room ? d.subarray(0, room) : d;
    if (take.length < d.length) this.truncated = true;
    this.chunks.push(take);
    this.length += take.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
