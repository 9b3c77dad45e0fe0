import type {
  ForbidConfig,
  GrantConfig,
  PolicyConfig,
  RoleConfig,
  TimeWindowConfig,
} from '../config/sections/policy.js';
import { GatehouseError } from '../core/errors.js';
import { type CompiledCondition, ConditionError, compileCondition } from './conditions.js';

/** One problem in the policy: the key path in the configuration and, for a condition, the offset in its source. */
export interface PolicyIssue {
  path: Array<string | number>;
  message: string;
  /** Offset of the problem inside the string at `path` (a CEL condition). */
  offset?: number;
}

/**
 * The policy could not be compiled (bad conditions, unknown roles, impossible assignments). `issues` lists every
 * problem found, not only the first; the message names each with its place.
 */
export class PolicyError extends GatehouseError {
  readonly issues: readonly PolicyIssue[];
  constructor(message: string, issues: readonly PolicyIssue[] = []) {
    super('policy.invalid', message);
    this.issues = issues;
  }
}

/** `roles.r.grants[0].when` */
export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Compiles a condition, recording a problem instead of throwing so every problem of a file is reported. */
function condition(source: string, path: Array<string | number>, issues: PolicyIssue[]): CompiledCondition | undefined {
  try {
    return compileCondition(source, formatPath(path));
  } catch (err) {
    if (!(err instanceof ConditionError)) throw err;
    issues.push({ path, message: err.detail, ...(err.offset !== undefined ? { offset: err.offset } : {}) });
    return undefined;
  }
}

/** Who a rule applies to. `role-direct` is a non-inheritable grant: only agents holding the role itself. */
export type RulePrincipal =
  | { kind: 'any' }
  | { kind: 'agent'; id: string }
  | { kind: 'role'; id: string }
  | { kind: 'role-direct'; id: string };

export interface Rule {
  id: string;
  /** Position in the compiled rule list (for per-request bookkeeping without allocation). */
  idx: number;
  effect: 'permit' | 'forbid';
  principal: RulePrincipal;
  tools: readonly string[];
  /** Resource globs; undefined means any resource. */
  resources?: readonly string[];
  condition?: CompiledCondition;
  notBefore?: number;
  expires?: number;
  window?: (now: number) => boolean;
  contextAware: boolean;
  maxCallsPerHour?: number;
  audit: 'normal' | 'verbose';
  delegable: boolean;
  maxDepth: number;
  source: 'config' | 'runtime';
  /** Human text a forbid rule gives as its reason. */
  reason?: string;
}

export interface RoleInfo {
  name: string;
  /** The role and every role it inherits, transitively. */
  closure: readonly string[];
  maxAgents?: number;
  active?: (now: number) => boolean;
}

/** A runtime grant as the grant store holds it (see grants.ts). */
export interface RuntimeGrantRecord {
  id: string;
  parentId: string | null;
  agent: string;
  tools: string[];
  resources: string[] | null;
  when: string | null;
  notBefore: number | null;
  expiresAt: number | null;
  delegable: boolean;
  maxDepth: number;
  depth: number;
  /** A delegation from a configuration grant: it applies only while that rule exists and is delegable. */
  originRule?: string | null;
}

export interface PolicySource {
  roles: Record<string, RoleConfig>;
  policy: PolicyConfig;
  /** Agents declared in the file (`identity.agents`) with their roles: checked against `max_agents`. */
  agents?: Record<string, { roles: string[] }>;
  runtimeGrants?: readonly RuntimeGrantRecord[];
}

export interface CompiledPolicy {
  readonly rules: readonly Rule[];
  readonly roles: ReadonlyMap<string, RoleInfo>;
  /** Role assignments from the file. */
  readonly assignments: ReadonlyMap<string, readonly string[]>;
  /** principal key (`*`, `a:<agent>`, `r:<role>`, `d:<role>`) → exact tool → rules. */
  readonly exact: ReadonlyMap<string, ReadonlyMap<string, Rule[]>>;
  /** principal key → rules whose tool patterns have wildcards. */
  readonly wildcard: ReadonlyMap<string, Rule[]>;
  /** True when some role has a time window or an agent cap, so role closures depend on time and membership. */
  readonly dynamicRoles: boolean;
}

export function principalKey(p: RulePrincipal): string {
  switch (p.kind) {
    case 'any':
      return '*';
    case 'agent':
      return `a:${p.id}`;
    case 'role':
      return `r:${p.id}`;
    case 'role-direct':
      return `d:${p.id}`;
  }
}

/**
 * Compiles the file's roles, grants and forbid rules plus the runtime grants into an indexed rule set:
 * role closures precomputed, rules indexed by (principal, tool), CEL conditions compiled and type-checked.
 */
