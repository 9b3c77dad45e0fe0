import type { Reason } from '../core/decision.js';
import type { CompiledPolicy, Rule } from './compile.js';
import { activation } from './conditions.js';
import { matchToolPattern, ResourceTrie, splitResource } from './resources.js';

export interface AuthzRequest {
  agent: string;
  /** Roles the agent holds directly (from its credentials and the file's assignments). */
  roles: readonly string[];
  tool: string;
  kind: string;
  args: Record<string, unknown>;
  /** The resource the action addresses; undefined when it addresses none. */
  resource?: string;
  /**
   * Every resource the action addresses (each path argument, list elements included), `resource` first. A permit
   * with resource patterns must cover all of them, a forbid with resource patterns applies when it matches any.
   * Defaults to `[resource]`. With none, resource patterns do not constrain a permit and a forbid with resource
   * patterns does not apply.
   */
  resources?: readonly string[];
  /** How the principal authenticated (what conditions see as `principal.method` / `.proofOfPossession`). */
  principal?: { method?: string; proofOfPossession?: boolean };
  context: Record<string, unknown>;
  session: { id: string; labels: readonly string[] };
  now: number;
}

export interface ConditionFailure {
  ruleId: string;
  message: string;
}

export interface AuthzResult {
  decision: 'allow' | 'deny';
  /** Ids of the permits that were satisfied (all of them decide an allow). */
  permits: string[];
  /** Ids of the forbids that were satisfied (all of them decide a deny). */
  forbids: string[];
  /**
   * Rules whose condition errored: a permit that errors does not permit, a forbid that errors denies (it is
   * listed in `forbids` too, with reason `policy.forbid.condition_error`).
   */
  errors: ConditionFailure[];
  /** Effective roles, inherited ones included. */
  roles: string[];
  reasons: Reason[];
  /** A satisfied rule asked for verbose auditing. */
  verbose: boolean;
  /** Satisfied permits that carry an hourly call limit, when no unlimited permit was satisfied. */
  charged: Rule[];
}

export interface AuthorizerHooks {
  /** Admits `agent` to a role with `max_agents`; false when the role is full. */
  admitToRole?(role: string, agent: string, max: number): boolean;
  /** Calls made through `rule` by `agent` in the last hour. */
  callsThisHour?(rule: Rule, agent: string, now: number): number;
}

/** The rules of one (principal key, tool) pair, with their resource globs compiled into one trie. */
interface Bucket {
  forbids: Rule[];
  permits: Rule[];
  trie: ResourceTrie<Rule>;
}

interface RequestState {
  req: AuthzRequest;
  roles: string[];
  reasons: Reason[];
  errors: ConditionFailure[];
  resources: readonly string[];
  /** One activation per resource (or one with `resource: ""` when there is none), built on first use. */
  acts: Array<Record<string, unknown> | undefined>;
}

/** Why a rule is or is not satisfied: `error` means its condition could not be evaluated. */
type Outcome = 'yes' | 'no' | 'error';

interface Principals {
  roles: string[];
  keys: string[];
  /** tool → the non-empty buckets of these keys (cached when the principal set is cached). */
  byTool: Map<string, Bucket[]>;
}

const MAX_CACHE = 50_000;

/**
 * The decision engine, with Cedar's semantics except that it fails closed: default deny; allowed only if some
 * permit is satisfied and no forbid is; a permit whose condition errors does not permit, and a forbid whose
 * condition errors denies (an agent controls the arguments a condition reads: `amount: "5000"` must not switch a
 * forbid off). Candidate rules come from the (principal, tool) index, their resource globs are matched in one
 * trie walk per resource, conditions run last.
 *
 * @example
 * const engine = new Authorizer(compilePolicy({ roles, policy }));
 * const r = engine.authorize({ agent: 'a1', roles: ['reader'], tool: 'fs.read', kind: 'tool_call', args: {},
 *   resource: 'workspace/notes.md', context: {}, session: { id: 's', labels: [] }, now: Date.now() });
 * r.decision; // 'allow' | 'deny', r.permits / r.forbids name the deciding rules
 */
