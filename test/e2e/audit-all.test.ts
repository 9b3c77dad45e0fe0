import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/audit/checkpoint.js';
import type { InstancesReport } from '../../src/audit/instances.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { gatehouse } from '../helpers/cli.js';
import { GatewayProcess, sharedMasterKey } from '../helpers/gateways.js';
import { freshSchema, type PgServer, startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `audit verify --all` on three real gateway processes sharing one real PostgreSQL: each keeps its own chain in its
 * data directory and publishes its signed checkpoints to the store; the verifier checks every chain against them.
 * Each attack is made on one instance, checked, and undone from a copy before the next.
 */
let server: PgServer;
const schema = freshSchema('auditall');
const masterKey = sharedMasterKey();
const config = {
  version: 1,
  store: { schema },
  identity: { agents: { w: { roles: ['worker'] } } },
  roles: { worker: { grants: [{ tools: ['fs.read'] }] } },
  tools: { 'fs.read': { risk: 'low' } },
};
const names = ['A', 'B', 'C'] as const;
const data = new Map<string, string>();
const instance = new Map<string, string>();
const cli = tempDir();
const backups = tempDir();

async function run(name: string, decisions: number): Promise<void> {
  const g = await GatewayProcess.start(name, { url: server.url, masterKey, config, data: data.get(name)! });
  try {
    for (let i = 0; i < decisions; i++) {
      await g.call('decide', {
        kind: 'tool_call',
        agent: 'w',
        session: `s-${name}`,
        tool: 'fs.read',
        args: { path: `${name}-${i}.txt` },
      });
    }
  } finally {
    // Closing signs the head and publishes it.
    await g.stop({ keepData: true });
  }
}

async function verifyAll(...extra: string[]): Promise<{ code: number; report: InstancesReport }> {
  const r = await gatehouse(['audit', 'verify', '--all', '--json', ...extra], {
    cwd: cli.dir,
    env: { GATEHOUSE_DATABASE_URL: server.url },
  });
  return { code: r.code, report: JSON.parse(r.stdout) as InstancesReport };
}

function statusOf(report: InstancesReport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, id] of instance) out[n] = report.instances.find((i) => i.instance === id)?.status ?? 'absent';
  return out;
}

function auditDir(name: string): string {
  return join(data.get(name)!, 'audit');
}

function backup(name: string): void {
  rmSync(join(backups.dir, name), { recursive: true, force: true });
  cpSync(auditDir(name), join(backups.dir, name), { recursive: true });
}

function restore(name: string): void {
  rmSync(auditDir(name), { recursive: true, force: true });
  cpSync(join(backups.dir, name), auditDir(name), { recursive: true });
}

function segment(name: string): string {
  const seg = readdirSync(auditDir(name)).find((f) => /^seg-\d+\.jsonl$/.test(f))!;
  return join(auditDir(name), seg);
}

async function withStore<T>(fn: (s: PostgresStore) => Promise<T>): Promise<T> {
  const s = await PostgresStore.open(server.url, { schema });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  server = await startPostgres();
  writeFileSync(join(cli.dir, 'gatehouse.yaml'), `version: 1\nstore: { schema: ${schema} }\n`);
  for (const n of names) {
    const t = tempDir();
    data.set(n, t.dir);
    await run(n, 5);
    instance.set(n, readFileSync(join(t.dir, 'instance.id'), 'utf8').trim());
    backup(n);
  }
}, 120_000);
afterAll(async () => {
  await server?.stop();
  for (const d of [...data.values(), cli.dir, backups.dir]) rmSync(d, { recursive: true, force: true });
});

