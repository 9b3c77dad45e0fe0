import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash, verifyInclusion } from '../../src/audit/merkle.js';
import { CHECKPOINT_ORIGIN, openNote } from '../../src/audit/note.js';
import { gatehouse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;
let cleanup: () => void;
const run = (args: string[], input?: string) => gatehouse(args, { cwd, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  ({ dir: cwd, cleanup } = tempDir());
  expect((await run(['init'])).code).toBe(0);
  const actions = ['fs.read', 'web.fetch', 'email.send', 'nope'].map((tool) =>
    JSON.stringify({ kind: 'tool_call', agent: 'demo', tool, args: {} }),
  );
  expect((await run(['decide', '--jsonl'], `${actions.join('\n')}\n`)).code).toBe(0);
});
afterAll(() => cleanup());

describe('audit export, prove and report', () => {
  it('exports raw JSON lines and OCSF records that link back to the chain', async () => {
    const raw = (await run(['audit', 'export', '--type', 'decision'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(raw).toHaveLength(4);
    const ocsf = (await run(['audit', 'export', '--format', 'ocsf'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const denied = ocsf.find((o) => o.unmapped.decision === 'deny');
    expect(denied).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      status: 'Failure',
      api: { operation: 'nope' },
      actor: { user: { uid: 'demo' } },
    });
    expect(denied.unmapped.reasons).toContain('catalogue.tool_unknown');
    const policy = ocsf.find((o) => o.unmapped.type === 'policy.loaded');
    expect(policy.class_uid).toBe(3004);
    expect((await run(['audit', 'export', '--format', 'xml'])).code).toBe(2);
  });

  it('proves inclusion of one event under a signed C2SP checkpoint', async () => {
    const r = await run(['audit', 'prove', '3', '--json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.leafHash).toBe(leafHash(p.eventHash).toString('hex'));
    const proof = p.proof.map((h: string) => Buffer.from(h, 'hex'));
    expect(verifyInclusion(Buffer.from(p.leafHash, 'hex'), 2, p.treeSize, proof, Buffer.from(p.rootHash, 'hex'))).toBe(
      true,
    );
    const db = new Database(join(cwd, '.gatehouse', 'gatehouse.db'), { readonly: true });
    const pem = (db.prepare("SELECT public_pem FROM keys WHERE purpose = 'audit'").get() as { public_pem: string })
      .public_pem;
    db.close();
    const body = openNote(p.checkpoint, 'gatehouse', createPublicKey(pem));
    expect(body).toBe(`${CHECKPOINT_ORIGIN}\n${p.treeSize}\n${Buffer.from(p.rootHash, 'hex').toString('base64')}\n`);
    const forged = p.checkpoint.replace(`\n${p.treeSize}\n`, `\n${p.treeSize + 1}\n`);
    expect(openNote(forged, 'gatehouse', createPublicKey(pem))).toBeUndefined();
    expect((await run(['audit', 'prove', '999'])).code).toBe(1);
    expect((await run(['audit', 'prove', 'abc'])).code).toBe(2);
  });

  it('prints the checkpoint key to pin; verify accepts it and refuses another key', async () => {
    const pub = await run(['audit', 'pubkey']);
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    writeFileSync(join(cwd, 'audit.pub'), pub.stdout);
    expect((await run(['audit', 'verify', '--pubkey', 'audit.pub'])).code).toBe(0);
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(cwd, 'other.pub'), other);
    const forged = await run(['audit', 'verify', '--pubkey', 'other.pub']);
    expect(forged.code).toBe(3);
    // The first signed checkpoint checked (the copy kept in the store) already fails against the wrong key.
    expect(forged.stderr).toMatch(/does not verify with the audit key|checkpoint signature is invalid/);
    expect(JSON.parse((await run(['audit', 'pubkey', '--json'])).stdout)).toMatchObject({
      kid: expect.stringMatching(/^audit-/),
    });
  });

  it('prints the weekly digest of the decisions in the log (audit digest --since 7d)', async () => {
    const r = await run(['audit', 'digest', '--since', '7d', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { decisions: Record<string, number>; approvals: { requested: number } };
    // The four decisions made in beforeAll: fs.read and web.fetch allowed, email.send to review, nope denied.
    expect(d.decisions).toEqual({ allow: 2, review: 1, deny: 1 });
    expect(d.approvals.requested).toBe(1);
    const md = await run(['audit', 'digest']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^#/);
    expect((await run(['audit', 'digest', '--since', 'last week'])).code).toBe(2);
  });

  it('builds compliance reports for every framework from the log', async () => {
    for (const framework of ['soc2', 'iso27001', 'gdpr', 'hipaa', 'pci']) {
      const r = await run(['audit', 'report', '--framework', framework, '--format', 'json']);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.integrity).toMatchObject({ ok: true, checkpointSigned: true, signatureValid: true });
      expect(report.summary.decisions).toMatchObject({ allow: 2, review: 1, deny: 1 });
      const decisions = report.controls
        .flatMap((c: { evidence: { kind: string; events: number }[] }) => c.evidence)
        .find((e: { kind: string }) => e.kind === 'access_decisions');
      expect(decisions.events).toBe(4);
    }
    const md = await run(['audit', 'report', '--framework', 'soc2']);
    expect(md.stdout).toContain('| CC6.1 |');
    expect(md.stdout).toContain('Log integrity:** verified');
    expect((await run(['audit', 'report', '--framework', 'nist'])).code).toBe(2);
  });
});