export function compilePolicy(src: PolicySource): CompiledPolicy {
  const roles = compileRoles(src.roles);
  const rules: Rule[] = [];
  const issues: PolicyIssue[] = [];
  const ids = new Map<string, Array<string | number>>();
  const claim = (id: string, path: Array<string | number>) => {
    const first = ids.get(id);
    if (first)
      issues.push({ path: [...path, 'id'], message: `rule id "${id}" is already used by ${formatPath(first)}` });
    else ids.set(id, path);
  };
  for (const [name, role] of Object.entries(src.roles)) {
    role.grants.forEach((g, i) => {
      const id = g.id ?? `roles.${name}.grants.${i}`;
      const principal: RulePrincipal = g.inheritable ? { kind: 'role', id: name } : { kind: 'role-direct', id: name };
      const path = ['roles', name, 'grants', i];
      claim(id, path);
      rules.push(grantRule(id, principal, g, g.when ? condition(g.when, [...path, 'when'], issues) : undefined));
    });
  }
  src.policy.grants.forEach((g, i) => {
    const path = ['policy', 'grants', i];
    const cond = g.when ? condition(g.when, [...path, 'when'], issues) : undefined;
    for (const agent of g.agents) {
      const id = g.id ? (g.agents.length > 1 ? `${g.id}:${agent}` : g.id) : `policy.grants.${i}:${agent}`;
      claim(id, path);
      rules.push(grantRule(id, { kind: 'agent', id: agent }, g, cond));
    }
  });
  src.policy.forbid.forEach((f, i) => {
    const fr = forbidRules(f, i, roles, issues);
    for (const r of fr) claim(r.id, ['policy', 'forbid', i]);
    rules.push(...fr);
  });
  for (const g of liveDelegations(rules, src.runtimeGrants ?? [])) {
    // A stored grant whose condition no longer type-checks (the declarations got stricter) permits nothing:
    // dropping it fails closed without making the file's policy unloadable.
    const grantIssues: PolicyIssue[] = [];
    const r = runtimeRule(g, grantIssues);
    if (grantIssues.length > 0) continue;
    claim(r.id, ['grants', g.id]);
    rules.push(r);
  }
  rules.forEach((r, i) => {
    r.idx = i;
  });

  const assignments = new Map<string, string[]>();
  for (const [agent, a] of Object.entries(src.agents ?? {})) assignments.set(agent, a.roles);
  for (const [name, info] of roles) {
    if (info.maxAgents === undefined) continue;
    const holders = [...assignments].filter(([, rs]) => rs.some((r) => roles.get(r)?.closure.includes(name))).length;
    if (holders > info.maxAgents) {
      issues.push({
        path: ['roles', name, 'max_agents'],
        message: `found ${holders} agents holding the role in identity.agents, expected at most ${info.maxAgents}`,
      });
    }
  }
  if (issues.length > 0) {
    throw new PolicyError(issues.map((x) => `${formatPath(x.path)}: ${x.message}`).join('; '), issues);
  }

  const exact = new Map<string, Map<string, Rule[]>>();
  const wildcard = new Map<string, Rule[]>();
  for (const r of rules) {
    const key = principalKey(r.principal);
    for (const t of r.tools) {
      if (t.includes('*') || t.includes('?')) {
        const list = wildcard.get(key) ?? [];
        wildcard.set(key, list);
        if (!list.includes(r)) list.push(r);
      } else {
        const byTool = exact.get(key) ?? new Map<string, Rule[]>();
        exact.set(key, byTool);
        const list = byTool.get(t) ?? [];
        byTool.set(t, list);
        if (!list.includes(r)) list.push(r);
      }
    }
  }
  const dynamicRoles = [...roles.values()].some((r) => r.active !== undefined || r.maxAgents !== undefined);
  return { rules, roles, assignments, exact, wildcard, dynamicRoles };
}

function compileRoles(src: Record<string, RoleConfig>): Map<string, RoleInfo> {
  const out = new Map<string, RoleInfo>();
  const closureOf = (name: string, seen: Set<string>): string[] => {
    if (seen.has(name)) throw new PolicyError(`role inheritance cycle through "${name}"`);
    const role = src[name];
    if (!role) throw new PolicyError(`unknown role "${name}"`);
    seen.add(name);
    const all = new Set<string>([name]);
    for (const p of role.inherits) for (const x of closureOf(p, seen)) all.add(x);
    seen.delete(name);
    return [...all];
  };
  for (const [name, role] of Object.entries(src)) {
    out.set(name, {
      name,
      closure: closureOf(name, new Set()),
      ...(role.max_agents !== undefined ? { maxAgents: role.max_agents } : {}),
      ...(role.active ? { active: compileWindow(role.active) } : {}),
    });
  }
  return out;
}

