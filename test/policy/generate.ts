/**
 * A random policy set written both ways: as Gatehouse configuration (roles, grants, forbid rules, CEL
 * conditions, resource globs) and as the equivalent Cedar policies, entities and requests. Used by the
 * differential test and the benchmark. Deterministic for a given seed.
 */
import type { ForbidConfig, GrantConfig, PolicyConfig, RoleConfig } from '../../src/config/sections/policy.js';
import { AgentGrantSchema, GrantSchema, PolicySchema, RoleSchema } from '../../src/config/sections/policy.js';
import { mulberry32 } from '../helpers/prng.js';

/** The seeded generator the differential tests draw from. */
export const rng = mulberry32;

export interface Shape {
  roles: number;
  agents: number;
  groups: number;
  toolsPerGroup: number;
  permits: number;
  forbids: number;
  /** Share of rules with a CEL condition. */
  conditionShare: number;
}

export interface CedarEntity {
  uid: { type: string; id: string };
  attrs: Record<string, unknown>;
  parents: Array<{ type: string; id: string }>;
}

export interface GeneratedRequest {
  agent: string;
  roles: string[];
  tool: string;
  resource: string;
  context: Record<string, unknown>;
}

export interface Generated {
  roles: Record<string, RoleConfig>;
  policy: PolicyConfig;
  agentRoles: Map<string, string[]>;
  tools: string[];
  cedarPolicies: Record<string, string>;
  roleEntities: CedarEntity[];
  ruleCount: number;
  request(r: () => number): GeneratedRequest;
  cedarEntities(req: GeneratedRequest): CedarEntity[];
}

const SEGS = ['docs', 'src', 'secret', 'a', 'b', 'notes.md', 'data.txt', 'x.md'];

