import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { SandboxProfileSchema, SandboxSchema } from '../../src/config/sections/sandbox.js';
import { resolveProfile } from '../../src/sandbox/profiles.js';

describe('sandbox config and profiles', () => {
  it('the default profile is safe with no configuration', () => {
    const p = resolveProfile(SandboxSchema.parse({}), 'default');
    expect(p).toMatchObject({ network: 'none', workspace: 'rw', user: { uid: 65534, gid: 65534 }, timeoutMs: 60_000 });
    expect(p.limits).toMatchObject({ memoryBytes: 1024 ** 3, pids: 64, cpuSeconds: 30, files: 256, cpuQuota: 1 });
    expect(p.seccompAllow).toEqual([]);
  });

  it('keeps the flat keys of DESIGN.md working', () => {
    const cfg = ConfigSchema.parse({
      version: 1,
      sandbox: {
        profiles: {
          default: {
            network: 'none',
            workspace: 'rw',
            memory: '512MiB',
            pids: 32,
            cpu_seconds: 10,
            timeout: '5s',
            files: 128,
          },
        },
      },
    });
    const p = resolveProfile(cfg.sandbox, 'default');
    expect(p.limits).toMatchObject({ memoryBytes: 512 * 1024 ** 2, pids: 32, cpuSeconds: 10, files: 128 });
    expect(p.timeoutMs).toBe(5000);
  });

  it('covers the seven levels', () => {
    const p = resolveProfile(
      SandboxSchema.parse({
        profiles: {
          web: {
            namespaces: { hostname: 'builder' },
            user: { uid: 1500, gid: 1500 },
            capabilities: { drop: 'ALL' },
            seccomp: { allow: ['ptrace'] },
            network: 'allowlist',
            allow_hosts: ['registry.npmjs.org:443', '*.github.com'],
            filesystem: { read_only: ['/opt'], read_write: ['/srv/cache'], forbidden: ['secrets/**'] },
            resources: {
              memory: '256MiB',
              swap: 0,
              cpu: { shares: 512, quota: 0.5, period: '50ms' },
              pids: 16,
              files: 64,
              network_connections: 10,
              network_bytes: '1MiB',
            },
          },
        },
      }),
      'web',
    );
    expect(p).toMatchObject({
      hostname: 'builder',
      user: { uid: 1500, gid: 1500 },
      seccompAllow: ['ptrace'],
      network: 'allowlist',
      allowHosts: ['registry.npmjs.org:443', '*.github.com'],
      readOnly: ['/opt'],
      readWrite: ['/srv/cache'],
      forbidden: ['secrets/**'],
    });
    expect(p.limits).toMatchObject({
      memoryBytes: 256 * 1024 ** 2,
      cpuShares: 512,
      cpuQuota: 0.5,
      cpuPeriodMs: 50,
      pids: 16,
      files: 64,
      netConnectionsPerHour: 10,
      netBytesPerHour: 1024 ** 2,
    });
  });

  it('refuses weakening or contradictory settings', () => {
    const bad = [
      { capabilities: { drop: 'NONE' } },
      { seccomp: { allow: ['mount'] } },
      { resources: { swap: '1GiB' } },
      { user: { uid: 0, gid: 0 } },
      { memory: '1GiB', resources: { memory: '2GiB' } },
      { allow_hosts: ['example.com:443'] },
      { network: 'host' },
      { filesystem: { read_only: ['relative/path'] } },
      { unknown_key: 1 },
    ];
    for (const b of bad) expect(() => SandboxProfileSchema.parse(b), JSON.stringify(b)).toThrow();
  });

  it('an unknown profile is an error, never a fallback', () => {
    expect(() => resolveProfile(SandboxSchema.parse({}), 'nope')).toThrow(/unknown sandbox profile "nope"/);
  });
});