function grantRule(
  id: string,
  principal: RulePrincipal,
  g: GrantConfig,
  condition: CompiledCondition | undefined,
): Rule {
  return {
    id,
    idx: 0,
    effect: 'permit',
    principal,
    tools: g.tools,
    ...(g.resources ? { resources: g.resources } : {}),
    ...(condition ? { condition } : {}),
    ...(g.not_before ? { notBefore: Date.parse(g.not_before) } : {}),
    ...(g.expires ? { expires: Date.parse(g.expires) } : {}),
    ...(g.constraints?.time ? { window: compileWindow(g.constraints.time) } : {}),
    ...(g.constraints?.max_calls_per_hour ? { maxCallsPerHour: g.constraints.max_calls_per_hour } : {}),
    contextAware: g.context_aware,
    audit: g.audit,
    delegable: g.delegable,
    maxDepth: g.max_depth,
    source: 'config',
  };
}

function forbidRules(f: ForbidConfig, i: number, roles: Map<string, RoleInfo>, issues: PolicyIssue[]): Rule[] {
  const base = f.id ?? `policy.forbid.${i}`;
  const cond = f.when ? condition(f.when, ['policy', 'forbid', i, 'when'], issues) : undefined;
  const principals: RulePrincipal[] = [];
  for (const a of f.agents ?? []) principals.push({ kind: 'agent', id: a });
  (f.roles ?? []).forEach((r, k) => {
    if (!roles.has(r)) {
      issues.push({
        path: ['policy', 'forbid', i, 'roles', k],
        message: `found role "${r}", expected one of the roles defined under roles (${[...roles.keys()].join(', ') || 'none'})`,
      });
    }
    principals.push({ kind: 'role', id: r });
  });
  if (principals.length === 0) principals.push({ kind: 'any' });
  return principals.map((principal, k) => ({
    id: principals.length > 1 ? `${base}#${k}` : base,
    idx: 0,
    effect: 'forbid' as const,
    principal,
    tools: f.tools,
    ...(f.resources ? { resources: f.resources } : {}),
    ...(cond ? { condition: cond } : {}),
    ...(f.reason ? { reason: f.reason } : {}),
    contextAware: false,
    audit: 'normal' as const,
    delegable: false,
    maxDepth: 0,
    source: 'config' as const,
  }));
}

/**
 * Runtime grants whose chain is intact: a delegation from a configuration grant lapses, with everything delegated
 * from it, when the file no longer has that rule as a delegable permit.
 */
function liveDelegations(configRules: readonly Rule[], grants: readonly RuntimeGrantRecord[]): RuntimeGrantRecord[] {
  const delegable = new Set(configRules.filter((r) => r.effect === 'permit' && r.delegable).map((r) => r.id));
  const dead = new Set<string>();
  for (const g of grants) if (g.originRule && g.parentId === null && !delegable.has(g.originRule)) dead.add(g.id);
  for (let grew = dead.size > 0; grew; ) {
    grew = false;
    for (const g of grants) {
      if (g.parentId !== null && dead.has(g.parentId) && !dead.has(g.id)) {
        dead.add(g.id);
        grew = true;
      }
    }
  }
  return grants.filter((g) => !dead.has(g.id));
}

function runtimeRule(g: RuntimeGrantRecord, issues: PolicyIssue[]): Rule {
  const cond = g.when ? condition(g.when, ['grants', g.id, 'when'], issues) : undefined;
  return {
    id: `grant:${g.id}`,
    idx: 0,
    effect: 'permit',
    principal: { kind: 'agent', id: g.agent },
    tools: g.tools,
    ...(g.resources ? { resources: g.resources } : {}),
    ...(cond ? { condition: cond } : {}),
    ...(g.notBefore !== null ? { notBefore: g.notBefore } : {}),
    ...(g.expiresAt !== null ? { expires: g.expiresAt } : {}),
    contextAware: false,
    audit: 'normal',
    delegable: g.delegable,
    maxDepth: g.maxDepth,
    source: 'runtime',
  };
}

const DAY_INDEX: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** A recurring window as a predicate over epoch milliseconds (the injected clock). */
export function compileWindow(w: TimeWindowConfig): (now: number) => boolean {
  const sign = w.utc_offset.startsWith('-') ? -1 : 1;
  const [oh, om] = w.utc_offset.slice(1).split(':').map(Number) as [number, number];
  const offsetMs = sign * (oh * 60 + om) * 60_000;
  const days = w.days ? new Set(w.days.map((d) => DAY_INDEX[d]!)) : undefined;
  let from = 0;
  let to = 24 * 60;
  if (w.hours) {
    const [a, b] = w.hours.split('-') as [string, string];
    const mins = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
    from = mins(a);
    to = mins(b);
  }
  return (now) => {
    const local = new Date(now + offsetMs);
    if (days && !days.has(local.getUTCDay())) return false;
    const m = local.getUTCHours() * 60 + local.getUTCMinutes();
    // A range such as 22:00-06:00 wraps past midnight.
    return from <= to ? m >= from && m < to : m >= from || m < to;
  };
}
