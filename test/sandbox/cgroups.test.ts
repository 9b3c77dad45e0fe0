import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CgroupManager, detectCgroupLayout } from '../../src/sandbox/cgroups.js';
import { SandboxUnavailableError } from '../../src/sandbox/errors.js';
import { cleanup, tempDir } from './helpers.js';

afterAll(cleanup);

const HYBRID = `30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct`;
const HYBRID_SELF = `4:memory:/svc
3:pids:/
2:cpu,cpuacct:/svc
0::/`;
const V2 = `30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`;

const LIMITS = { memoryBytes: 128 * 1024 ** 2, pids: 32, cpuQuota: 0.5, cpuPeriodMs: 100, cpuShares: 1024 };

describe('cgroup layout detection', () => {
  it('uses v1 controllers on hybrid hosts, under our own cgroup', () => {
    expect(detectCgroupLayout(HYBRID, HYBRID_SELF)).toEqual({
      version: 1,
      pids: '/sys/fs/cgroup/pids/gatehouse',
      memory: '/sys/fs/cgroup/memory/svc/gatehouse',
      cpu: '/sys/fs/cgroup/cpu,cpuacct/svc/gatehouse',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct/svc/gatehouse',
    });
  });

  it('uses the unified hierarchy on v2 hosts', () => {
    expect(detectCgroupLayout(V2, '0::/system.slice/gatehouse.service')).toEqual({
      version: 2,
      base: '/sys/fs/cgroup/system.slice/gatehouse.service/gatehouse',
    });
    expect(detectCgroupLayout(V2, '0::/')).toEqual({ version: 2, base: '/sys/fs/cgroup/gatehouse' });
  });

  it('fails closed when no hierarchy is mounted', () => {
    expect(() => detectCgroupLayout('1 0 0:1 / / rw - ext4 /dev/vda rw', '0::/')).toThrow(SandboxUnavailableError);
  });

  it('this host has a usable layout', () => {
    expect([1, 2]).toContain(CgroupManager.detect().layout.version);
  });
});

describe('cgroup v2 writer (on a directory shaped like cgroupfs)', () => {
  it('enables controllers, writes and reads back limits, and removes the leaf', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    const m = new CgroupManager({ version: 2, base: join(root, 'gatehouse') });
    const cg = m.create('abc', LIMITS);
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+pids +memory +cpu');
    expect(readFileSync(join(root, 'gatehouse', 'cgroup.subtree_control'), 'utf8')).toBe('+pids +memory +cpu');
    const dir = cg.dirs.memory;
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(128 * 1024 ** 2));
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('32');
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
    expect(readFileSync(join(dir, 'cpu.weight'), 'utf8')).toBe('39');
    expect(cg.readLimits()).toEqual({ memoryBytes: 128 * 1024 ** 2, pids: 32, cpuQuotaUs: 50000, cpuPeriodUs: 100000 });
    expect(cg.procsFiles).toEqual([join(dir, 'cgroup.procs')]);
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'memory.peak'), '4096\n');
    expect(cg.usage()).toEqual({ cpuUsec: 1500, memoryPeakBytes: 4096, oomKills: 1 });
  });

  it('refuses when the parent lacks a controller', () => {
    const root = tempDir();
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu io\n');
    const m = new CgroupManager({ version: 2, base: join(root, 'gatehouse') });
    expect(() => m.create('x', LIMITS)).toThrow(/controllers pids, memory are not available/);
  });

  it('never reuses an existing leaf', () => {
    const root = tempDir();
    mkdirSync(join(root, 'gatehouse', `sbx-${process.pid}-ff`), { recursive: true });
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    const m = new CgroupManager({ version: 2, base: join(root, 'gatehouse') });
    // The leaf already exists (not ours): creating it must fail, never reuse it.
    expect(() => m.create('ff', LIMITS)).toThrow(SandboxUnavailableError);
  });

  it('removes leftovers of dead Gatehouse processes but not of live ones', () => {
    const root = tempDir();
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    mkdirSync(join(root, 'gatehouse', 'sbx-999999999-ab'), { recursive: true });
    mkdirSync(join(root, 'gatehouse', `sbx-${process.pid}-cd`));
    new CgroupManager({ version: 2, base: join(root, 'gatehouse') }).prepare();
    expect(existsSync(join(root, 'gatehouse', 'sbx-999999999-ab'))).toBe(false);
    expect(existsSync(join(root, 'gatehouse', `sbx-${process.pid}-cd`))).toBe(true);
  });
});
