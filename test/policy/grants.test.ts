import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { LimitsSchema, RiskSchema } from '../../src/config/sections/policy.js';
import { ActionSchema } from '../../src/core/action.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Rule } from '../../src/policy/compile.js';
import { EPOCH_KEY, GrantStore, resourceCovers, toolCovers } from '../../src/policy/grants.js';
import { Limits } from '../../src/policy/limits.js';
import { assessRisk } from '../../src/policy/risk.js';
import { PolicyEngine } from '../../src/policy/stage.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

const HOUR = 3_600_000;

function tempFile(): { file: string; cleanup: () => void } {
  const t = tempDir();
  return { file: join(t.dir, 'gatehouse.db'), cleanup: t.cleanup };
}

describe('runtime grants and delegation', () => {
  let store: Store;
  let clock: ManualClock;
  let grants: GrantStore;
  const events: Array<{ type: string; epoch?: number }> = [];
  beforeEach(async () => {
    store = await openTestStore();
    clock = new ManualClock(Date.UTC(2026, 0, 5, 10));
    events.length = 0;
    grants = await GrantStore.open(store, clock, { append: async (e) => void events.push(e) }, 3);
  });
  afterEach(() => store.close());

  it('every change bumps the policy epoch and is audited with it', async () => {
    expect(await grants.epoch()).toBe(0);
    const g = await grants.grant({ agent: 'a', tools: ['fs.read'], by: 'operator:o', expiresAt: clock.now() + HOUR });
    expect(await grants.epoch()).toBe(1);
    expect(await store.getMeta(EPOCH_KEY)).toBe('1');
    await grants.revoke(g.id, 'operator:o');
    expect(await grants.epoch()).toBe(2);
    expect(events.map((e) => [e.type, e.epoch])).toEqual([
      ['policy.grant_created', 1],
      ['policy.grant_revoked', 2],
    ]);
  });

  it('lists active grants; expired and revoked ones drop out', async () => {
    await grants.grant({ agent: 'a', tools: ['fs.read'], by: 'o', expiresAt: clock.now() + HOUR });
    const b = await grants.grant({ agent: 'b', tools: ['fs.read'], by: 'o' });
    expect((await grants.active()).length).toBe(2);
    clock.advance(2 * HOUR);
    expect((await grants.active()).map((g) => g.agent)).toEqual(['b']);
    await grants.revoke(b.id, 'o');
    expect(await grants.active()).toEqual([]);
    expect((await grants.list({ all: true })).length).toBe(2);
  });

  it('delegation may only narrow: tools, resources, expiry; the parent condition always applies', async () => {
    const parent = await grants.grant({
      agent: 'lead',
      tools: ['fs.*'],
      resources: ['workspace/project/**'],
      when: 'context.hour < 20',
      delegable: true,
      maxDepth: 2,
      expiresAt: clock.now() + 4 * HOUR,
      by: 'o',
    });
    const child = await grants.delegate({
      parent: parent.id,
      to: 'helper',
      tools: ['fs.read'],
      resources: ['workspace/project/docs/**'],
      when: 'context.hour >= 9',
      by: 'agent:lead',
      byAgent: 'lead',
    });
    expect(child.depth).toBe(1);
    expect(child.when).toBe('(context.hour < 20) && (context.hour >= 9)');
    expect(child.expiresAt).toBe(parent.expiresAt);
    await expect(grants.delegate({ parent: parent.id, to: 'h2', tools: ['web.fetch'], by: 'o' })).rejects.toMatchObject(
      { code: 'grant.not_subset' },
    );
    await expect(
      grants.delegate({ parent: parent.id, to: 'h2', resources: ['workspace/**'], by: 'o' }),
    ).rejects.toMatchObject({
      code: 'grant.not_subset',
    });
    await expect(
      grants.delegate({ parent: parent.id, to: 'h2', expiresAt: clock.now() + 8 * HOUR, by: 'o' }),
    ).rejects.toMatchObject({
      code: 'grant.not_subset',
    });
    await expect(
      grants.delegate({ parent: parent.id, to: 'h2', by: 'agent:mallory', byAgent: 'mallory' }),
    ).rejects.toMatchObject({
      code: 'grant.not_holder',
    });
  });

  it('enforces max_depth and delegable, and revocation cascades to every descendant', async () => {
    const root = await grants.grant({ agent: 'a', tools: ['fs.read'], delegable: true, maxDepth: 2, by: 'o' });
    const c1 = await grants.delegate({ parent: root.id, to: 'b', delegable: true, by: 'o' });
    const c2 = await grants.delegate({ parent: c1.id, to: 'c', by: 'o' });
    expect(c2.depth).toBe(2);
    await expect(grants.delegate({ parent: c2.id, to: 'd', by: 'o' })).rejects.toMatchObject({
      code: 'grant.not_delegable',
    });
    const plain = await grants.grant({ agent: 'x', tools: ['fs.read'], by: 'o' });
    await expect(grants.delegate({ parent: plain.id, to: 'y', by: 'o' })).rejects.toMatchObject({
      code: 'grant.not_delegable',
    });
    const deep = await grants.grant({ agent: 'p', tools: ['fs.read'], delegable: true, maxDepth: 1, by: 'o' });
    await expect(grants.delegate({ parent: deep.id, to: 'q', delegable: true, by: 'o' })).rejects.toMatchObject({
      code: 'grant.max_depth',
    });
    const revoked = await grants.revoke(root.id, 'o');
    expect(revoked.sort()).toEqual([root.id, c1.id, c2.id].sort());
    expect((await grants.active()).map((g) => g.id).sort()).toEqual([plain.id, deep.id].sort());
    await expect(grants.delegate({ parent: c1.id, to: 'z', by: 'o' })).rejects.toMatchObject({ code: 'grant.revoked' });
  });

  it('refuses malformed input and conditions that do not type-check', async () => {
    await expect(grants.grant({ agent: 'a b', tools: ['fs.read'], by: 'o' })).rejects.toMatchObject({
      code: 'input.invalid',
    });
    await expect(grants.grant({ agent: 'a', tools: [], by: 'o' })).rejects.toMatchObject({ code: 'input.invalid' });
    await expect(grants.grant({ agent: 'a', tools: ['fs.read'], when: 'nope ==', by: 'o' })).rejects.toMatchObject({
      code: 'input.invalid',
    });
    await expect(
      grants.grant({ agent: 'a', tools: ['fs.read'], expiresAt: clock.now() - 1, by: 'o' }),
    ).rejects.toMatchObject({
      code: 'input.invalid',
    });
    await expect(grants.grant({ agent: 'a', tools: ['fs.read'], maxDepth: 9, by: 'o' })).rejects.toMatchObject({
      code: 'input.invalid',
    });
    expect(await grants.epoch()).toBe(0);
  });

  it('subset checks are provable only', () => {
    expect(toolCovers('fs.*', 'fs.read')).toBe(true);
    expect(toolCovers('fs.*', 'fs.x.*')).toBe(true);
    expect(toolCovers('fs.read', 'fs.*')).toBe(false);
    expect(toolCovers('*', 'anything')).toBe(true);
    expect(toolCovers('f?.read', 'fs.read')).toBe(false);
    expect(resourceCovers('workspace/**', 'workspace/a/**')).toBe(true);
    expect(resourceCovers('workspace/*', 'workspace/a')).toBe(true);
    expect(resourceCovers('workspace/*', 'workspace/a/b')).toBe(false);
    expect(resourceCovers('workspace/*.md', 'workspace/x.md')).toBe(true);
    expect(resourceCovers('workspace/*.md', 'workspace/*')).toBe(false);
    expect(resourceCovers('workspace/a/**', 'workspace/**')).toBe(false);
  });
});