export function generate(seed: number, shape: Shape): Generated {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const roleNames = Array.from({ length: shape.roles }, (_, i) => `R${i}`);
  const agents = Array.from({ length: shape.agents }, (_, i) => `A${i}`);
  const groups = Array.from({ length: shape.groups }, (_, i) => `g${i}`);
  const tools = groups.flatMap((g) => Array.from({ length: shape.toolsPerGroup }, (_, j) => `${g}.t${j}`));

  const inherits = new Map<string, string[]>();
  roleNames.forEach((name, i) => {
    const ps = new Set<string>();
    if (i > 0 && r() < 0.7) ps.add(roleNames[Math.floor(r() * i)]!);
    if (i > 1 && r() < 0.3) ps.add(roleNames[Math.floor(r() * i)]!);
    inherits.set(name, [...ps]);
  });
  const agentRoles = new Map<string, string[]>();
  for (const a of agents) {
    const n = Math.floor(r() * 3);
    agentRoles.set(a, [...new Set(Array.from({ length: n }, () => pick(roleNames)))]);
  }

  const randomPath = (): string => {
    const depth = 1 + Math.floor(r() * 4);
    return [pick(['workspace', 'data']), ...Array.from({ length: depth - 1 }, () => pick(SEGS))].join('/');
  };
  const randomPattern = (): string => {
    const k = r();
    const base = randomPath().split('/');
    if (k < 0.3) return [...base.slice(0, 1 + Math.floor(r() * base.length)), '**'].join('/');
    if (k < 0.5) return [...base.slice(0, Math.max(1, base.length - 1)), '*'].join('/');
    if (k < 0.65) return [...base.slice(0, Math.max(1, base.length - 1)), '*.md'].join('/');
    if (k < 0.7) return '**';
    return base.join('/');
  };
  const cedarResource = (p: string): string => {
    const segs = p.split('/');
    const tail = segs[segs.length - 1] === '**';
    const fixed = tail ? segs.slice(0, -1) : segs;
    const parts = [tail ? `resource.depth >= ${fixed.length}` : `resource.depth == ${fixed.length}`];
    fixed.forEach((s, i) => {
      if (s === '*') return;
      if (s.includes('*')) parts.push(`resource.s${i} like "${s}"`);
      else parts.push(`resource.s${i} == "${s}"`);
    });
    return `(${parts.join(' && ')})`;
  };

  // Conditions: error-free atoms may sit anywhere; the atom that can error (context.level) only as a top-level
  // conjunct, where CEL's commutative error handling and Cedar's left-to-right evaluation can be made to agree.
  const atom = (): [string, string] => {
    const k = r();
    const n = Math.floor(r() * 10);
    if (k < 0.25) return [`context.n >= ${n}`, `context.n >= ${n}`];
    if (k < 0.45) return [`context.n < ${n}`, `context.n < ${n}`];
    if (k < 0.65) return ['context.mfa == true', 'context.mfa == true'];
    if (k < 0.85) {
      const role = pick(roleNames);
      return [`"${role}" in principal.roles`, `principal in Gh::Role::"${role}"`];
    }
    const pre = pick(['workspace/docs', 'data/src', 'workspace']);
    return [`resource.startsWith("${pre}")`, `resource.path like "${pre}*"`];
  };
  const condition = (): [string, string] => {
    const terms: Array<[string, string]> = [];
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
      const k = r();
      if (k < 0.2) {
        const lv = Math.floor(r() * 5);
        terms.push([`context.level > ${lv}`, `context.level > ${lv}`]);
      } else if (k < 0.4) {
        const [a1, b1] = atom();
        const [a2, b2] = atom();
        terms.push([`(${a1} || ${a2})`, `(${b1} || ${b2})`]);
      } else if (k < 0.5) {
        const [a1, b1] = atom();
        terms.push([`!(${a1})`, `!(${b1})`]);
      } else terms.push(atom());
    }
    // CEL's `&&` is false, not an error, when any conjunct is false; Cedar's stops at the first error. Putting the
    // erroring conjuncts last in Cedar makes the two agree on errors too (which decide forbids here).
    const cedarTerms = [
      ...terms.filter((t) => !t[1].includes('level')),
      ...terms.filter((t) => t[1].includes('level')),
    ];
    return [terms.map((t) => t[0]).join(' && '), cedarTerms.map((t) => t[1]).join(' && ')];
  };
  const toolPatterns = (): string[] => {
    const n = 1 + Math.floor(r() * 2);
    return [
      ...new Set(
        Array.from({ length: n }, () => {
          const k = r();
          if (k < 0.7) return pick(tools);
          if (k < 0.95) return `${pick(groups)}.*`;
          return '*';
        }),
      ),
    ];
  };
  const cedarAction = (pats: string[]): string => {
    if (pats.includes('*')) return 'action';
    const uids = pats.map((p) => (p.endsWith('.*') ? `Gh::Action::"group:${p.slice(0, -2)}"` : `Gh::Action::"${p}"`));
    return `action in [${uids.join(', ')}]`;
  };

  const roleGrants = new Map<string, GrantConfig[]>(roleNames.map((n) => [n, []]));
  const agentGrants: PolicyConfig['grants'] = [];
  const forbids: ForbidConfig[] = [];
  const cedar: Record<string, string> = {};
  const rule = () => {
    const tpats = toolPatterns();
    const resources = r() < 0.3 ? undefined : Array.from({ length: 1 + Math.floor(r() * 2) }, randomPattern);
    const cond = r() < shape.conditionShare ? condition() : undefined;
    const when: string[] = [];
    if (resources) when.push(`(${resources.map(cedarResource).join(' || ')})`);
    if (cond) when.push(`(${cond[1]})`);
    return { tpats, resources, cond, cedarWhen: when.length > 0 ? ` when { ${when.join(' && ')} }` : '' };
  };
  for (let i = 0; i < shape.permits; i++) {
    const id = `p${i}`;
    const x = rule();
    const g = {
      id,
      tools: x.tpats,
      ...(x.resources ? { resources: x.resources } : {}),
      ...(x.cond ? { when: x.cond[0] } : {}),
    };
    if (r() < 0.45) {
      const agent = pick(agents);
      agentGrants.push(AgentGrantSchema.parse({ ...g, agents: [agent] }));
      cedar[id] = `permit(principal == Gh::Agent::"${agent}", ${cedarAction(x.tpats)}, resource)${x.cedarWhen};`;
    } else {
      const role = pick(roleNames);
      roleGrants.get(role)!.push(GrantSchema.parse(g));
      cedar[id] = `permit(principal in Gh::Role::"${role}", ${cedarAction(x.tpats)}, resource)${x.cedarWhen};`;
    }
  }
  for (let i = 0; i < shape.forbids; i++) {
    const id = `f${i}`;
    const x = rule();
    const k = r();
    const base = {
      id,
      tools: x.tpats,
      ...(x.resources ? { resources: x.resources } : {}),
      ...(x.cond ? { when: x.cond[0] } : {}),
    };
    if (k < 0.2) {
      forbids.push(base);
      cedar[id] = `forbid(principal, ${cedarAction(x.tpats)}, resource)${x.cedarWhen};`;
    } else if (k < 0.6) {
      const role = pick(roleNames);
      forbids.push({ ...base, roles: [role] });
      cedar[id] = `forbid(principal in Gh::Role::"${role}", ${cedarAction(x.tpats)}, resource)${x.cedarWhen};`;
    } else {
      const agent = pick(agents);
      forbids.push({ ...base, agents: [agent] });
      cedar[id] = `forbid(principal == Gh::Agent::"${agent}", ${cedarAction(x.tpats)}, resource)${x.cedarWhen};`;
    }
  }

  const roles: Record<string, RoleConfig> = {};
  for (const n of roleNames) roles[n] = RoleSchema.parse({ inherits: inherits.get(n), grants: roleGrants.get(n) });
  const policy = PolicySchema.parse({ grants: agentGrants, forbid: forbids });
  const roleEntities: CedarEntity[] = roleNames.map((n) => ({
    uid: { type: 'Gh::Role', id: n },
    attrs: {},
    parents: inherits.get(n)!.map((p) => ({ type: 'Gh::Role', id: p })),
  }));

  return {
    roles,
    policy,
    agentRoles,
    tools,
    cedarPolicies: cedar,
    roleEntities,
    ruleCount: shape.permits + shape.forbids,
    request(rr) {
      const p = <T>(xs: readonly T[]): T => xs[Math.floor(rr() * xs.length)]!;
      const agent = p(agents);
      const depth = 1 + Math.floor(rr() * 4);
      const resource = [p(['workspace', 'data']), ...Array.from({ length: depth - 1 }, () => p(SEGS))].join('/');
      const context: Record<string, unknown> = { n: Math.floor(rr() * 10), mfa: rr() < 0.5 };
      if (rr() < 0.5) context.level = Math.floor(rr() * 6);
      return { agent, roles: agentRoles.get(agent)!, tool: p(tools), resource, context };
    },
    cedarEntities(req) {
      const segs = req.resource.split('/');
      const attrs: Record<string, unknown> = { path: req.resource, depth: segs.length };
      for (let i = 0; i < 6; i++) attrs[`s${i}`] = segs[i] ?? '';
      const group = req.tool.split('.')[0]!;
      return [
        {
          uid: { type: 'Gh::Agent', id: req.agent },
          attrs: {},
          parents: req.roles.map((x) => ({ type: 'Gh::Role', id: x })),
        },
        ...roleEntities,
        {
          uid: { type: 'Gh::Action', id: req.tool },
          attrs: {},
          parents: [{ type: 'Gh::Action', id: `group:${group}` }],
        },
        { uid: { type: 'Gh::Action', id: `group:${group}` }, attrs: {}, parents: [] },
        { uid: { type: 'Gh::File', id: req.resource }, attrs, parents: [] },
      ];
    },
  };
}
