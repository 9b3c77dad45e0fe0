import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxUnavailableError } from './errors.js';

/** Limits written into a sandbox's cgroup. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** CPUs' worth of time per period. */
  cpuQuota: number;
  cpuPeriodMs: number;
  cpuShares: number;
}

/** Accounting read back from a sandbox's cgroup. */
export interface CgroupUsage {
  cpuUsec: number;
  memoryPeakBytes: number;
  oomKills: number;
}

/** Where the controllers live. v1: one directory per controller; v2: one unified directory. */
export type CgroupLayout =
  | { version: 1; pids: string; memory: string; cpu: string; cpuacct: string }
  | { version: 2; base: string };

const V1_CONTROLLERS = ['pids', 'memory', 'cpu', 'cpuacct'] as const;
const V2_CONTROLLERS = ['pids', 'memory', 'cpu'] as const;

const HINT =
  'run Gatehouse as root, or under a delegated cgroup (systemd: Delegate=yes, or `systemd-run --user -p Delegate=yes --scope gatehouse …`), or set sandbox.cgroup_root to a writable cgroup';

/**
 * Finds the cgroup hierarchies from `/proc/self/mountinfo` and `/proc/self/cgroup` text. The v1 controllers
 * win when all four are mounted (hybrid hosts); otherwise the unified v2 hierarchy is used. Sandboxes live
 * under our own cgroup, so they never escape limits placed on Gatehouse itself.
 */
export function detectCgroupLayout(mountinfo: string, selfCgroup: string, override?: string): CgroupLayout {
  const v1Mounts = new Map<string, string>();
  let v2Mount: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = unescapeMount(left[4] ?? '');
    const fstype = right[0];
    if (fstype === 'cgroup2') v2Mount ??= mountPoint;
    if (fstype === 'cgroup') {
      for (const opt of (right[2] ?? '').split(',')) v1Mounts.set(opt, mountPoint);
    }
  }
  const own = new Map<string, string>();
  for (const line of selfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') own.set('', m[3]!);
    for (const c of m[2]!.split(',')) if (c) own.set(c, m[3]!);
  }
  if (V1_CONTROLLERS.every((c) => v1Mounts.has(c))) {
    const dir = (c: string) => override ?? join(v1Mounts.get(c)!, own.get(c) ?? '/', 'gatehouse');
    return { version: 1, pids: dir('pids'), memory: dir('memory'), cpu: dir('cpu'), cpuacct: dir('cpuacct') };
  }
  if (v2Mount) {
    const ownPath = own.get('') ?? '/';
    return { version: 2, base: override ?? join(v2Mount, ownPath === '/' ? '' : ownPath, 'gatehouse') };
  }
  throw new SandboxUnavailableError(
    'cgroup.missing',
    'no cgroup v1 (pids, memory, cpu, cpuacct) or v2 hierarchy is mounted',
    HINT,
  );
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

