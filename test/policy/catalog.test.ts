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

describe('the catalogue stage on tool listings (what an MCP server offers)', () => {
  const listing = (args: Record<string, unknown>, facts: StageContext['facts'] = {}): StageContext => {
    const action = ActionSchema.parse({ kind: 'tool_listing', agent: 'a', tool: 'fix.calc', args });
    return { ...ctx('fix.calc'), action, original: action, facts };
  };
  const base = { server: 'fix', name: 'calc', exposed: 'calc', hash: 'h2', pin: { status: 'match', hash: 'h2' } };
  const changed = { ...base, pin: { status: 'changed', hash: 'h1', changed: ['description'] } };
  const block = createCatalogStage({}, { on_pin_violation: 'block', on_poisoned_description: 'block' });
  const lenient = createCatalogStage({}, { on_pin_violation: 'review', on_poisoned_description: 'flag' });
  const codes = (v: { reasons: { code: string }[] }) => v.reasons.map((r) => r.code);

  it('denies a shadowed name, and a changed definition under block; sends it for review under review', async () => {
    const shadowed = await block.run(listing({ ...base, pin: undefined, shadowedBy: 'first' }));
    expect(shadowed).toMatchObject({ effect: 'deny' });
    expect(codes(shadowed)).toEqual(['mcp.tool.shadowed']);
    const denied = await block.run(listing(changed));
    expect(codes(denied)).toEqual(['mcp.pin.violation']);
    expect(denied.reasons[0]!.evidence).toBe('description changed');
    const held = await lenient.run(listing(changed));
    expect(held).toMatchObject({ effect: 'review', tier: 'high' });
    expect(codes(held)).toEqual(['mcp.pin.review']);
    // A change an operator denied stays denied in either mode.
    expect(codes(await lenient.run(listing({ ...changed, pin: { ...changed.pin, rejected: true } })))).toEqual([
      'mcp.pin.violation',
    ]);
  });

  it('judges the screen stage’s grade: poisoning families deny under block, flag under flag; others only flag', async () => {
    const poisoned = { screenScore: 3, screenAlert: { level: 'review' as const, categories: ['exfiltration'] } };
    expect(await block.run(listing(base, poisoned))).toMatchObject({ effect: 'deny' });
    expect(await lenient.run(listing(base, poisoned))).toMatchObject({ effect: 'allow', flag: true });
    const imperative = { screenScore: 2, screenAlert: { level: 'review' as const, categories: ['pressure'] } };
    const v = await block.run(listing(base, imperative));
    expect(v).toMatchObject({ effect: 'allow', flag: true });
    expect(codes(v)).toEqual(['mcp.tool.poisoned']);
    expect(await block.run(listing(base))).toMatchObject({ effect: 'allow', reasons: [] });
  });

  it('flags the same name on several servers and descriptions naming other servers’ tools', async () => {
    const v = await block.run(listing({ ...base, sameName: ['ev'], mentions: ['ev.get-sum'] }));
    expect(v).toMatchObject({ effect: 'allow', flag: true });
    expect(codes(v)).toEqual(['mcp.shadowing.duplicate_name', 'mcp.shadowing.cross_reference']);
  });

  it('denies a malformed listing (fail closed)', async () => {
    const v = await block.run(listing({ server: 'fix' }));
    expect(v).toMatchObject({ effect: 'deny' });
    expect(codes(v)).toEqual(['catalogue.listing_invalid']);
  });
});