describe('limits', () => {
  it.each(['memory', 'the store'])(
    'token buckets per agent and per tool deny with a reason naming the limit, and refill (%s)',
    async (where) => {
      const store = where === 'memory' ? undefined : await openTestStore();
      const cfg = LimitsSchema.parse({
        per_agent: { tool_calls_per_minute: 2 },
        per_tool: { 'web.*': { calls_per_minute: 3 } },
      });
      // Shared explicitly, so the bucket statements run on SQLite too (a gateway shares them on PostgreSQL).
      const limits = await Limits.open(cfg, store, { sharedRateLimits: store !== undefined });
      const now = Date.UTC(2026, 0, 5);
      const call = async (agent: string, tool: string, t = now) => {
        const c = await limits.check({ agent, tool, cost: 1, egressBytes: 0, now: t });
        if (c.ok) for (const e of c.effects) await e.commit();
        return c;
      };
      expect((await call('a', 'fs.read')).ok).toBe(true);
      expect((await call('a', 'fs.read')).ok).toBe(true);
      const third = await call('a', 'fs.read');
      expect(third.ok).toBe(false);
      expect(third.reasons[0]).toMatchObject({
        code: 'limits.rate.agent',
        ruleId: 'limits.per_agent.tool_calls_per_minute',
      });
      expect((await call('a', 'fs.read', now + 30_000)).ok).toBe(true);
      expect((await call('b', 'web.fetch')).ok).toBe(true);
      expect((await call('c', 'web.fetch')).ok).toBe(true);
      expect((await call('d', 'web.fetch')).ok).toBe(true);
      expect((await call('e', 'web.fetch')).reasons.map((r) => r.code)).toEqual(['limits.rate.tool']);
      if (store) {
        // Another gateway on the same store draws from the same buckets: the limit is per agent, not per process.
        const other = await Limits.open(cfg, store, { sharedRateLimits: true });
        const c = await other.check({ agent: 'e', tool: 'web.fetch', cost: 1, egressBytes: 0, now });
        expect(c.reasons.map((r) => r.code)).toEqual(['limits.rate.tool']);
        // A bucket emptied between judging and commit is re-checked at commit: the call is refused, not overdrawn.
        const judged = await other.check({ agent: 'z', tool: 'fs.read', cost: 1, egressBytes: 0, now });
        expect(judged.ok).toBe(true);
        expect((await call('z', 'fs.read')).ok).toBe(true);
        expect((await call('z', 'fs.read')).ok).toBe(true);
        expect(await judged.effects[0]!.commit()).toMatchObject({ ok: false, reason: { code: 'limits.rate.agent' } });
        await store.close();
      }
    },
  );

  it('budgets count calls and cost units per window, persisted in the store; a denied call costs nothing', async () => {
    const store = await openTestStore();
    const cfg = LimitsSchema.parse({
      budgets: [
        { name: 'mail-daily', tools: ['email.send'], window: '24h', max_calls: 2 },
        { name: 'spend', window: '1h', max_cost: 10 },
      ],
      per_agent: { egress_bytes_per_hour: 1000 },
    });
    const now = Date.UTC(2026, 0, 5, 10);
    const run = async (l: Limits, tool: string, cost: number, egressBytes = 0, t = now) => {
      const c = await l.check({ agent: 'a', tool, cost, egressBytes, now: t });
      if (c.ok) for (const e of c.effects) await e.commit();
      return c;
    };
    const l1 = await Limits.open(cfg, store);
    expect((await run(l1, 'email.send', 1)).ok).toBe(true);
    expect((await run(l1, 'email.send', 1)).ok).toBe(true);
    // Budgets are charged in the store at commit, so another process on the same store sees them at once.
    const l2 = await Limits.open(cfg, store);
    const third = await run(l2, 'email.send', 1);
    expect(third.ok).toBe(false);
    expect(third.reasons[0]).toMatchObject({ code: 'limits.budget', evidence: 'mail-daily' });
    expect(third.reasons[0]!.message).toContain('mail-daily');
    expect((await run(l2, 'fs.read', 7)).ok).toBe(true);
    expect((await run(l2, 'fs.read', 5)).reasons.map((r) => r.evidence)).toEqual(['spend']);
    expect((await run(l2, 'fs.read', 1, 0, now + 2 * HOUR)).ok).toBe(true);
    expect((await run(l2, 'http.post', 0, 800)).ok).toBe(true);
    const over = await run(l2, 'http.post', 0, 300);
    expect(over.reasons[0]).toMatchObject({ code: 'limits.egress', evidence: 'egress_bytes_per_hour' });
    await store.close();
  });

  it('a store from before grant call ids keeps its calls counted, and new calls are undone by their own id', async () => {
    const { file, cleanup } = tempFile();
    const old = await openTestStore(file);
    // The limits tables as the first two migrations left them, with a call already logged.
    await old.migrate('limits', [
      {
        version: 1,
        name: 'usage windows',
        sql: 'CREATE TABLE limits_usage (budget TEXT NOT NULL, key TEXT NOT NULL, window_start INTEGER NOT NULL, calls INTEGER NOT NULL, cost REAL NOT NULL, PRIMARY KEY (budget, key, window_start));',
      },
      {
        version: 2,
        name: 'grant call log',
        sql: 'CREATE TABLE limits_grant_calls (rule TEXT NOT NULL, agent TEXT NOT NULL, at INTEGER NOT NULL); CREATE INDEX limits_grant_calls_by_rule ON limits_grant_calls (rule, agent, at);',
      },
    ]);
    const now = Date.UTC(2026, 0, 5, 10);
    await old.run('INSERT INTO limits_grant_calls (rule, agent, at) VALUES (?, ?, ?)', ['r1', 'a', now - 1000]);
    const limits = await Limits.open(LimitsSchema.parse({}), old);
    expect(await old.schemaVersion('limits')).toBe(4);
    const ids = await old.all<{ id: string | null }>('SELECT id FROM limits_grant_calls');
    expect(ids).toHaveLength(1);
    expect(ids[0]!.id).toMatch(/^[0-9a-f]{32}$/);
    const rule = { id: 'r1', maxCallsPerHour: 2 } as Rule;
    expect(await limits.callsThisHour(rule, 'a', now)).toBe(1);
    const charge = limits.grantCharge([rule], 'a', now)!;
    expect(await charge.commit()).toEqual({ ok: true });
    expect(await limits.callsThisHour(rule, 'a', now)).toBe(2);
    expect(await charge.commit()).toMatchObject({ ok: false, reason: { code: 'policy.grant.max_calls' } });
    await charge.undo!();
    expect(await limits.callsThisHour(rule, 'a', now)).toBe(1);
    await old.close();
    cleanup();
  });
});