function notWritable(file: string, err: unknown): SandboxUnavailableError {
  return new SandboxUnavailableError(
    'cgroup.not_writable',
    `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    HINT,
    { cause: err },
  );
}

function write(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (err) {
    throw notWritable(file, err);
  }
}

function readNumber(file: string): number {
  const t = readFileSync(file, 'utf8').trim();
  return t === 'max' ? Number.POSITIVE_INFINITY : Number(t);
}

function readKeyed(file: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates, limits, reads, kills and removes per-sandbox cgroups under one layout. */
export class CgroupManager {
  private prepared = false;
  constructor(readonly layout: CgroupLayout) {}

  /** The layout of this host, or a `SandboxUnavailableError`. */
  static detect(override?: string): CgroupManager {
    let mountinfo: string;
    let self: string;
    try {
      mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
      self = readFileSync('/proc/self/cgroup', 'utf8');
    } catch (err) {
      throw new SandboxUnavailableError('cgroup.missing', 'cannot read /proc/self/mountinfo', 'mount /proc', {
        cause: err,
      });
    }
    return new CgroupManager(detectCgroupLayout(mountinfo, self, override));
  }

  private bases(): string[] {
    const l = this.layout;
    return l.version === 1 ? [...new Set([l.pids, l.memory, l.cpu, l.cpuacct])] : [l.base];
  }

  /** Creates the parent cgroup once, enables v2 controllers, and removes leftovers of dead Gatehouse processes. */
  prepare(): void {
    if (this.prepared) return;
    for (const base of this.bases()) {
      try {
        // Not recursive: the parent is our own cgroup (or the configured root's parent) and must exist.
        mkdirSync(base);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new SandboxUnavailableError(
          'cgroup.not_writable',
          `cannot create ${base}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          HINT,
          { cause: err },
        );
      }
    }
    if (this.layout.version === 2) this.enableV2Controllers(this.layout.base);
    this.reapStale();
    this.prepared = true;
  }

  private enableV2Controllers(base: string): void {
    const parent = join(base, '..');
    let available: string[];
    try {
      available = readFileSync(join(parent, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    } catch (err) {
      throw notWritable(join(parent, 'cgroup.controllers'), err);
    }
    const missing = V2_CONTROLLERS.filter((c) => !available.includes(c));
    if (missing.length > 0) {
      throw new SandboxUnavailableError(
        'cgroup.controllers',
        `cgroup v2 controllers ${missing.join(', ')} are not available in ${parent}`,
        HINT,
      );
    }
    const want = V2_CONTROLLERS.map((c) => `+${c}`).join(' ');
    try {
      writeFileSync(join(parent, 'cgroup.subtree_control'), want);
    } catch (err) {
      // v2 forbids controllers below a cgroup that holds processes: when that cgroup is our own, move this
      // process into a leaf of its own (what systemd's Delegate=yes expects) and try again.
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw notWritable(parent, err);
      const leaf = join(parent, 'gatehouse-supervisor');
      if (!existsSync(leaf)) mkdirSync(leaf);
      write(join(leaf, 'cgroup.procs'), String(process.pid));
      write(join(parent, 'cgroup.subtree_control'), want);
    }
    write(join(base, 'cgroup.subtree_control'), want);
  }

  private reapStale(): void {
    for (const base of this.bases()) {
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names) {
        const m = /^sbx-(\d+)-[0-9a-f]+$/.exec(name);
        if (!m || isAlive(Number(m[1]))) continue;
        const dir = join(base, name);
        killAllIn(dir, this.layout.version);
        try {
          rmdirSync(dir);
        } catch {
          // still draining; the next start retries
        }
      }
    }
  }

  /** A new leaf for one sandbox, with its limits written and read back. */
  create(id: string, limits: CgroupLimits): SandboxCgroup {
    this.prepare();
    const name = `sbx-${process.pid}-${id}`;
    const cg = new SandboxCgroup(this.layout, name);
    try {
      cg.make(limits);
    } catch (err) {
      cg.destroySync();
      throw err;
    }
    return cg;
  }
}

