import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicySchema, RolesSchema } from '../../src/config/sections/policy.js';
import { ToolSchema } from '../../src/config/sections/tools.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { activation, CONDITION_SCHEMA, compileCondition } from '../../src/policy/conditions.js';
import { Authorizer, type AuthzRequest } from '../../src/policy/evaluate.js';
import { normalizeUri } from '../../src/policy/normalize.js';
import { compileToolRules } from '../../src/policy/tools.js';

const NOW = Date.UTC(2026, 0, 5, 10, 0);

function engine(roles: Record<string, unknown>, policy: Record<string, unknown> = {}) {
  return new Authorizer(compilePolicy({ roles: RolesSchema.parse(roles), policy: PolicySchema.parse(policy) }));
}

function req(over: Partial<AuthzRequest>): AuthzRequest {
  return {
    agent: 'a1',
    roles: ['r'],
    tool: 'pay',
    kind: 'tool_call',
    args: {},
    context: {},
    session: { id: 's', labels: [] },
    now: NOW,
    ...over,
  };
}

describe('a forbid whose condition errors denies (18.8)', () => {
  const e = engine(
    { r: { grants: [{ tools: ['*'] }] } },
    { forbid: [{ id: 'big-payments', tools: ['pay'], when: 'action.args.amount > 1000' }] },
  );
  it.each([
    ['a string', { amount: '5000' }],
    ['a list', { amount: [5000] }],
    ['absent', {}],
    ['a map', { amount: { value: 5000 } }],
  ])('amount as %s: denied with policy.forbid.condition_error', (_, args) => {
    const r = e.authorize(req({ args }));
    expect(r.decision).toBe('deny');
    expect(r.forbids).toEqual(['big-payments']);
    expect(r.reasons.map((x) => x.code)).toEqual(['policy.forbid.condition_error']);
    expect(r.permits).toEqual([]);
  });
  it('the well-typed cases still decide on the value', () => {
    expect(e.authorize(req({ args: { amount: 5000 } })).decision).toBe('deny');
    expect(e.authorize(req({ args: { amount: 50 } })).decision).toBe('allow');
  });
  it('a declared argument type makes the condition error impossible: the call is denied before policy', () => {
    const ws = mkdtempSync(join(tmpdir(), 'gh-typed-'));
    const rules = compileToolRules(
      'pay',
      ToolSchema.parse({ risk: 'low', args: { amount: { type: 'number', required: true } } }),
      ws,
    );
    const codes = (args: Record<string, unknown>) => rules.check(args).reasons.map((r) => r.code);
    expect(codes({ amount: '5000' })).toEqual(['args.type']);
    expect(codes({ amount: [5000] })).toEqual(['args.type']);
    expect(codes({ amount: { v: 1 } })).toEqual(['args.type']);
    expect(codes({})).toEqual(['args.missing']);
    expect(codes({ amount: 5000 })).toEqual([]);
    expect(rules.check({ amount: 'sk_live_abcdef' }).reasons[0]!.message).not.toContain('sk_live');
    expect(() =>
      compileToolRules('p', ToolSchema.parse({ risk: 'low', args: { path: { type: 'number' } } }), ws),
    ).toThrow(/expected string/);
  });
  it('a permit whose condition errors does not permit', () => {
    const p = engine({ r: { grants: [{ id: 'small', tools: ['pay'], when: 'action.args.amount < 1000' }] } });
    const r = p.authorize(req({ args: { amount: '5' } }));
    expect(r.decision).toBe('deny');
    expect(r.reasons.map((x) => x.code)).toEqual(['policy.condition.error', 'policy.no_permit']);
  });
});

