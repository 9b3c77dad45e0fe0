import { afterAll, describe, expect, it } from 'vitest';
import { ActionSchema } from '../../src/core/action.js';
import { systemClock } from '../../src/core/clock.js';
import { Pipeline } from '../../src/core/pipeline.js';
import { SessionState } from '../../src/core/session.js';
import { createSandboxStage } from '../../src/sandbox/index.js';
import { cleanup, makeSandbox } from './helpers.js';

afterAll(cleanup);

async function decide(sbConfig: Record<string, unknown>, sandboxProfile: string | undefined, kind = 'tool_call') {
  const { sb } = makeSandbox(sbConfig);
  const pipeline = new Pipeline([createSandboxStage(sb)]);
  const action = ActionSchema.parse({ kind, agent: 'a', tool: 'shell.exec', args: {} });
  return pipeline.run({
    original: action,
    actionHash: 'h',
    session: new SessionState('default', 'a', systemClock.now()),
    clock: systemClock,
    credentials: { kind: 'host' },
    facts: sandboxProfile ? { sandboxProfile } : {},
  });
}

describe('sandbox stage', () => {
  it('allows a sandboxed tool once the self-test has passed', async () => {
    const r = await decide({}, 'default');
    expect(r.effect).toBe('allow');
    expect(r.reasons.map((x) => x.code)).toEqual(['sandbox.ready']);
  });

  it('denies when the sandbox cannot be guaranteed, naming the failed check', async () => {
    const r = await decide({ bwrap: '/nonexistent/bwrap' }, 'default');
    expect(r.effect).toBe('deny');
    expect(r.reasons[0]).toMatchObject({ code: 'sandbox.unavailable', evidence: 'bwrap.missing' });
  });

  it('denies an unknown profile and passes tools without one', async () => {
    expect((await decide({}, 'nope')).reasons[0]?.code).toBe('sandbox.unknown_profile');
    expect((await decide({ bwrap: '/nonexistent/bwrap' }, undefined)).effect).toBe('allow');
  });

  it('flags the explicit unsandboxed opt-in', async () => {
    const r = await decide({ unsandboxed: true, bwrap: '/nonexistent/bwrap' }, 'default');
    expect(r.effect).toBe('allow');
    expect(r.flagged).toBe(true);
    expect(r.reasons[0]?.code).toBe('sandbox.unsandboxed');
  });
});
