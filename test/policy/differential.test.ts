import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/compile.js';
import { Authorizer } from '../../src/policy/evaluate.js';
import { generate, rng } from './generate.js';

const REQUESTS = 10_000;

describe('differential: our engine agrees with Cedar (cedar-wasm), erroring forbids aside, on random requests', () => {
  it(`agrees on the decision and the deciding rules of ${REQUESTS} requests over a generated policy set`, () => {
    const gen = generate(20260105, {
      roles: 10,
      agents: 30,
      groups: 4,
      toolsPerGroup: 5,
      permits: 160,
      forbids: 40,
      conditionShare: 0.5,
    });
    const parsed = preparsePolicySet('diff', { staticPolicies: gen.cedarPolicies });
    expect(parsed.type, JSON.stringify(parsed)).toBe('success');
    const engine = new Authorizer(compilePolicy({ roles: gen.roles, policy: gen.policy }));
    const r = rng(7);
    let allows = 0;
    let forbidden = 0;
    let withErrors = 0;
    let forbidErrors = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const req = gen.request(r);
      const ours = engine.authorize({
        agent: req.agent,
        roles: req.roles,
        tool: req.tool,
        kind: 'tool_call',
        args: {},
        resource: req.resource,
        context: req.context,
        session: { id: 's', labels: [] },
        now: Date.UTC(2026, 0, 5, 12),
      });
      const answer = statefulIsAuthorized({
        principal: { type: 'Gh::Agent', id: req.agent },
        action: { type: 'Gh::Action', id: req.tool },
        resource: { type: 'Gh::File', id: req.resource },
        context: req.context as Record<string, never>,
        preparsedPolicySetId: 'diff',
        entities: gen.cedarEntities(req) as never,
      });
      if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
      const theirs = answer.response;
      const deciding = (ours.decision === 'allow' ? ours.permits : ours.forbids).slice().sort();
      // Where we deliberately differ: a forbid whose condition errors denies (Cedar skips it), and is deciding.
      const erroredForbids = theirs.diagnostics.errors.map((e) => e.policyId).filter((id) => id.startsWith('f'));
      const cedarForbids = theirs.decision === 'deny' ? theirs.diagnostics.reason : [];
      const expected = erroredForbids.length > 0 ? 'deny' : theirs.decision;
      const cedarDeciding = (
        erroredForbids.length > 0 ? [...cedarForbids, ...erroredForbids] : theirs.diagnostics.reason
      )
        .slice()
        .sort();
      if (ours.decision !== expected || deciding.join() !== cedarDeciding.join()) {
        mismatches.push(
          `${JSON.stringify(req)}: ours ${ours.decision} [${deciding}] cedar ${theirs.decision} [${cedarDeciding}]`,
        );
      }
      if (ours.decision === 'allow') allows++;
      if (ours.forbids.length > 0) forbidden++;
      if (theirs.diagnostics.errors.length > 0) withErrors++;
      if (erroredForbids.length > 0) forbidErrors++;
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The generated set exercises every branch: allows, forbids overriding permits, and condition errors.
    expect(allows).toBeGreaterThan(REQUESTS * 0.05);
    expect(forbidden).toBeGreaterThan(REQUESTS * 0.02);
    expect(withErrors).toBeGreaterThan(REQUESTS * 0.01);
    expect(forbidErrors).toBeGreaterThan(REQUESTS * 0.002);
  }, 60_000);
});