describe('risk tiers', () => {
  const cfg = RiskSchema.parse({});
  it('start at the tool tier and are raised by screening, anomalies and session labels', () => {
    expect(assessRisk({ toolTier: 'low', sink: 'none', labels: [] }, cfg)).toEqual({ tier: 'low', reasons: [] });
    expect(assessRisk({ toolTier: 'low', sink: 'none', screenScore: 2, labels: [] }, cfg).tier).toBe('medium');
    expect(assessRisk({ toolTier: 'low', sink: 'none', screenScore: 5, labels: [] }, cfg).tier).toBe('high');
    expect(assessRisk({ toolTier: 'low', sink: 'none', anomalyScore: 8, labels: [] }, cfg).tier).toBe('high');
    const untrusted = assessRisk({ toolTier: 'medium', sink: 'none', labels: ['untrusted_instructions'] }, cfg);
    expect(untrusted.tier).toBe('high');
    expect(untrusted.reasons.map((r) => r.code)).toEqual(['risk.label.untrusted_instructions']);
    expect(assessRisk({ toolTier: 'low', sink: 'external', labels: ['private_data'] }, cfg).tier).toBe('high');
    expect(assessRisk({ toolTier: 'low', sink: 'none', labels: ['private_data'] }, cfg).tier).toBe('low');
    // Never lowered.
    expect(assessRisk({ toolTier: 'high', sink: 'none', labels: [] }, cfg).tier).toBe('high');
  });
});