describe('principal fields the docs name are visible to conditions (18.4)', () => {
  const e = engine(
    { r: { grants: [{ id: 'pop-only', tools: ['pay'], when: 'principal.proofOfPossession' }, { tools: ['read'] }] } },
    {
      forbid: [
        { id: 'no-pop', tools: ['read'], when: '!principal.proofOfPossession' },
        { id: 'no-host', tools: ['read'], when: 'principal.method == "host"' },
      ],
    },
  );
  it('a permit on proofOfPossession matches when the request carried a proof, and not otherwise', () => {
    const yes = e.authorize(req({ principal: { method: 'token', proofOfPossession: true } }));
    expect(yes.decision).toBe('allow');
    expect(yes.permits).toEqual(['pop-only']);
    expect(yes.errors).toEqual([]);
    const no = e.authorize(req({ principal: { method: 'token' } }));
    expect(no.decision).toBe('deny');
    expect(no.errors).toEqual([]);
  });
  it('a forbid on its absence denies without erroring; method is visible', () => {
    const r = e.authorize(req({ tool: 'read', principal: { method: 'token' } }));
    expect(r.decision).toBe('deny');
    expect(r.forbids).toEqual(['no-pop']);
    expect(r.errors).toEqual([]);
    const pop = e.authorize(req({ tool: 'read', principal: { method: 'token', proofOfPossession: true } }));
    expect(pop.decision).toBe('allow');
    expect(e.authorize(req({ tool: 'read', principal: { method: 'host', proofOfPossession: true } })).forbids).toEqual([
      'no-host',
    ]);
  });
  it('the declared schema is exactly the activation the evaluator builds', () => {
    const act = activation({
      principal: { agent: 'a', roles: [], method: 'token', proofOfPossession: false },
      action: { tool: 't', kind: 'tool_call', args: {} },
      resource: '',
      resources: [],
      context: {},
      session: { id: 's', labels: [] },
      now: NOW,
    });
    expect(Object.keys(act).sort()).toEqual(Object.keys(CONDITION_SCHEMA).sort());
    for (const k of ['principal', 'action', 'session'] as const) {
      expect(Object.keys(act[k] as object).sort()).toEqual(Object.keys(CONDITION_SCHEMA[k]).sort());
    }
  });
  it('a misspelt field is a load error with its offset', () => {
    let caught: unknown;
    try {
      compileCondition('principal.proofOfPosession', 'w');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'policy.condition_invalid', offset: 10 });
    expect(() => compileCondition('session.label.size() > 0', 'w')).toThrow(/label/);
    expect(() => compileCondition('action.tol == "x"', 'w')).toThrow(/tol/);
  });
});

