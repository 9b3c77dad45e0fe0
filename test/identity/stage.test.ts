import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { createProof } from '../../src/identity/client.js';
import { testStoreOptions } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

let dir: string;
let cleanup: () => void;
let gh: Gatehouse;
beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  gh = await Gatehouse.open({
    ...testStoreOptions(),
    config: {
      version: 1,
      tools: { 'fs.read': { risk: 'low' } },
      roles: { reader: { grants: [{ tools: ['fs.read'] }] }, assistant: { inherits: ['reader'] } },
      identity: { agents: { demo: { roles: ['reader'] } } },
    },
    data: dir,
  });
});
afterEach(async () => {
  await gh.close();
  cleanup();
});

const act = (agent: string, session = 's1') => ({
  kind: 'tool_call' as const,
  agent,
  session,
  tool: 'fs.read',
  args: { path: 'x' },
});

function auditLines(): Array<Record<string, unknown>> {
  return readFileSync(join(dir, 'audit', 'seg-00000001.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('the authenticate stage in the pipeline', () => {
  it('init created the CA and signing key; the host acts for a declared agent and is recorded as the actor', async () => {
    expect(gh.identity.ca.ready).toBe(true);
    const d = await gh.decide(act('demo'));
    expect(d.effect).toBe('allow');
    expect(d.verdicts[0]).toMatchObject({
      stage: 'authenticate',
      effect: 'allow',
      facts: { principal: { agent: 'demo', method: 'host', roles: ['reader'] } },
    });
    await gh.audit.flush();
    expect(auditLines().find((e) => e.seq === d.auditSeq)).toMatchObject({
      type: 'decision',
      actor: 'host',
      agent: 'demo',
    });
  });

  it('denies an unknown agent in host mode with identity.agent_unknown, and stops the pipeline', async () => {
    const d = await gh.decide(act('nobody'));
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toEqual(['identity.agent_unknown']);
    expect(d.verdicts).toHaveLength(1);
  });

  it('bearer tokens: the right agent is allowed with method token; others get their own reason codes', async () => {
    const r = await gh.identity.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
    const t = await gh.identity.issueToken('mailer', { actor: 'host' });
    const ok = await gh.decide(act('mailer'), { credentials: { kind: 'bearer', token: t.access_token } });
    expect(ok.effect).toBe('allow');
    expect(ok.verdicts[0]!.facts?.principal).toMatchObject({
      agent: 'mailer',
      method: 'token',
      tokenId: t.jti,
      generation: 1,
    });
    const wrong = await gh.decide(act('demo'), { credentials: { kind: 'bearer', token: t.access_token } });
    expect(wrong.reasons.map((x) => x.code)).toEqual(['identity.token_subject_mismatch']);
    const garbage = await gh.decide(act('mailer'), { credentials: { kind: 'bearer', token: 'garbage' } });
    expect(garbage.reasons.map((x) => x.code)).toEqual(['identity.token_malformed']);
    const nonce = (await gh.identity.challenges.issue('mailer')).nonce;
    const proof = await createProof({
      privateKey: createPrivateKey(r.privateKeyPem!),
      nonce,
      audience: 'gatehouse',
      method: 'tool_call:fs.read',
      accessToken: t.access_token,
    });
    const pop = await gh.decide(act('mailer'), { credentials: { kind: 'bearer', token: t.access_token, proof } });
    expect(pop.verdicts[0]!.facts?.principal?.proofOfPossession).toBe(true);
    const replay = await gh.decide(act('mailer'), { credentials: { kind: 'bearer', token: t.access_token, proof } });
    expect(replay.reasons.map((x) => x.code)).toEqual(['identity.pop_nonce_replayed']);
    await gh.identity.setStatus('mailer', 'suspended', { actor: 'host' });
    const suspended = await gh.decide(act('mailer'), { credentials: { kind: 'bearer', token: t.access_token } });
    expect(suspended.reasons.map((x) => x.code)).toEqual(['identity.agent_suspended']);
  });

  it('client certificates authenticate with method certificate', async () => {
    await gh.identity.register({ id: 'mailer', roles: ['reader'], generateKey: 'Ed25519' }, 'host');
    const c = await gh.identity.certificate('mailer', 'host');
    const d = await gh.decide(act('mailer'), { credentials: { kind: 'certificate', pem: c.chainPem } });
    expect(d.effect).toBe('allow');
    expect(d.verdicts[0]!.facts?.principal).toMatchObject({ method: 'certificate' });
  });
});
