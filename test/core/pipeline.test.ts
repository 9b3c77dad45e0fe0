import { describe, expect, it } from 'vitest';
import { ActionSchema } from '../../src/core/action.js';
import { ManualClock } from '../../src/core/clock.js';
import { foldVerdicts, type Verdict } from '../../src/core/decision.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { Pipeline, type Stage } from '../../src/core/pipeline.js';
import { SessionState } from '../../src/core/session.js';

const action = ActionSchema.parse({ kind: 'tool_call', agent: 'a1', tool: 't', args: { x: 1 } });
const clock = new ManualClock();

function run(stages: Stage[]) {
  return new Pipeline(stages).run({
    original: action,
    actionHash: 'h',
    session: new SessionState('s', 'a1', clock.now()),
    clock,
    credentials: { kind: 'host' },
  });
}

const v = (effect: Verdict['effect'], extra: Partial<Verdict> = {}): Verdict => ({
  stage: 'x',
  effect,
  risk: 0,
  reasons: [],
  ...extra,
});

describe('foldVerdicts', () => {
  it('any deny wins over review and allow', () => {
    expect(foldVerdicts([v('allow'), v('review'), v('deny'), v('allow')]).effect).toBe('deny');
  });
  it('a review without a deny asks a human', () => {
    expect(foldVerdicts([v('allow'), v('review')]).effect).toBe('review');
  });
  it('all allow is allow', () => {
    expect(foldVerdicts([v('allow'), v('allow')]).effect).toBe('allow');
  });
  it('a high tier asks a human even when every stage allows', () => {
    const f = foldVerdicts([v('allow', { tier: 'high' })]);
    expect(f.effect).toBe('review');
    expect(f.tier).toBe('high');
  });
  it('a medium tier allows and flags', () => {
    const f = foldVerdicts([v('allow', { tier: 'medium' }), v('allow', { tier: 'low' })]);
    expect(f).toMatchObject({ effect: 'allow', tier: 'medium', flagged: true });
  });
  it('an approval on a verdict satisfies review, but never a deny', () => {
    const approval = { id: 'ap1', approver: 'op' };
    expect(foldVerdicts([v('review', { tier: 'high' }), v('allow', { approval })])).toMatchObject({
      effect: 'allow',
      approval,
    });
    const denied = foldVerdicts([v('review'), v('allow', { approval }), v('deny')]);
    expect(denied.effect).toBe('deny');
    expect(denied.approval).toBeUndefined();
  });
  it('risk is the maximum, capped at 10', () => {
    expect(foldVerdicts([v('allow', { risk: 3 }), v('allow', { risk: 12 })]).risk).toBe(10);
  });
});

describe('Pipeline', () => {
  it('a throwing stage is a deny with internal.error, and later stages do not run', async () => {
    let ran = false;
    const r = await run([
      {
        name: 'boom',
        run: () => {
          throw new Error('kaput');
        },
      },
      {
        name: 'after',
        run: () => {
          ran = true;
          return v('allow');
        },
      },
    ]);
    expect(r.effect).toBe('deny');
    expect(r.reasons[0]).toMatchObject({ code: 'internal.error' });
    expect(r.reasons[0]!.message).toContain('boom');
    expect(ran).toBe(false);
  });
  it('a store outage inside a stage is a deny with the stable code store.unavailable', async () => {
    const r = await run([
      {
        name: 'limits',
        run: async () => Promise.reject(new StoreUnavailableError('store postgres://gh@db:5432/gh is unreachable')),
      },
    ]);
    expect(r.effect).toBe('deny');
    expect(r.reasons[0]!.code).toBe('store.unavailable');
  });
  it('a rejected promise is a deny too', async () => {
    const r = await run([{ name: 'async', run: async () => Promise.reject(new Error('no')) }]);
    expect(r.effect).toBe('deny');
    expect(r.reasons[0]!.code).toBe('internal.error');
  });
  it('a stage returning something that is not a verdict fails closed', async () => {
    const bad = { name: 'bad', run: () => ({ effect: 'allow' }) as unknown as Verdict };
    const r = await run([bad]);
    expect(r.effect).toBe('deny');
    expect(r.reasons[0]!.code).toBe('internal.error');
  });
  it('hands facts and patches forward and returns the patched action', async () => {
    const seen: unknown[] = [];
    const r = await run([
      { name: 'a', run: () => v('allow', { facts: { screenScore: 3 }, patch: { args: { x: 2 } } }) },
      {
        name: 'b',
        run: (ctx) => {
          seen.push(ctx.facts.screenScore, ctx.action.args, ctx.original.args, ctx.prior.length);
          return v('allow');
        },
      },
    ]);
    expect(seen).toEqual([3, { x: 2 }, { x: 1 }, 1]);
    expect(r.action.args).toEqual({ x: 2 });
    expect(r.facts.screenScore).toBe(3);
  });
  it('skips stages that do not judge this kind of action', async () => {
    const r = await run([{ name: 'inputs-only', kinds: ['input'], run: () => v('deny') }]);
    expect(r.effect).toBe('allow');
    expect(r.verdicts).toHaveLength(0);
  });
});