describe('every resource of an action is checked (18.6)', () => {
  const e = engine(
    { r: { grants: [{ id: 'public', tools: ['fs.*'], resources: ['workspace/public/**'] }] } },
    { forbid: [{ id: 'no-secrets', tools: ['*'], resources: ['workspace/secrets/**'] }] },
  );
  it('a forbid matching any resource denies', () => {
    const r = e.authorize(
      req({
        tool: 'fs.read_many',
        resource: 'workspace/public/a',
        resources: ['workspace/public/a', 'workspace/secrets/key'],
      }),
    );
    expect(r.decision).toBe('deny');
    expect(r.forbids).toEqual(['no-secrets']);
  });
  it('a permit must cover all of them', () => {
    expect(
      e.authorize(req({ tool: 'fs.move', resources: ['workspace/public/a', 'workspace/private/b'] })).decision,
    ).toBe('deny');
    expect(
      e.authorize(req({ tool: 'fs.move', resources: ['workspace/public/a', 'workspace/public/b'] })).decision,
    ).toBe('allow');
  });
  it('a condition on resource is held to every resource', () => {
    const c = engine(
      { r: { grants: [{ id: 'docs', tools: ['fs.*'], when: 'resource.startsWith("workspace/docs/")' }] } },
      { forbid: [{ id: 'env', tools: ['*'], when: 'resource.endsWith(".env")' }] },
    );
    expect(c.authorize(req({ tool: 'fs.x', resources: ['workspace/docs/a', 'workspace/b'] })).decision).toBe('deny');
    const f = c.authorize(req({ tool: 'fs.x', resources: ['workspace/docs/a', 'workspace/docs/.env'] }));
    expect(f.forbids).toEqual(['env']);
    expect(c.authorize(req({ tool: 'fs.x', resources: ['workspace/docs/a', 'workspace/docs/b'] })).decision).toBe(
      'allow',
    );
  });

  const ws = mkdtempSync(join(tmpdir(), 'gh-res-'));
  mkdirSync(join(ws, 'public'));
  mkdirSync(join(ws, 'secrets'));
  writeFileSync(join(ws, 'public', 'a.md'), 'a');
  const tool = (args: Record<string, unknown>) => compileToolRules('t', ToolSchema.parse({ risk: 'low', args }), ws);

  it('tool argument rules name every path: lists, two path arguments, nested objects', () => {
    const many = tool({ paths: {} }).check({ paths: ['public/a.md', 'secrets/k'] });
    expect(many.resources).toEqual(['workspace/public/a.md', 'workspace/secrets/k']);
    const move = tool({ source: {}, destination: {} }).check({ source: 'public/a.md', destination: 'secrets/k' });
    expect(move.resources).toEqual(['workspace/public/a.md', 'workspace/secrets/k']);
    const nested = tool({ 'edits.path': {} }).check({ edits: [{ path: 'public/a.md' }, { path: 'secrets/k' }] });
    expect(nested.ok).toBe(true);
    expect(nested.resources).toEqual(['workspace/public/a.md', 'workspace/secrets/k']);
    const escaped = tool({ 'edits.path': {} }).check({ edits: [{ path: '../../etc/passwd' }] });
    expect(escaped.reasons.map((r) => r.code)).toEqual(['args.path.escape']);
    const typed = tool({ 'edits.path': { required: true } }).check({ edits: [{ path: 7 }] });
    expect(typed.reasons.map((r) => r.code)).toEqual(['args.type']);
    // Other shapes cannot hide a path: nested lists are entered, a scalar where objects belong is denied.
    const deep = tool({ 'a.b.path': {} });
    expect(deep.check({ a: [[{ b: { path: 'secrets/k' } }]] }).resources).toEqual(['workspace/secrets/k']);
    expect(deep.check({ a: 'secrets/k' }).reasons.map((r) => r.code)).toEqual(['args.type']);
    expect(deep.check({ a: { b: 'secrets/k' } }).reasons.map((r) => r.code)).toEqual(['args.type']);
  });
  it('path-like arguments no rule declares still name resources', () => {
    const r = tool({}).check({ source: 'public/a.md', destination: 'x/../secrets/k', paths: ['secrets/z'] });
    expect(r.resources).toEqual(['workspace/public/a.md', 'workspace/secrets/k', 'workspace/secrets/z']);
  });
  it('end to end: the resources of the argument check reach the forbid', () => {
    const r = tool({ source: {}, destination: {} }).check({ source: 'public/a.md', destination: 'secrets/k' });
    expect(r.resource).toBe('workspace/public/a.md');
    const d = e.authorize(req({ tool: 'fs.move', resource: r.resource, resources: r.resources }));
    expect(d.decision).toBe('deny');
    expect(d.forbids).toEqual(['no-secrets']);
  });
});

describe('a forbid with resources applies only to actions that have one (18.14)', () => {
  const e = engine(
    { r: { grants: [{ tools: ['*'] }] } },
    { forbid: [{ id: 'no-secrets', tools: ['*'], resources: ['workspace/secrets/**'] }] },
  );
  it('the documented no-secrets rule does not block tools that address no file', () => {
    expect(e.authorize(req({ tool: 'web.fetch' })).decision).toBe('allow');
    expect(e.authorize(req({ tool: 'web.fetch', resources: [] })).decision).toBe('allow');
    expect(e.authorize(req({ tool: 'fs.read', resource: 'workspace/secrets/a' })).decision).toBe('deny');
  });
});

