import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { ManualClock } from '../../src/core/clock.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { tempDir } from '../helpers/tmp.js';

const MIN = 60_000;

function config(workspace: string): ConfigInput {
  return {
    version: 1,
    identity: { agents: { alice: { roles: ['assistant'] }, bob: { roles: ['reader'] } } },
    roles: {
      reader: { grants: [{ tools: ['fs.read', 'web.fetch'], resources: ['workspace/**'] }] },
      assistant: {
        inherits: ['reader'],
        grants: [{ tools: ['email.send'], when: 'context.hour >= 8 && context.hour < 20' }],
      },
    },
    tools: {
      'fs.read': { risk: 'low', args: { path: {} } },
      'web.fetch': { risk: 'medium', output: 'untrusted', args: { url: { required: true, schemes: ['https'] } } },
      'email.send': { risk: 'high', sink: 'external' },
    },
    policy: { workspace },
  };
}

describe('seed scenarios end to end through decide()', () => {
  let tmp: ReturnType<typeof tempDir>;
  let gh: Gatehouse;
  let clock: ManualClock;
  let ws: string;

  beforeEach(async () => {
    tmp = tempDir();
    ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'notes.txt'), 'hello');
    clock = new ManualClock(Date.UTC(2026, 0, 5, 10, 0));
    gh = await Gatehouse.open({ config: config(ws), data: join(tmp.dir, 'data'), clock });
  });
  afterEach(async () => {
    await gh.close();
    tmp.cleanup();
  });

  it('reading a file in the workspace proceeds', async () => {
    const d = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      session: 's1',
      tool: 'fs.read',
      args: { path: 'notes.txt' },
    });
    expect(d.effect).toBe('allow');
    expect(d.tier).toBe('low');
    expect(d.flagged).toBe(false);
    expect(d.reasons.map((r) => r.code)).toContain('policy.permit');
    expect(d.policyEpoch).toBeGreaterThan(0);
  });

  it('reading outside the workspace is denied, by .. and by a symlink', async () => {
    const up = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      tool: 'fs.read',
      args: { path: '../../etc/passwd' },
    });
    expect(up.effect).toBe('deny');
    expect(up.reasons.map((r) => r.code)).toContain('args.path.escape');
    symlinkSync('/etc', join(ws, 'link'));
    const link = await gh.decide({ kind: 'tool_call', agent: 'alice', tool: 'fs.read', args: { path: 'link/passwd' } });
    expect(link.effect).toBe('deny');
    expect(link.reasons.map((r) => r.code)).toContain('args.path.symlink_escape');
  });

  it('an API call proceeds and is flagged', async () => {
    const d = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      tool: 'web.fetch',
      args: { url: 'https://api.example.com/v1/items' },
    });
    expect(d.effect).toBe('allow');
    expect(d.tier).toBe('medium');
    expect(d.flagged).toBe(true);
  });

  it('an API call to the metadata address is denied in any spelling', async () => {
    for (const url of ['https://169.254.169.254/latest', 'https://2852039166/', 'https://[::ffff:169.254.169.254]/']) {
      const d = await gh.decide({ kind: 'tool_call', agent: 'alice', tool: 'web.fetch', args: { url } });
      expect(d.effect, url).toBe('deny');
      expect(d.reasons.map((r) => r.code)).toContain('args.url.private_address');
    }
  });

  it('an agent without a grant is denied (default deny), with the deciding reason', async () => {
    const d = await gh.decide({ kind: 'tool_call', agent: 'bob', tool: 'email.send', args: { to: 'x@example.com' } });
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toContain('policy.no_permit');
  });

  it('sending an email waits for approval, is approved once for exactly those arguments and runs', async () => {
    const email = {
      kind: 'tool_call',
      agent: 'alice',
      session: 's1',
      tool: 'email.send',
      args: { to: 'bob@example.com', body: 'hi' },
    } as const;
    const first = await gh.decide(email);
    expect(first.effect).toBe('review');
    expect(first.tier).toBe('high');
    const id = first.approvalRequest!;
    expect(id).toMatch(/^apr-/);
    // The same action again reuses the pending request instead of opening another.
    expect((await gh.decide(email)).approvalRequest).toBe(id);

    const waited = gh.approvals.wait(id, { timeoutMs: 5000, pollMs: 20 });
    await gh.approvals.approve(id, 'operator:carol', 'expected mail');
    expect((await waited).status).toBe('approved');

    // Changed arguments are not covered by the approval.
    const changed = await gh.decide({ ...email, args: { to: 'eve@evil.example', body: 'hi' } });
    expect(changed.effect).not.toBe('allow');
    expect(changed.approvalRequest).not.toBe(id);
    expect(changed.reasons.map((r) => r.code)).toContain('approval.arguments_changed');

    const ok = await gh.decide(email);
    expect(ok.effect).toBe('allow');
    expect(ok.approval).toMatchObject({ id, approver: 'operator:carol', reason: 'expected mail' });
    expect((await gh.approvals.get(id)).status).toBe('used');

    // Single use: the next identical call needs a new approval.
    const again = await gh.decide(email);
    expect(again.effect).toBe('review');
    expect(again.approvalRequest).not.toBe(id);
  });

  it('an expired approval is denied', async () => {
    const email = {
      kind: 'tool_call',
      agent: 'alice',
      session: 's1',
      tool: 'email.send',
      args: { to: 'bob@example.com' },
    } as const;
    const first = await gh.decide(email);
    await gh.approvals.approve(first.approvalRequest!, 'operator:carol');
    clock.advance(16 * MIN);
    const late = await gh.decide(email);
    expect(late.effect).toBe('deny');
    expect(late.reasons.map((r) => r.code)).toContain('approval.expired');
  });

  it('a denied request denies the action', async () => {
    const email = {
      kind: 'tool_call',
      agent: 'alice',
      session: 's2',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    } as const;
    const first = await gh.decide(email);
    await gh.approvals.deny(first.approvalRequest!, 'operator:carol', 'no');
    const d = await gh.decide(email);
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toContain('approval.denied');
  });

  it('the email grant is outside its time window at night', async () => {
    clock.set(Date.UTC(2026, 0, 5, 22, 0));
    const d = await gh.decide({ kind: 'tool_call', agent: 'alice', tool: 'email.send', args: { to: 'x@example.com' } });
    expect(d.effect).toBe('deny');
  });

  it('runtime grants bump the epoch, and revocation takes effect at once', async () => {
    const e0 = await gh.currentPolicyEpoch();
    const before = await gh.decide({
      kind: 'tool_call',
      agent: 'bob',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    });
    expect(before.effect).toBe('deny');
    const g = await gh.policy.grants.grant({
      agent: 'bob',
      tools: ['email.send'],
      expiresAt: clock.now() + 60 * MIN,
      by: 'operator:carol',
    });
    expect(await gh.currentPolicyEpoch()).toBe(e0 + 1);
    const during = await gh.decide({
      kind: 'tool_call',
      agent: 'bob',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    });
    expect(during.effect).toBe('review');
    expect(during.policyEpoch).toBe(e0 + 1);
    await gh.policy.grants.revoke(g.id, 'operator:carol');
    const after = await gh.decide({
      kind: 'tool_call',
      agent: 'bob',
      tool: 'email.send',
      args: { to: 'y@example.com' },
    });
    expect(after.effect).toBe('deny');
    expect(after.policyEpoch).toBe(e0 + 2);
  });

  it('the approval-fatigue cap denies once too many requests are pending', async () => {
    for (let i = 0; i < 5; i++) {
      const d = await gh.decide({
        kind: 'tool_call',
        agent: 'alice',
        tool: 'email.send',
        args: { to: `u${i}@example.com` },
      });
      expect(d.effect).toBe('review');
    }
    const d = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      tool: 'email.send',
      args: { to: 'u9@example.com' },
    });
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toContain('approval.fatigue.pending');
  });

  it('after untrusted instructions even a low-risk read waits for a human (session trust labels raise the tier)', async () => {
    const tainted = await gh.sessions.begin('alice', 'tainted');
    tainted.writing(() => tainted.label('untrusted_instructions'));
    await gh.sessions.commit(tainted);
    const d = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      session: 'tainted',
      tool: 'fs.read',
      args: { path: 'notes.txt' },
    });
    expect(d.effect).toBe('review');
    expect(d.tier).toBe('high');
    expect(d.reasons.map((r) => r.code)).toContain('risk.label.untrusted_instructions');
    const priv = await gh.sessions.begin('alice', 'private');
    priv.writing(() => priv.label('private_data'));
    await gh.sessions.commit(priv);
    const mail = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      session: 'private',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    });
    expect(mail.effect).toBe('review');
    const read = await gh.decide({
      kind: 'tool_call',
      agent: 'alice',
      session: 'private',
      tool: 'fs.read',
      args: { path: 'notes.txt' },
    });
    expect(read.effect).toBe('allow');
  });

  it('visibleTools lists only what the agent may call (roles from the registry by default)', async () => {
    expect((await gh.policy.visibleTools('bob')).sort()).toEqual(['fs.read', 'web.fetch']);
    expect(await gh.policy.visibleTools('nobody')).toEqual([]);
    expect((await gh.policy.visibleTools('bob', ['reader'])).sort()).toEqual(['fs.read', 'web.fetch']);
    expect((await gh.policy.visibleTools('alice', ['assistant'])).sort()).toEqual([
      'email.send',
      'fs.read',
      'web.fetch',
    ]);
  });
});