function killAllIn(dir: string, version: 1 | 2): void {
  if (version === 2 && existsSync(join(dir, 'cgroup.kill'))) {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
    } catch {
      // fall through to per-pid kills
    }
  }
  let procs: string;
  try {
    procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return;
  }
  for (const p of procs.split('\n')) {
    const pid = Number(p);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** One sandbox's cgroup (a leaf in each v1 hierarchy, or one v2 directory). */
export class SandboxCgroup {
  readonly dirs: Readonly<Record<'pids' | 'memory' | 'cpu' | 'cpuacct', string>>;
  private readonly all: string[];

  constructor(
    readonly layout: CgroupLayout,
    readonly name: string,
  ) {
    if (layout.version === 1) {
      this.dirs = {
        pids: join(layout.pids, name),
        memory: join(layout.memory, name),
        cpu: join(layout.cpu, name),
        cpuacct: join(layout.cpuacct, name),
      };
    } else {
      const d = join(layout.base, name);
      this.dirs = { pids: d, memory: d, cpu: d, cpuacct: d };
    }
    this.all = [...new Set(Object.values(this.dirs))];
  }

  /** `cgroup.procs` files the launcher writes its pid into before dropping privileges. */
  get procsFiles(): string[] {
    return this.all.map((d) => join(d, 'cgroup.procs'));
  }

  make(l: CgroupLimits): void {
    for (const d of this.all) {
      try {
        mkdirSync(d);
      } catch (err) {
        throw new SandboxUnavailableError(
          'cgroup.not_writable',
          `cannot create ${d}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          HINT,
          { cause: err },
        );
      }
    }
    const periodUs = Math.round(l.cpuPeriodMs * 1000);
    const quotaUs = Math.max(1000, Math.round(l.cpuQuota * periodUs));
    const { pids, memory, cpu } = this.dirs;
    write(join(pids, 'pids.max'), String(l.pids));
    if (this.layout.version === 1) {
      write(join(memory, 'memory.limit_in_bytes'), String(l.memoryBytes));
      if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) {
        write(join(memory, 'memory.memsw.limit_in_bytes'), String(l.memoryBytes));
      } else if (swapActive()) {
        throw new SandboxUnavailableError(
          'cgroup.swap',
          'swap is active but the memory cgroup cannot limit it (no memory.memsw.limit_in_bytes)',
          'boot with swapaccount=1, or disable swap',
        );
      }
      write(join(cpu, 'cpu.cfs_period_us'), String(periodUs));
      write(join(cpu, 'cpu.cfs_quota_us'), String(quotaUs));
      write(join(cpu, 'cpu.shares'), String(l.cpuShares));
    } else {
      write(join(memory, 'memory.max'), String(l.memoryBytes));
      if (existsSync(join(memory, 'memory.swap.max'))) write(join(memory, 'memory.swap.max'), '0');
      else if (swapActive()) {
        throw new SandboxUnavailableError(
          'cgroup.swap',
          'swap is active but memory.swap.max is missing',
          'disable swap',
        );
      }
      if (existsSync(join(memory, 'memory.oom.group'))) write(join(memory, 'memory.oom.group'), '1');
      write(join(cpu, 'cpu.max'), `${quotaUs} ${periodUs}`);
      write(
        join(cpu, 'cpu.weight'),
        String(Math.max(1, Math.min(10_000, 1 + Math.floor(((l.cpuShares - 2) * 9999) / 262_142)))),
      );
    }
    const back = this.readLimits();
    if (back.memoryBytes !== l.memoryBytes || back.pids !== l.pids) {
      throw new SandboxUnavailableError(
        'cgroup.limits',
        `cgroup limits did not take effect (memory ${back.memoryBytes}, pids ${back.pids})`,
        HINT,
      );
    }
  }

  /** The limits as the kernel reports them. */
  readLimits(): { memoryBytes: number; pids: number; cpuQuotaUs: number; cpuPeriodUs: number } {
    const { pids, memory, cpu } = this.dirs;
    if (this.layout.version === 1) {
      return {
        memoryBytes: readNumber(join(memory, 'memory.limit_in_bytes')),
        pids: readNumber(join(pids, 'pids.max')),
        cpuQuotaUs: readNumber(join(cpu, 'cpu.cfs_quota_us')),
        cpuPeriodUs: readNumber(join(cpu, 'cpu.cfs_period_us')),
      };
    }
    const [q, p] = readFileSync(join(cpu, 'cpu.max'), 'utf8').trim().split(' ');
    return {
      memoryBytes: readNumber(join(memory, 'memory.max')),
      pids: readNumber(join(pids, 'pids.max')),
      cpuQuotaUs: q === 'max' ? Number.POSITIVE_INFINITY : Number(q),
      cpuPeriodUs: Number(p),
    };
  }

  usage(): CgroupUsage {
    const { memory, cpuacct } = this.dirs;
    try {
      if (this.layout.version === 1) {
        return {
          cpuUsec: Math.round(readNumber(join(cpuacct, 'cpuacct.usage')) / 1000),
          memoryPeakBytes: readNumber(join(memory, 'memory.max_usage_in_bytes')),
          oomKills: readKeyed(join(memory, 'memory.oom_control'), 'oom_kill'),
        };
      }
      const peakFile = join(memory, 'memory.peak');
      return {
        cpuUsec: readKeyed(join(cpuacct, 'cpu.stat'), 'usage_usec'),
        memoryPeakBytes: readNumber(existsSync(peakFile) ? peakFile : join(memory, 'memory.current')),
        oomKills: readKeyed(join(memory, 'memory.events'), 'oom_kill'),
      };
    } catch {
      return { cpuUsec: 0, memoryPeakBytes: 0, oomKills: 0 };
    }
  }

  /** Process ids still in the cgroup (host pid namespace). */
  pids(): number[] {
    try {
      return readFileSync(join(this.dirs.pids, 'cgroup.procs'), 'utf8')
        .split('\n')
        .map(Number)
        .filter((n) => n > 0);
    } catch {
      return [];
    }
  }

  /** Freezes forks (pids.max 0) and SIGKILLs everything inside. */
  killAll(): void {
    try {
      writeFileSync(join(this.dirs.pids, 'pids.max'), '0');
    } catch {
      // the kill below still runs
    }
    killAllIn(this.dirs.pids, this.layout.version);
  }

  /**
   * Kills every process, waits until the cgroup is empty, and removes it. Resolves to false when it could not be
   * emptied within `timeoutMs` (the caller records that).
   */
  async destroy(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let round = 0;
    for (;;) {
      if (this.pids().length > 0) this.killAll();
      if (this.pids().length === 0 && this.tryRemove()) return true;
      if (Date.now() > deadline) return false;
      // The pid namespace teardown finishes within a millisecond or two: poll fast first.
      await new Promise((r) => setTimeout(r, ++round < 20 ? 1 : 20));
    }
  }

  /** Best-effort synchronous removal for setup failures (nothing has run in it yet). */
  destroySync(): void {
    this.tryRemove();
  }

  private tryRemove(): boolean {
    let ok = true;
    for (const d of this.all) {
      try {
        rmdirSync(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
      }
    }
    return ok;
  }

  exists(): boolean {
    return this.all.some((d) => existsSync(d));
  }
}

function swapActive(): boolean {
  try {
    return readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
  } catch {
    return true;
  }
}