describe('URIs and paths are normalised before policy (18.7)', () => {
  const e = engine({
    r: {
      grants: [
        {
          id: 'docs-only',
          tools: ['mcp.resource:fs'],
          when: "action.args.uri.startsWith('file:///home/me/projects/docs/')",
        },
      ],
    },
  });
  it.each([
    'file:///home/me/projects/docs/../secret.txt',
    'file:///home/me/projects/docs/%2e%2e/secret.txt',
    'file:///home/me/projects/docs/%2E%2E%2fsecret.txt',
    'file:///home/me/projects/docs/%252e%252e/secret.txt',
    'file:///home/me/projects/docs/..\\secret.txt',
    'file:///home/me/projects/docs/./../../projects/secret.txt',
  ])('%s does not pass a startsWith condition', (uri) => {
    expect(e.authorize(req({ tool: 'mcp.resource:fs', args: { uri } })).decision).toBe('deny');
  });
  it('a URI inside the prefix still passes', () => {
    const uri = 'file:///home/me/projects/docs/a/../b.md';
    expect(normalizeUri(uri)).toBe('file:///home/me/projects/docs/b.md');
    expect(e.authorize(req({ tool: 'mcp.resource:fs', args: { uri } })).decision).toBe('allow');
  });
  it('a file: URI is a resource, so an unescapable glob confines it', () => {
    const ws = mkdtempSync(join(tmpdir(), 'gh-uri-'));
    const rules = compileToolRules('mcp.resource:fs', ToolSchema.parse({ risk: 'low' }), ws);
    const r = rules.check({ uri: `file://${ws}/docs/%2e%2e/secrets/k` });
    expect(r.resources).toEqual(['workspace/secrets/k']);
  });
  it('a grant confining mcp.resource:fs with a glob cannot be escaped by any spelling or scheme', () => {
    const ws = mkdtempSync(join(tmpdir(), 'gh-mcp-'));
    const rules = compileToolRules('mcp.resource:fs', ToolSchema.parse({ risk: 'low' }), ws);
    const g = engine({ r: { grants: [{ id: 'docs', tools: ['mcp.resource:fs'], resources: ['workspace/docs/**'] }] } });
    const decide = (uri: string) => {
      const r = rules.check({ uri });
      return g.authorize(req({ tool: 'mcp.resource:fs', args: { uri }, resources: r.resources })).decision;
    };
    expect(decide(`file://${ws}/docs/a.md`)).toBe('allow');
    for (const uri of [
      `file://${ws}/docs/../secret`,
      `file://${ws}/docs/%2e%2e/secret`,
      `file://${ws}/docs/%252e%252e/secret`,
      `file://${ws}/docs/..%2fsecret`,
      `file://evil.example${ws}/docs/a.md`,
      'github://docs/a.md',
      'workspace/docs/a.md',
    ]) {
      expect(decide(uri), uri).toBe('deny');
    }
  });
  it('an NFD spelling does not get past an NFC forbid', () => {
    const ws = mkdtempSync(join(tmpdir(), 'gh-nfc-'));
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    const f = engine(
      { r: { grants: [{ tools: ['*'] }] } },
      { forbid: [{ id: 'cafe', tools: ['*'], resources: [`workspace/${nfc}/**`] }] },
    );
    const rules = compileToolRules('fs.read', ToolSchema.parse({ risk: 'low', args: { path: {} } }), ws);
    const r = rules.check({ path: `${nfd}/menu.txt` });
    expect(f.authorize(req({ tool: 'fs.read', resources: r.resources })).forbids).toEqual(['cafe']);
    // And an NFD pattern catches an NFC path.
    const g = engine(
      { r: { grants: [{ tools: ['*'] }] } },
      { forbid: [{ id: 'cafe', tools: ['*'], resources: [`workspace/${nfd}/**`] }] },
    );
    expect(g.authorize(req({ tool: 'fs.read', resource: `workspace/${nfc}/menu.txt` })).decision).toBe('deny');
  });
});

describe('stored runtime grants under stricter declarations', () => {
  it('a grant whose condition no longer type-checks permits nothing and does not break the policy', () => {
    const grant = {
      id: 'g-1',
      parentId: null,
      agent: 'a1',
      tools: ['pay'],
      resources: null,
      when: 'principal.team == "x"',
      notBefore: null,
      expiresAt: null,
      delegable: false,
      maxDepth: 1,
      depth: 0,
    };
    const compiled = compilePolicy({
      roles: RolesSchema.parse({}),
      policy: PolicySchema.parse({}),
      runtimeGrants: [grant, { ...grant, id: 'g-2', when: null }],
    });
    expect(compiled.rules.map((r) => r.id)).toEqual(['grant:g-2']);
  });
});
