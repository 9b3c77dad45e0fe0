import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { PolicySchema, RoleSchema, RolesSchema } from '../../src/config/sections/policy.js';
import { ConfigError } from '../../src/core/errors.js';
import { compilePolicy, compileWindow, PolicyError } from '../../src/policy/compile.js';
import { ConditionError, compileCondition } from '../../src/policy/conditions.js';
import { Authorizer, type AuthzRequest } from '../../src/policy/evaluate.js';
import { ResourceTrie } from '../../src/policy/resources.js';

const MON_10H = Date.UTC(2026, 0, 5, 10, 0);

function engine(roles: Record<string, unknown>, policy: Record<string, unknown> = {}, hooks = {}) {
  return new Authorizer(compilePolicy({ roles: RolesSchema.parse(roles), policy: PolicySchema.parse(policy) }), hooks);
}

function req(over: Partial<AuthzRequest>): AuthzRequest {
  return {
    agent: 'a1',
    roles: [],
    tool: 'fs.read',
    kind: 'tool_call',
    args: {},
    context: {},
    session: { id: 's', labels: [] },
    now: MON_10H,
    ...over,
  };
}

describe('resource trie', () => {
  it('matches literal, *, in-segment globs and ** (zero or more segments)', () => {
    const t = new ResourceTrie<string>();
    for (const p of ['workspace/**', 'workspace/*', 'workspace/docs/*.md', 'data/a', '**/.env', 'x/**/y'])
      t.insert(p, p);
    expect(t.match('workspace').sort()).toEqual(['workspace/**']);
    expect(t.match('workspace/a').sort()).toEqual(['workspace/*', 'workspace/**']);
    expect(t.match('workspace/docs/readme.md').sort()).toEqual(['workspace/**', 'workspace/docs/*.md']);
    expect(t.match('workspace/docs/readme.txt')).toEqual(['workspace/**']);
    expect(t.match('data/a')).toEqual(['data/a']);
    expect(t.match('data/a/b')).toEqual([]);
    expect(t.match('deep/down/.env')).toEqual(['**/.env']);
    expect(t.match('x/y')).toEqual(['x/**/y']);
    expect(t.match('x/1/2/3/y')).toEqual(['x/**/y']);
  });

  it('stays linear on patterns full of ** and long paths', () => {
    const t = new ResourceTrie<number>();
    for (let i = 0; i < 50; i++) t.insert(`${'**/'.repeat(10)}z${i}`, i);
    const path = `${'a/'.repeat(2000)}z7`;
    const started = Date.now();
    expect(t.match(path)).toEqual([7]);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('CEL conditions', () => {
  it('are type-checked when they load, naming where', () => {
    expect(() => compileCondition('context.hour >=', 'roles.x.grants[0].when')).toThrow(ConditionError);
    expect(() => compileCondition('unknown_var == 1', 'roles.x.grants[0].when')).toThrow(/roles\.x\.grants\[0\]\.when/);
    expect(() => compileCondition('1 + 2', 'w')).toThrow(/must be a bool/);
    expect(compileCondition('context.hour + 1 < 20', 'w').source).toBe('context.hour + 1 < 20');
  });

  it('a bad condition in gatehouse.yaml fails the load (via the engine) with the config path', () => {
    const roles = RolesSchema.parse({ r: { grants: [{ tools: ['t'], when: 'context.hour >' }] } });
    expect(() => compilePolicy({ roles, policy: PolicySchema.parse({}) })).toThrow(/roles\.r\.grants\[0\]\.when/);
  });

  it('read the injected clock, so time windows are testable', () => {
    const e = engine({ day: { grants: [{ tools: ['fs.read'], when: 'context.hour >= 8 && context.hour < 20' }] } });
    expect(e.authorize(req({ roles: ['day'], now: MON_10H })).decision).toBe('allow');
    expect(e.authorize(req({ roles: ['day'], now: Date.UTC(2026, 0, 5, 21) })).decision).toBe('deny');
    // A caller cannot fake the hour through the action's context.
    expect(e.authorize(req({ roles: ['day'], now: Date.UTC(2026, 0, 5, 21), context: { hour: 10 } })).decision).toBe(
      'deny',
    );
  });

  it('a condition that errors is not satisfied and is reported', () => {
    const e = engine({ r: { grants: [{ id: 'needs-level', tools: ['fs.read'], when: 'context.level > 2' }] } });
    const res = e.authorize(req({ roles: ['r'] }));
    expect(res.decision).toBe('deny');
    expect(res.errors).toEqual([{ ruleId: 'needs-level', message: expect.stringContaining('level') }]);
    expect(res.reasons.map((r) => r.code)).toContain('policy.condition.error');
    // An erroring forbid denies (fail closed, unlike Cedar): see forbid-errors in conditions.test.ts.
    const f = engine(
      { r: { grants: [{ tools: ['fs.read'] }] } },
      { forbid: [{ id: 'f', tools: ['fs.read'], when: 'context.missing' }] },
    );
    const g = f.authorize(req({ roles: ['r'] }));
    expect(g.decision).toBe('deny');
    expect(g.forbids).toEqual(['f']);
    expect(g.errors.map((x) => x.ruleId)).toEqual(['f']);
    expect(g.reasons.map((r) => r.code)).toEqual(['policy.forbid.condition_error']);
  });

  it('see principal, resource, session labels and arguments', () => {
    const e = engine({
      r: {
        grants: [
          {
            id: 'g',
            tools: ['fs.read'],
            when: '"r" in principal.roles && resource.startsWith("workspace/") && !("private_data" in session.labels) && action.args.n < 3',
          },
        ],
      },
    });
    expect(e.authorize(req({ roles: ['r'], resource: 'workspace/a', args: { n: 2 } })).decision).toBe('allow');
    expect(e.authorize(req({ roles: ['r'], resource: 'workspace/a', args: { n: 5 } })).decision).toBe('deny');
    expect(
      e.authorize(
        req({ roles: ['r'], resource: 'workspace/a', args: { n: 2 }, session: { id: 's', labels: ['private_data'] } }),
      ).decision,
    ).toBe('deny');
  });
});

describe('roles, grants and forbid rules', () => {
  it('inherits grants through the hierarchy, default denies, and any forbid wins', () => {
    const e = engine(
      {
        reader: { grants: [{ id: 'read', tools: ['fs.read', 'fs.list'], resources: ['workspace/**'] }] },
        writer: {
          inherits: ['reader'],
          grants: [{ id: 'write', tools: ['fs.write'], resources: ['workspace/out/**'] }],
        },
      },
      {
        forbid: [
          { id: 'no-secrets', tools: ['*'], resources: ['workspace/secret/**'], reason: 'secrets are off limits' },
        ],
      },
    );
    const w = e.authorize(req({ roles: ['writer'], tool: 'fs.read', resource: 'workspace/docs/a' }));
    expect(w.decision).toBe('allow');
    expect(w.permits).toEqual(['read']);
    expect(w.roles.sort()).toEqual(['reader', 'writer']);
    expect(e.authorize(req({ roles: ['reader'], tool: 'fs.write', resource: 'workspace/out/x' })).decision).toBe(
      'deny',
    );
    expect(e.authorize(req({ roles: ['writer'], tool: 'fs.write', resource: 'workspace/docs/x' })).decision).toBe(
      'deny',
    );
    const s = e.authorize(req({ roles: ['writer'], tool: 'fs.read', resource: 'workspace/secret/k' }));
    expect(s.decision).toBe('deny');
    expect(s.forbids).toEqual(['no-secrets']);
    expect(s.reasons.find((r) => r.code === 'policy.forbid.matched')?.message).toBe('secrets are off limits');
    const none = e.authorize(req({ roles: [], tool: 'fs.read', resource: 'workspace/a' }));
    expect(none.reasons.map((r) => r.code)).toEqual(['policy.no_permit']);
  });

  it('lists every satisfied permit as deciding', () => {
    const e = engine({
      r: {
        grants: [
          { id: 'a', tools: ['fs.read'] },
          { id: 'b', tools: ['fs.*'] },
          { id: 'c', tools: ['web.fetch'] },
        ],
      },
    });
    expect(e.authorize(req({ roles: ['r'] })).permits.sort()).toEqual(['a', 'b']);
  });

  it('rejects inheritance cycles and unknown parents at load', () => {
    expect(() => RolesSchema.parse({ a: { inherits: ['b'] }, b: { inherits: ['a'] } })).toThrow(/cycle/);
    expect(() => RolesSchema.parse({ a: { inherits: ['nope'] } })).toThrow(/unknown role/);
    expect(() =>
      parseConfig(
        'version: 1\nroles:\n  a: { inherits: [b] }\n  b: { inherits: [c] }\n  c: { inherits: [a] }\n',
        'g.yaml',
      ),
    ).toThrow(ConfigError);
  });

  it('non-inheritable grants apply only to holders of the role itself', () => {
    const e = engine({
      base: { grants: [{ id: 'own', tools: ['fs.read'], inheritable: false }] },
      child: { inherits: ['base'] },
    });
    expect(e.authorize(req({ roles: ['base'] })).decision).toBe('allow');
    expect(e.authorize(req({ roles: ['child'] })).decision).toBe('deny');
  });

  it('temporary grants hold only between not_before and expires', () => {
    const e = engine({
      r: { grants: [{ tools: ['fs.read'], not_before: '2026-01-05T09:00:00Z', expires: '2026-01-05T11:00:00Z' }] },
    });
    expect(e.authorize(req({ roles: ['r'], now: Date.UTC(2026, 0, 5, 8) })).decision).toBe('deny');
    expect(e.authorize(req({ roles: ['r'], now: Date.UTC(2026, 0, 5, 10) })).decision).toBe('allow');
    expect(e.authorize(req({ roles: ['r'], now: Date.UTC(2026, 0, 5, 11) })).decision).toBe('deny');
  });

  it('time-window constraints and role active windows follow the clock', () => {
    const e = engine({
      office: {
        grants: [
          {
            tools: ['fs.read'],
            constraints: { time: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '08:00-18:00' } },
          },
        ],
      },
      night: { active: { hours: '22:00-06:00' }, grants: [{ tools: ['web.fetch'] }] },
    });
    expect(e.authorize(req({ roles: ['office'] })).decision).toBe('allow');
    expect(e.authorize(req({ roles: ['office'], now: Date.UTC(2026, 0, 4, 10) })).decision).toBe('deny'); // Sunday
    expect(e.authorize(req({ roles: ['night'], tool: 'web.fetch', now: Date.UTC(2026, 0, 5, 23) })).decision).toBe(
      'allow',
    );
    const day = e.authorize(req({ roles: ['night'], tool: 'web.fetch', now: MON_10H }));
    expect(day.decision).toBe('deny');
    expect(day.reasons.map((r) => r.code)).toContain('policy.role.inactive');
    expect(compileWindow({ hours: '08:00-18:00', utc_offset: '+02:00' })(Date.UTC(2026, 0, 5, 17))).toBe(false);
  });

  it('max_agents caps a role: later agents do not get it', () => {
    const members = new Map<string, Set<string>>();
    const hooks = {
      admitToRole(role: string, agent: string, max: number) {
        const m = members.get(role) ?? new Set();
        members.set(role, m);
        if (m.has(agent)) return true;
        if (m.size >= max) return false;
        m.add(agent);
        return true;
      },
    };
    const e = engine({ pilot: { max_agents: 2, grants: [{ tools: ['fs.read'] }] } }, {}, hooks);
    expect(e.authorize(req({ agent: 'a1', roles: ['pilot'] })).decision).toBe('allow');
    expect(e.authorize(req({ agent: 'a2', roles: ['pilot'] })).decision).toBe('allow');
    const third = e.authorize(req({ agent: 'a3', roles: ['pilot'] }));
    expect(third.decision).toBe('deny');
    expect(third.reasons.map((r) => r.code)).toContain('policy.role.max_agents');
    expect(e.authorize(req({ agent: 'a1', roles: ['pilot'] })).decision).toBe('allow');
    expect(() =>
      compilePolicy({
        roles: RolesSchema.parse({ pilot: { max_agents: 1 } }),
        policy: PolicySchema.parse({}),
        agents: { x: { roles: ['pilot'] }, y: { roles: ['pilot'] } },
      }),
    ).toThrow(PolicyError);
  });

  it('context-aware grants are suspended after untrusted instructions', () => {
    const e = engine({ r: { grants: [{ tools: ['fs.read'], context_aware: true }] } });
    expect(e.authorize(req({ roles: ['r'] })).decision).toBe('allow');
    expect(e.authorize(req({ roles: ['r'], session: { id: 's', labels: ['untrusted_instructions'] } })).decision).toBe(
      'deny',
    );
  });

  it('grants to agents, forbid rules for roles or agents', () => {
    const e = engine(
      { r: { grants: [{ tools: ['*'] }] } },
      {
        grants: [{ id: 'g', agents: ['solo'], tools: ['email.send'] }],
        forbid: [{ id: 'f', roles: ['r'], tools: ['shell.exec'] }],
      },
    );
    expect(e.authorize(req({ agent: 'solo', tool: 'email.send' })).permits).toEqual(['g']);
    expect(e.authorize(req({ agent: 'other', tool: 'email.send' })).decision).toBe('deny');
    expect(e.authorize(req({ roles: ['r'], tool: 'shell.exec' })).forbids).toEqual(['f']);
  });

  it('visibleTools hides tools with no permit or an unconditional forbid', () => {
    const e = engine(
      { r: { grants: [{ tools: ['fs.*', 'web.fetch', 'shell.exec'] }] } },
      { forbid: [{ tools: ['shell.exec'] }, { tools: ['web.fetch'], when: 'context.n > 1' }] },
    );
    expect(
      e.visibleTools('a', ['r'], ['fs.read', 'fs.write', 'web.fetch', 'shell.exec', 'email.send'], MON_10H),
    ).toEqual(['fs.read', 'fs.write', 'web.fetch']);
  });

  it('keeps the DESIGN.md example roles valid', () => {
    const roles = RoleSchema.parse({
      inherits: [],
      grants: [{ tools: ['email.send'], when: 'context.hour >= 8 && context.hour < 20' }],
    });
    expect(roles.grants[0]!.inheritable).toBe(true);
  });
});
