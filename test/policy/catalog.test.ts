import { describe, expect, it } from 'vitest';
import { ToolsSchema } from '../../src/config/sections/tools.js';
import { ActionSchema } from '../../src/core/action.js';
import { ManualClock } from '../../src/core/clock.js';
import type { StageContext } from '../../src/core/pipeline.js';
import { SessionState } from '../../src/core/session.js';
import { createCatalogStage } from '../../src/policy/catalog.js';

function ctx(tool: string): StageContext {
  const action = ActionSchema.parse({ kind: 'tool_call', agent: 'a', tool });
  return {
    action,
    original: action,
    actionHash: 'h',
    session: new SessionState('s', 'a', 0),
    clock: new ManualClock(),
    credentials: { kind: 'host' },
    facts: {},
    prior: [],
  };
}

describe('the tool catalogue stage', () => {
  const stage = createCatalogStage(
    ToolsSchema.parse({
      'fs.read': { risk: 'low' },
      'web.fetch': { risk: 'medium' },
      'email.send': { risk: 'high', sandbox: 'default' },
    }),
  );

  it('denies tools that are not in the catalogue', async () => {
    const v = await stage.run(ctx('rm.everything'));
    expect(v.effect).toBe('deny');
    expect(v.reasons.map((r) => r.code)).toEqual(['catalogue.tool_unknown']);
  });

  it('gives known tools their configured tier: low allows, medium flags, high asks a human', async () => {
    expect(await stage.run(ctx('fs.read'))).toMatchObject({ effect: 'allow', tier: 'low', facts: { toolTier: 'low' } });
    expect(await stage.run(ctx('web.fetch'))).toMatchObject({ effect: 'allow', tier: 'medium', flag: true });
    expect(await stage.run(ctx('email.send'))).toMatchObject({
      effect: 'review',
      tier: 'high',
      facts: { toolTier: 'high', sandboxProfile: 'default' },
    });
  });
});
