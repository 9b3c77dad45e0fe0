import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgroupManager } from '../../src/sandbox/cgroups.js';
import { cleanup, hostProcesses, makeSandbox, workspace } from './helpers.js';

// Containment classes 4 (fork bomb), 5 (memory), 6 (CPU) and 7 (wall timeout), with small limits to stay fast.
const { sb } = makeSandbox({
  profiles: {
    bomb: { pids: 32, timeout: '2s', resources: { cpu: { quota: 0.5 } } },
    mem: { memory: '64MiB', timeout: '10s', resources: { tmp_size: '16MiB' } },
    spin1: { cpu_seconds: 1, timeout: '25s' },
    quota: { cpu_seconds: 30, timeout: '8s', resources: { cpu: { quota: 0.5 } } },
    budget: { cpu_seconds: 0.5, timeout: '25s', resources: { cpu: { quota: 2 } } },
    wall: { timeout: '1s' },
  },
});

function cgroupGone(id: string): boolean {
  const layout = CgroupManager.detect().layout;
  const bases = layout.version === 1 ? [layout.pids, layout.memory, layout.cpu, layout.cpuacct] : [layout.base];
  return bases.every((b) => !existsSync(join(b, `sbx-${process.pid}-${id}`)));
}

beforeAll(() => sb.ensureReady());
afterAll(cleanup);

describe('4. fork bombs are capped by pids.max and the host stays responsive', () => {
  it('a sleep & loop cannot exceed the pids limit', async () => {
    const r = await sb.run(
      [
        'python3',
        '-c',
        'import subprocess\nok = 0\nfor i in range(100):\n  try:\n    subprocess.Popen(["sleep", "30"]); ok += 1\n  except OSError as e:\n    err = e\nprint(ok, err.errno)',
      ],
      { profile: 'bomb', workspace: workspace() },
    );
    const [n, errno] = r.stdout.trim().split(' ').map(Number);
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(32);
    expect(errno).toBe(11); // EAGAIN from pids.max
  });

  it('a real fork bomb is contained, killed at the timeout, and leaves nothing behind', async () => {
    let worstLag = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - last - 20);
      last = now;
    }, 20);
    const r = await sb.run(['bash', '-c', ':(){ :|:& };:; sleep 30'], { profile: 'bomb', workspace: workspace() });
    clearInterval(tick);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(137);
    expect(worstLag).toBeLessThan(2000);
    expect(cgroupGone(r.id)).toBe(true);
  });
});

describe('5. memory', () => {
  it('a memory hog is OOM-killed in its own cgroup', async () => {
    const r = await sb.run(['python3', '-c', 'b = bytearray(256 << 20); print(len(b))'], {
      profile: 'mem',
      workspace: workspace(),
    });
    expect(r.oomKilled).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    expect(r.maxRssBytes).toBeLessThanOrEqual(64 * 1024 ** 2);
  });

  it('filling /tmp is bounded by its size', async () => {
    const r = await sb.run(['sh', '-c', 'dd if=/dev/zero of=/tmp/f bs=1M count=64 2>&1; stat -c %s /tmp/f'], {
      profile: 'mem',
      workspace: workspace(),
    });
    expect(r.stdout).toMatch(/No space left on device/);
    const size = Number(r.stdout.trim().split('\n').pop());
    expect(size).toBeLessThanOrEqual(16 * 1024 ** 2);
  });
});

describe('6. CPU', () => {
  it('one spinner is stopped by the CPU-time budget', async () => {
    const r = await sb.run(['sh', '-c', 'while :; do :; done'], { profile: 'spin1', workspace: workspace() });
    expect(r.cpuExceeded).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.cpuMs).toBeGreaterThanOrEqual(1000);
    expect(r.cpuMs).toBeLessThan(2000);
  });

  it('several spinners together are held to the quota', async () => {
    const r = await sb.run(['sh', '-c', 'for i in 1 2 3; do (while :; do :; done) & done; sleep 1.5'], {
      profile: 'quota',
      workspace: workspace(),
    });
    expect(r.exitCode).toBe(0);
    // 0.5 CPU for ~1.5 s; unlimited they would take ~3 s of CPU on two cores.
    expect(r.cpuMs).toBeGreaterThan(50);
    expect(r.cpuMs).toBeLessThan(1200);
  });

  it('several spinners together are stopped by one budget for the whole tree', async () => {
    const r = await sb.run(['sh', '-c', 'for i in 1 2 3; do (while :; do :; done) & done; wait'], {
      profile: 'budget',
      workspace: workspace(),
    });
    expect(r.cpuExceeded).toBe(true);
    expect(r.cpuMs).toBeGreaterThanOrEqual(500);
    expect(r.cpuMs).toBeLessThan(1500);
  });
});

describe('7. wall timeout leaves zero processes', () => {
  it('kills setsid, nohup and TERM-ignoring processes and removes the cgroup', async () => {
    const tag = `${Date.now() % 100000}`;
    const r = await sb.run(
      [
        'bash',
        '-c',
        `setsid nohup sleep 1${tag}1 >/dev/null 2>&1 & (trap "" TERM HUP; exec sleep 1${tag}2) & nohup sleep 1${tag}3 >/dev/null 2>&1 & sleep 1${tag}4`,
      ],
      { profile: 'wall', workspace: workspace() },
    );
    expect(r.timedOut).toBe(true);
    expect(r.wallMs).toBeLessThan(4000);
    expect(hostProcesses(`sleep 1${tag}`)).toEqual([]);
    expect(cgroupGone(r.id)).toBe(true);
  });

  it('output beyond the cap is dropped and flagged', async () => {
    const { sb: s2 } = makeSandbox({ profiles: { small: { resources: { output: '1KiB' } } } });
    const r = await s2.run(['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" a'], {
      profile: 'small',
      workspace: workspace(),
    });
    expect(r.stdout.length).toBe(1024);
    expect(r.stdoutTruncated).toBe(true);
    expect(statSync('/proc/self').isDirectory()).toBe(true);
  });
});