export class Authorizer {
  private readonly buckets = new Map<string, Map<string, Bucket | undefined>>();
  private readonly principals = new Map<string, Principals>();
  /** Per-request marks of rules whose resource globs matched some resource: stamp[rule.idx] === this.tick. */
  private readonly stamp: Uint32Array;
  /** For stamped rules: how many of the request's resources they matched, and the last one counted. */
  private readonly hits: Uint32Array;
  private readonly lastHit: Int32Array;
  private tick = 0;
  /** Reused per request (authorize is synchronous). */
  private readonly matched: Rule[] = [];

  constructor(
    readonly policy: CompiledPolicy,
    private readonly hooks: AuthorizerHooks = {},
  ) {
    this.stamp = new Uint32Array(policy.rules.length);
    this.hits = new Uint32Array(policy.rules.length);
    this.lastHit = new Int32Array(policy.rules.length);
  }

  /** Effective roles: direct roles and everything they inherit, minus roles outside their window or over their cap. */
  effectiveRoles(agent: string, direct: readonly string[], now: number, reasons?: Reason[]): string[] {
    const roles = this.policy.roles;
    if (!this.policy.dynamicRoles) {
      const all = new Set<string>();
      for (const r of direct) for (const x of roles.get(r)?.closure ?? []) all.add(x);
      return [...all];
    }
    // Walk the hierarchy, not entering roles that are closed right now: their parents come only through them.
    const out = new Set<string>();
    const stack = [...direct];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (out.has(name)) continue;
      const info = roles.get(name);
      if (!info) continue;
      if (info.active && !info.active(now)) {
        reasons?.push({
          code: 'policy.role.inactive',
          message: `role ${name} is outside its active window`,
          ruleId: `roles.${name}`,
        });
        continue;
      }
      if (info.maxAgents !== undefined && !(this.hooks.admitToRole?.(name, agent, info.maxAgents) ?? false)) {
        reasons?.push({
          code: 'policy.role.max_agents',
          message: `role ${name} already has its maximum of ${info.maxAgents} agents`,
          ruleId: `roles.${name}`,
        });
        continue;
      }
      out.add(name);
      for (const p of info.closure) if (p !== name) stack.push(p);
    }
    return [...out];
  }

  authorize(req: AuthzRequest): AuthzResult {
    const reasons: Reason[] = [];
    const p = this.principalsOf(req.agent, req.roles, req.now, reasons);
    const roles = p.roles;
    let buckets = p.byTool.get(req.tool);
    if (!buckets) {
      buckets = [];
      for (const k of p.keys) {
        const b = this.bucket(k, req.tool);
        if (b) buckets.push(b);
      }
      if (p.byTool.size < MAX_CACHE) p.byTool.set(req.tool, buckets);
    }
    this.tick = (this.tick + 1) >>> 0 || 1;
    const resources = req.resources ?? (req.resource !== undefined ? [req.resource] : []);
    const matched = this.matched;
    for (let k = 0; k < resources.length; k++) {
      const segs = splitResource(resources[k]!);
      matched.length = 0;
      for (const b of buckets) if (b.trie.size > 0) b.trie.matchSegments(segs, matched);
      for (const r of matched) {
        if (this.stamp[r.idx] !== this.tick) {
          this.stamp[r.idx] = this.tick;
          this.hits[r.idx] = 0;
          this.lastHit[r.idx] = -1;
        }
        // A rule may match one resource through several of its patterns: count the resource once.
        if (this.lastHit[r.idx] !== k) {
          this.lastHit[r.idx] = k;
          this.hits[r.idx]!++;
        }
      }
    }
    matched.length = 0;
    const st: RequestState = { req, roles, reasons, errors: [], resources, acts: [] };
    const forbids: string[] = [];
    let verbose = false;
    for (const b of buckets) {
      for (const r of b.forbids) {
        const o = this.satisfied(r, st);
        if (o === 'no') continue;
        forbids.push(r.id);
        if (r.audit === 'verbose') verbose = true;
        const err = o === 'error' ? st.errors[st.errors.length - 1] : undefined;
        reasons.push(
          err
            ? {
                code: 'policy.forbid.condition_error',
                message: `the condition of forbid ${r.id} could not be evaluated, so it denies: ${err.message}`,
                ruleId: r.id,
              }
            : {
                code: 'policy.forbid.matched',
                message: r.reason ?? `forbidden by rule ${r.id}`,
                ruleId: r.id,
                evidence: resources.length > 0 ? `${req.tool} ${resources.join(' ')}`.slice(0, 500) : req.tool,
              },
        );
      }
    }
    const permits: string[] = [];
    const limited: Rule[] = [];
    let unlimited = false;
    // A satisfied forbid decides alone; permits are only evaluated when they could decide.
    if (forbids.length === 0) {
      for (const b of buckets) {
        for (const r of b.permits) {
          if (this.satisfied(r, st) !== 'yes') continue;
          permits.push(r.id);
          if (r.audit === 'verbose') verbose = true;
          if (r.maxCallsPerHour !== undefined) limited.push(r);
          else unlimited = true;
        }
      }
    }
    const errors = st.errors;
    const forbidErrors = new Set(forbids);
    for (const e of errors) {
      if (forbidErrors.has(e.ruleId)) continue;
      reasons.push({
        code: 'policy.condition.error',
        message: `condition of ${e.ruleId} failed: ${e.message}`,
        ruleId: e.ruleId,
      });
    }
    const decision = forbids.length === 0 && permits.length > 0 ? 'allow' : 'deny';
    if (decision === 'allow') {
      reasons.push({ code: 'policy.permit', message: `permitted by ${permits.join(', ')}`, ruleId: permits[0]! });
    } else if (forbids.length === 0) {
      reasons.push({
        code: 'policy.no_permit',
        message: `no rule permits ${req.agent} to call ${req.tool}${req.resource ? ` on ${req.resource}` : ''} (default deny)`,
        evidence: roles.length > 0 ? `roles: ${roles.join(', ')}` : 'no roles',
      });
    }
    return {
      decision,
      permits,
      forbids,
      errors,
      roles,
      reasons,
      verbose,
      charged: decision === 'allow' && !unlimited ? limited : [],
    };
  }

  /**
   * Whether one candidate rule is satisfied: resources, validity period, window, session, condition, call limit.
   * A forbid with resource patterns needs some resource to match, a permit with them must match every one.
   */
  private satisfied(r: Rule, st: RequestState): Outcome {
    const req = st.req;
    const n = st.resources.length;
    if (r.resources) {
      if (n === 0) {
        if (r.effect === 'forbid') return 'no';
      } else {
        const hits = this.stamp[r.idx] === this.tick ? this.hits[r.idx]! : 0;
        if (r.effect === 'forbid' ? hits === 0 : hits < n) return 'no';
      }
    }
    if (r.notBefore !== undefined && req.now < r.notBefore) return 'no';
    if (r.expires !== undefined && req.now >= r.expires) return 'no';
    if (r.window && !r.window(req.now)) return 'no';
    if (r.contextAware && req.session.labels.includes('untrusted_instructions')) return 'no';
    if (r.condition) {
      // A condition on `resource` holds for a forbid if it holds for any resource, for a permit if for all.
      const runs = r.condition.perResource && n > 1 ? n : 1;
      let some = false;
      let all = true;
      for (let k = 0; k < runs; k++) {
        const res = r.condition.evaluate(this.activationFor(st, k));
        if (!res.ok) {
          st.errors.push({ ruleId: r.id, message: res.error });
          return 'error';
        }
        if (res.value) some = true;
        else all = false;
      }
      if (r.effect === 'forbid' ? !some : !all) return 'no';
    }
    if (r.maxCallsPerHour !== undefined && this.hooks.callsThisHour) {
      if (this.hooks.callsThisHour(r, req.agent, req.now) >= r.maxCallsPerHour) {
        st.reasons.push({
          code: 'policy.grant.limit',
          message: `grant ${r.id} allows ${r.maxCallsPerHour} calls per hour and they are used up`,
          ruleId: r.id,
        });
        return 'no';
      }
    }
    return 'yes';
  }

  private activationFor(st: RequestState, k: number): Record<string, unknown> {
    const hit = st.acts[k];
    if (hit) return hit;
    const req = st.req;
    const act =
      k > 0 && st.acts[0]
        ? { ...st.acts[0], resource: st.resources[k]! }
        : activation({
            principal: {
              agent: req.agent,
              roles: st.roles,
              method: req.principal?.method ?? 'unknown',
              proofOfPossession: req.principal?.proofOfPossession === true,
            },
            action: { tool: req.tool, kind: req.kind, args: req.args },
            resource: st.resources[k] ?? '',
            resources: st.resources,
            context: req.context,
            session: req.session,
            now: req.now,
          });
    st.acts[k] = act;
    return act;
  }

  /** Tools of `catalogue` this principal could be permitted to call (the MCP proxy hides the rest). */
  visibleTools(agent: string, direct: readonly string[], catalogue: readonly string[], now: number): string[] {
    const { keys } = this.principalsOf(agent, direct, now);
    return catalogue.filter((tool) => {
      const bs = keys.map((k) => this.bucket(k, tool)).filter((b): b is Bucket => b !== undefined);
      const unconditionalForbid = bs.some((b) =>
        b.forbids.some(
          (r) => !r.resources && !r.condition && !r.window && r.notBefore === undefined && r.expires === undefined,
        ),
      );
      const livePermit = bs.some((b) =>
        b.permits.some(
          (r) => (r.expires === undefined || r.expires > now) && (r.notBefore === undefined || r.notBefore <= now),
        ),
      );
      return livePermit && !unconditionalForbid;
    });
  }

  /** Effective roles and the principal keys of the index (`*`, `a:agent`, `r:role`, `d:role`). */
  private principalsOf(agent: string, direct: readonly string[], now: number, reasons?: Reason[]): Principals {
    const cacheKey = this.policy.dynamicRoles ? undefined : `${agent}\u0000${direct.join('\u0000')}`;
    if (cacheKey !== undefined) {
      const hit = this.principals.get(cacheKey);
      if (hit) return hit;
    }
    const roles = this.effectiveRoles(agent, direct, now, reasons);
    const keys = ['*', `a:${agent}`];
    for (const r of roles) keys.push(`r:${r}`);
    for (const r of direct) if (roles.includes(r)) keys.push(`d:${r}`);
    const p = { roles, keys, byTool: new Map<string, Bucket[]>() };
    if (cacheKey !== undefined) {
      if (this.principals.size >= MAX_CACHE) this.principals.clear();
      this.principals.set(cacheKey, p);
    }
    return p;
  }

  /** The (principal key, tool) bucket, built on first use from the index; undefined when it holds no rule. */
  private bucket(key: string, tool: string): Bucket | undefined {
    let byTool = this.buckets.get(key);
    if (!byTool) {
      if (this.buckets.size >= MAX_CACHE) this.buckets.clear();
      byTool = new Map();
      this.buckets.set(key, byTool);
    }
    if (byTool.has(tool)) return byTool.get(tool);
    const rules: Rule[] = [...(this.policy.exact.get(key)?.get(tool) ?? [])];
    for (const r of this.policy.wildcard.get(key) ?? []) {
      if (!rules.includes(r) && r.tools.some((p) => matchToolPattern(p, tool))) rules.push(r);
    }
    let b: Bucket | undefined;
    if (rules.length > 0) {
      const trie = new ResourceTrie<Rule>();
      for (const r of rules) for (const p of r.resources ?? []) trie.insert(p, r);
      b = {
        forbids: rules.filter((r) => r.effect === 'forbid'),
        permits: rules.filter((r) => r.effect === 'permit'),
        trie,
      };
    }
    // Bounded: tools come from the catalogue, principal keys from the policy and the agents seen.
    if (byTool.size < MAX_CACHE) byTool.set(tool, b);
    return b;
  }
}