describe('delegation from a delegable grant of the configuration', () => {
  it('the holder delegates a subset; others cannot; the child lapses when the rule stops being delegable', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'gh-'));
    mkdirSync(join(ws, 'docs'));
    writeFileSync(join(ws, 'docs', 'a.md'), 'a');
    writeFileSync(join(ws, 'b.md'), 'b');
    const store = await openTestStore();
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 10));
    const config = (delegable: boolean) =>
      ConfigSchema.parse({
        version: 1,
        identity: { agents: { lead: { roles: ['team'] } } },
        roles: {
          team: {
            grants: [{ id: 'team-read', tools: ['fs.*'], resources: ['workspace/**'], delegable, max_depth: 2 }],
          },
          solo: { grants: [{ id: 'solo-read', tools: ['fs.read'] }] },
        },
        tools: { 'fs.read': { risk: 'low', args: { path: {} } } },
      });
    const roles = (agent: string) => (agent === 'lead' ? ['team'] : []);
    const engine = await PolicyEngine.open({
      config: config(true),
      store,
      clock,
      workspace: ws,
      registeredRoles: roles,
    });
    const read = async (path: string) =>
      (
        await engine.evaluate(
          ActionSchema.parse({ kind: 'tool_call', agent: 'helper', tool: 'fs.read', args: { path } }),
          { agent: 'helper', roles: [] },
          [],
        )
      ).effect;
    expect(await read('docs/a.md')).toBe('deny');
    const child = await engine.delegate({
      parent: 'rule:team-read',
      to: 'helper',
      tools: ['fs.read'],
      resources: ['workspace/docs/**'],
      byAgent: 'lead',
      by: 'agent:lead',
    });
    expect(child).toMatchObject({ parentId: null, originRule: 'team-read', depth: 1 });
    expect(await read('docs/a.md')).toBe('allow');
    expect(await read('b.md')).toBe('deny');
    await expect(
      engine.delegate({ parent: 'rule:team-read', to: 'x', byAgent: 'stranger', by: 'agent:stranger' }),
    ).rejects.toMatchObject({
      code: 'grant.not_holder',
    });
    await expect(
      engine.delegate({ parent: 'rule:team-read', to: 'x', tools: ['web.fetch'], byAgent: 'lead', by: 'agent:lead' }),
    ).rejects.toMatchObject({ code: 'grant.not_subset' });
    await expect(
      engine.delegate({ parent: 'rule:solo-read', to: 'x', byAgent: 'lead', by: 'o' }),
    ).rejects.toMatchObject({
      code: 'grant.not_delegable',
    });
    // The file changes: team-read is no longer delegable, so what was delegated from it no longer applies.
    const later = await PolicyEngine.open({
      config: config(false),
      store,
      clock,
      workspace: ws,
      registeredRoles: roles,
    });
    const readLater = await later.evaluate(
      ActionSchema.parse({ kind: 'tool_call', agent: 'helper', tool: 'fs.read', args: { path: 'docs/a.md' } }),
      { agent: 'helper', roles: [] },
      [],
    );
    expect(readLater.effect).toBe('deny');
    await store.close();
    rmSync(ws, { recursive: true, force: true });
  });
});