describe('audit verify --all across gateways on PostgreSQL', () => {
  it('verifies every instance against its published checkpoint, per instance, in text and JSON', async () => {
    const ok = await verifyAll();
    expect(ok.code).toBe(0);
    expect(ok.report.ok).toBe(true);
    expect(statusOf(ok.report)).toEqual({ A: 'ok', B: 'ok', C: 'ok' });
    for (const i of ok.report.instances) {
      expect(i.published?.signatureValid).toBe(true);
      expect(i.log?.witnesses).toEqual([
        { source: 'the store', seq: i.published?.seq, held: true, signatureValid: true },
      ]);
    }
    const text = await gatehouse(['audit', 'verify', '--all'], {
      cwd: cli.dir,
      env: { GATEHOUSE_DATABASE_URL: server.url },
    });
    expect(text.code).toBe(0);
    for (const id of instance.values()) expect(text.stdout).toMatch(new RegExp(`^ok: ${id} \\(`, 'm'));
  });

  it('an event edited on one instance fails that instance only, exit 3', async () => {
    const file = segment('B');
    const lines = readFileSync(file, 'utf8').split('\n');
    const decisions = lines.flatMap((l, n) => (l.includes('"type":"decision"') ? [n] : []));
    const i = decisions[2]!;
    lines[i] = lines[i]!.replace('"decision":"allow"', '"decision":"deny"');
    expect(lines[i]).toContain('"decision":"deny"');
    writeFileSync(file, lines.join('\n'));
    try {
      const r = await verifyAll();
      expect(r.code).toBe(3);
      expect(statusOf(r.report)).toEqual({ A: 'ok', B: 'tampered', C: 'ok' });
      const text = await gatehouse(['audit', 'verify', '--all'], {
        cwd: cli.dir,
        env: { GATEHOUSE_DATABASE_URL: server.url },
      });
      expect(text.code).toBe(3);
      expect(text.stdout).toMatch(new RegExp(`^tampered: ${instance.get('B')} .*seq \\d+: hash mismatch`, 'm'));
      expect(text.stderr).toContain(`1 of 3 audit logs do not verify: ${instance.get('B')} tampered`);
    } finally {
      restore('B');
    }
  });

  it('a log rolled back to an earlier, locally consistent copy is caught only by the published checkpoint', async () => {
    const before = join(backups.dir, 'C-before');
    cpSync(auditDir('C'), before, { recursive: true });
    await run('C', 4); // publishes a later checkpoint
    backup('C');
    rmSync(auditDir('C'), { recursive: true, force: true });
    cpSync(before, auditDir('C'), { recursive: true });
    try {
      // On its own the rolled-back log verifies (chain and signed head agree): only the store knows better.
      const alone = await gatehouse(['audit', 'verify', '--json', '--data', data.get('C')!], {
        cwd: cli.dir,
        env: { GATEHOUSE_DATABASE_URL: server.url },
      });
      expect(alone.code).toBe(0);
      const r = await verifyAll();
      expect(r.code).toBe(3);
      expect(statusOf(r.report)).toEqual({ A: 'ok', B: 'ok', C: 'rolled_back' });
      // The gateway refuses to write on under the same instance id.
      await expect(
        GatewayProcess.start('C', { url: server.url, masterKey, config, data: data.get('C')! }),
      ).rejects.toThrow(/rolled back/);
    } finally {
      restore('C');
    }
  }, 60_000);

  it('the tail deleted after the published checkpoint, with the local head removed, is a rollback', async () => {
    const file = segment('A');
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    writeFileSync(file, `${lines.slice(0, -3).join('\n')}\n`);
    for (const f of readdirSync(auditDir('A'))) if (f.startsWith('head.sqlite')) rmSync(join(auditDir('A'), f));
    try {
      const r = await verifyAll('--allow-unsigned-tail');
      expect(r.code).toBe(3);
      expect(statusOf(r.report)).toEqual({ A: 'rolled_back', B: 'ok', C: 'ok' });
      const a = r.report.instances.find((i) => i.instance === instance.get('A'))!;
      expect(a.log?.firstBadSeq).toBe(lines.length - 2);
    } finally {
      restore('A');
    }
  });

  it('a checkpoint forged in the store, or re-signed with another key, fails that instance', async () => {
    const id = instance.get('B')!;
    const real = await withStore((s) =>
      s.get<{ seq: number; hash: string; ts: string; kid: string; sig: string }>(
        'SELECT seq, hash, ts, kid, sig FROM audit_checkpoints WHERE instance = ?',
        [id],
      ),
    );
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = { seq: real!.seq, hash: 'f'.repeat(64), ts: new Date().toISOString() };
    const attempts = [
      // Same kid as the real audit key, signed by another key.
      { ...forged, kid: real!.kid, sig: signCheckpoint(forged, { kid: real!.kid, privateKey }) },
      // A kid of the attacker's own.
      { ...forged, kid: 'attacker', sig: signCheckpoint(forged, { kid: 'attacker', privateKey }) },
      // The real signature moved onto another hash.
      { ...forged, ts: real!.ts, kid: real!.kid, sig: real!.sig },
    ];
    try {
      for (const f of attempts) {
        await withStore((s) =>
          s.run('UPDATE audit_checkpoints SET hash = ?, ts = ?, kid = ?, sig = ? WHERE instance = ?', [
            f.hash,
            f.ts,
            f.kid,
            f.sig,
            id,
          ]),
        );
        const r = await verifyAll();
        expect(r.code).toBe(3);
        expect(statusOf(r.report)).toEqual({ A: 'ok', B: 'forged_checkpoint', C: 'ok' });
      }
    } finally {
      await withStore((s) =>
        s.run('UPDATE audit_checkpoints SET hash = ?, ts = ?, kid = ?, sig = ? WHERE instance = ?', [
          real!.hash,
          real!.ts,
          real!.kid,
          real!.sig,
          id,
        ]),
      );
    }
    expect((await verifyAll()).code).toBe(0);
  });

  it('an instance whose log is gone, or that never published, is missing', async () => {
    rmSync(auditDir('C'), { recursive: true, force: true });
    try {
      const r = await verifyAll('--expect', instance.get('A')!, 'gw-000000000000');
      expect(r.code).toBe(3);
      expect(statusOf(r.report)).toEqual({ A: 'ok', B: 'ok', C: 'missing' });
      expect(r.report.instances.find((i) => i.instance === 'gw-000000000000')?.status).toBe('missing');
      // A copy fetched off the host is verified where --log says it is.
      const copy = await verifyAll('--log', `${instance.get('C')}=${join(backups.dir, 'C')}`);
      expect(copy.code).toBe(0);
    } finally {
      restore('C');
    }
  });

  it('a store with no published checkpoints verifies nothing and fails', async () => {
    const empty = tempDir();
    try {
      writeFileSync(join(empty.dir, 'gatehouse.yaml'), `version: 1\nstore: { schema: ${freshSchema('empty')} }\n`);
      const r = await gatehouse(['audit', 'verify', '--all', '--json'], {
        cwd: empty.dir,
        env: { GATEHOUSE_DATABASE_URL: server.url },
      });
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout)).toEqual({ ok: false, instances: [] });
    } finally {
      empty.cleanup();
    }
  });
});
