import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { testStoreOptions } from '../helpers/store.js';
import { tempDir } from '../helpers/tmp.js';

describe('the gate and limits through decide()', () => {
  let tmp: ReturnType<typeof tempDir>;
  let gh: Gatehouse;
  let clock: ManualClock;

  beforeEach(async () => {
    tmp = tempDir();
    clock = new ManualClock(Date.UTC(2026, 0, 5, 10));
    gh = await Gatehouse.open({
      ...testStoreOptions(),
      config: {
        version: 1,
        identity: { agents: { ops: { roles: ['dba'] }, bot: { roles: ['caller'] } } },
        roles: {
          dba: { grants: [{ id: 'dba', tools: ['db.*'], audit: 'verbose' }] },
          caller: { grants: [{ id: 'limited', tools: ['api.call'], constraints: { max_calls_per_hour: 2 } }] },
        },
        tools: {
          'db.drop': { risk: 'high', destructive: true, dry_run: 'db.plan' },
          'db.plan': { risk: 'low' },
          'db.query': { risk: 'low', cost: 4 },
          'api.call': { risk: 'low' },
        },
        limits: { budgets: [{ name: 'db-spend', tools: ['db.*'], window: '1h', max_cost: 10 }] },
      },
      data: join(tmp.dir, 'data'),
      clock,
    });
  });
  afterEach(async () => {
    await gh.close();
    tmp.cleanup();
  });

  it('runs the dry-run variant of a destructive tool and shows its result with the approval request', async () => {
    const seen: string[] = [];
    gh.approvals.setDryRunner(async (a) => {
      seen.push(a.tool ?? '');
      return { wouldDrop: a.args?.table, rows: 1200 };
    });
    const d = await gh.decide({ kind: 'tool_call', agent: 'ops', tool: 'db.drop', args: { table: 'users' } });
    expect(d.effect).toBe('review');
    expect(seen).toEqual(['db.plan']);
    expect((await gh.approvals.get(d.approvalRequest!)).dryRun).toEqual({
      tool: 'db.plan',
      status: 'done',
      result: { wouldDrop: 'users', rows: 1200 },
    });
  });

  it('records a failing dry run without blocking the request', async () => {
    gh.approvals.setDryRunner(async () => {
      throw new Error('planner offline');
    });
    const d = await gh.decide({ kind: 'tool_call', agent: 'ops', tool: 'db.drop', args: { table: 't' } });
    expect(d.effect).toBe('review');
    expect((await gh.approvals.get(d.approvalRequest!)).dryRun).toMatchObject({
      status: 'failed',
      error: 'planner offline',
    });
  });

  it('a verbose grant flags its decisions; a cost budget denies with a reason naming it', async () => {
    const q = { kind: 'tool_call', agent: 'ops', tool: 'db.query', args: { sql: 'select 1' } } as const;
    const first = await gh.decide(q);
    expect(first).toMatchObject({ effect: 'allow', flagged: true });
    expect((await gh.decide(q)).effect).toBe('allow');
    const third = await gh.decide(q);
    expect(third.effect).toBe('deny');
    const reason = third.reasons.find((r) => r.code === 'limits.budget');
    expect(reason?.message).toContain('db-spend');
    clock.advance(3_600_000);
    expect((await gh.decide(q)).effect).toBe('allow');
  });

  it('a grant with max_calls_per_hour stops permitting once used up', async () => {
    const call = { kind: 'tool_call', agent: 'bot', tool: 'api.call' } as const;
    expect((await gh.decide(call)).effect).toBe('allow');
    expect((await gh.decide(call)).effect).toBe('allow');
    const third = await gh.decide(call);
    expect(third.effect).toBe('deny');
    expect(third.reasons.map((r) => r.code)).toContain('policy.grant.limit');
    clock.advance(3_600_001);
    expect((await gh.decide(call)).effect).toBe('allow');
  });

  it('every decision and approval event in the audit log carries the policy epoch', async () => {
    const d = await gh.decide({ kind: 'tool_call', agent: 'ops', tool: 'db.drop', args: { table: 'x' } });
    await gh.approvals.approve(d.approvalRequest!, 'operator:o');
    await gh.audit.flush();
    const lines = readFileSync(join(tmp.dir, 'data', 'audit', 'seg-00000001.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const events = lines.map((l) => JSON.parse(l) as { type: string; epoch?: number });
    const relevant = events.filter((e) => e.type === 'decision' || e.type.startsWith('approval.'));
    expect(relevant.map((e) => e.type).sort()).toEqual(['approval.granted', 'approval.requested', 'decision']);
    for (const e of relevant) expect(e.epoch).toBe(d.policyEpoch);
  });
});
