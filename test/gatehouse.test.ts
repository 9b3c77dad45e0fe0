import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyLog } from '../src/audit/verify.js';
import { EXAMPLE_CONFIG } from '../src/config/example.js';
import { parseConfig } from '../src/config/load.js';
import type { ConfigInput } from '../src/config/schema.js';
import type { ActionInput } from '../src/core/action.js';
import { InputError } from '../src/core/errors.js';
import { Gatehouse } from '../src/gatehouse.js';
import { tempDir } from './helpers/tmp.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

const config = (): ConfigInput & { tools: NonNullable<ConfigInput['tools']> } => ({
  version: 1 as const,
  identity: { agents: { a: { roles: ['worker'] } } },
  roles: { worker: { grants: [{ tools: ['fs.read', 'web.fetch', 'email.send'] }] } },
  tools: {
    'fs.read': { risk: 'low' as const },
    'web.fetch': { risk: 'medium' as const },
    'email.send': { risk: 'high' as const },
  },
});

describe('Gatehouse.decide with the catalogue', () => {
  it('low allows, medium allows and flags, high asks a human, unknown is denied; each audited', async () => {
    const gh = await Gatehouse.open({ config: config(), data: dir });
    const low = await gh.decide({ kind: 'tool_call', agent: 'a', tool: 'fs.read', args: { path: 'x' } });
    const med = await gh.decide({
      kind: 'tool_call',
      agent: 'a',
      tool: 'web.fetch',
      args: { url: 'https://example.com' },
    });
    const high = await gh.decide({ kind: 'tool_call', agent: 'a', tool: 'email.send', args: { to: 'x@y.z' } });
    const unknown = await gh.decide({ kind: 'tool_call', agent: 'a', tool: 'rm.everything' });
    await gh.close();
    expect(low).toMatchObject({ effect: 'allow', tier: 'low', flagged: false });
    expect(med).toMatchObject({ effect: 'allow', tier: 'medium', flagged: true });
    expect(high).toMatchObject({ effect: 'review', tier: 'high' });
    expect(unknown).toMatchObject({ effect: 'deny' });
    expect(unknown.reasons.map((r) => r.code)).toContain('catalogue.tool_unknown');
    const seqs = [low, med, high, unknown].map((d) => d.auditSeq);
    expect(new Set(seqs).size).toBe(4);
    const events = readFileSync(join(dir, 'audit', 'seg-00000001.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    expect(bySeq.get(unknown.auditSeq)).toMatchObject({
      type: 'decision',
      decision: 'deny',
      agent: 'a',
      actor: 'host',
    });
    expect(bySeq.get(med.auditSeq)).toMatchObject({ decision: 'allow', flagged: true, tier: 'medium' });
    expect(verifyLog(join(dir, 'audit')).ok).toBe(true);
  });

  it('rejects malformed actions naming the field, and never records their content', async () => {
    const gh = await Gatehouse.open({ config: config(), data: dir });
    // Untyped input, as from JSON: the edge validates it.
    const decide = (input: unknown) => gh.decide(input as ActionInput);
    await expect(decide({ kind: 'tool_call', agent: 'a' })).rejects.toThrow(/action\.tool: is required/);
    await expect(decide({ kind: 'launch', agent: 'a' })).rejects.toThrow(InputError);
    await expect(decide({ kind: 'input', agent: 'a', content: 'x', extra: true })).rejects.toThrow(
      /unknown field extra/,
    );
    await expect(decide({ kind: 'input', agent: 'a b', content: 'x' })).rejects.toThrow(/action\.agent/);
    await expect(decide('not an object')).rejects.toThrow(InputError);
    await gh.close();
  });

  it('the policy epoch rises when the policy changes, not on every load', async () => {
    const a = await Gatehouse.open({ config: config(), data: dir });
    const e1 = await a.currentPolicyEpoch();
    await a.close();
    const b = await Gatehouse.open({ config: config(), data: dir });
    expect(await b.currentPolicyEpoch()).toBe(e1);
    await b.close();
    const changed = config();
    changed.tools['fs.read'] = { risk: 'medium' };
    const c = await Gatehouse.open({ config: changed, data: dir });
    expect(await c.currentPolicyEpoch()).toBe(e1 + 1);
    const d = await c.decide({ kind: 'tool_call', agent: 'a', tool: 'fs.read' });
    expect(d.policyEpoch).toBe(e1 + 1);
    await c.close();
  });

  it('remote credentials are refused when no authenticate stage can check them (fail closed)', async () => {
    const gh = await Gatehouse.open({ config: config(), data: dir });
    const d = await gh.decide(
      { kind: 'tool_call', agent: 'a', tool: 'fs.read' },
      { credentials: { kind: 'bearer', token: 'x.y.z' } },
    );
    await gh.close();
    expect(d.effect).toBe('deny');
  });

  it('a decision that cannot be audited is a deny', async () => {
    const gh = await Gatehouse.open({ config: config(), data: dir });
    await gh.audit.close();
    const d = await gh.decide({ kind: 'tool_call', agent: 'a', tool: 'fs.read' });
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toContain('audit.unavailable');
    await gh.identity.close();
    await gh.store.close();
  });

  it('keeps no private key in clear in the data dir', async () => {
    const gh = await Gatehouse.open({ config: parseConfig(EXAMPLE_CONFIG), data: dir });
    await gh.close();
    const db = readFileSync(join(dir, 'gatehouse.db'));
    expect(db.includes(Buffer.from('PRIVATE KEY'))).toBe(false);
  });
});
