import type { Config } from '../config/schema.js';
import type { Action } from '../core/action.js';
import type { AuditSink } from '../core/audit.js';
import { canonicalize } from '../core/canonical.js';
import type { Clock } from '../core/clock.js';
import type { Principal, Reason, Verdict } from '../core/decision.js';
import { COMMIT_OK, type PendingEffect } from '../core/effects.js';
import { ConfigError, GatehouseError, InputError, NotFoundError } from '../core/errors.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import type { Store } from '../store/store.js';
import { type CompiledPolicy, compilePolicy, type Rule } from './compile.js';
import { PolicyEpochCache } from './epoch.js';
import { Authorizer, type AuthzResult } from './evaluate.js';
import { type Delegation, type Grant, GrantError, GrantStore } from './grants.js';
import { Limits } from './limits.js';
import { type CompiledToolRules, compileToolRules } from './tools.js';

const STAGE = 'authorize';

export interface PolicyEngineOptions {
  config: Config;
  store: Store;
  clock: Clock;
  /** Root that path arguments resolve against (policy.workspace, resolved by the caller). */
  workspace: string;
  audit?: AuditSink;
  /** Where the configuration came from, for error messages. */
  source?: string;
  /** Roles of a registered agent (the identity registry), for calls that name only the agent. */
  registeredRoles?: (agent: string) => readonly string[];
}

/** Everything the engine concluded about one action: what `policy explain` prints. */
export interface Explanation {
  effect: 'allow' | 'deny';
  epoch: number;
  agent: string;
  tool?: string;
  roles: string[];
  resource?: string;
  args: { ok: boolean; reasons: Reason[] };
  policy?: Omit<AuthzResult, 'charged'>;
  limits?: { ok: boolean; reasons: Reason[] };
  reasons: Reason[];
  /** What an allowed call would charge (rate limits, budgets, grant caps, role admissions); nothing is spent here. */
  effects: PendingEffect[];
}

/**
 * The authorization engine as Gatehouse runs it: the compiled policy (file + runtime grants), tool argument
 * rules, limits and the policy epoch. It notices changes other processes make (a grant from the CLI) through
 * the epoch in the store and recompiles.
 */
export class PolicyEngine {
  private authorizer!: Authorizer;
  private loadedEpoch = -1;
  /** Role admissions the evaluation in progress relied on (evaluation is synchronous, so one list suffices). */
  private admissions: Array<{ role: string; agent: string; max: number }> = [];
  /** The store reads the authorizer's hooks answer from during the evaluation in progress (see `withAnswers`). */
  private answers: HookAnswers;
  /** The store's epoch, cached while the store's change signal is delivered (see `PolicyEpochCache`). */
  private readonly epochs: PolicyEpochCache;

  /** Migrates the policy and limits tables and compiles the policy. */
  static async open(opts: PolicyEngineOptions): Promise<PolicyEngine> {
    const toolRules = new Map<string, CompiledToolRules>();
    return configErrors(opts, async () => {
      for (const [name, tool] of Object.entries(opts.config.tools)) {
        toolRules.set(name, compileToolRules(name, tool, opts.workspace));
      }
      const grants = await GrantStore.open(opts.store, opts.clock, opts.audit, opts.config.policy.delegation.max_depth);
      const e = new PolicyEngine(opts, grants, await Limits.open(opts.config.limits, opts.store), toolRules);
      await e.refresh();
      return e;
    });
  }

  private constructor(
    private readonly opts: PolicyEngineOptions,
    readonly grants: GrantStore,
    readonly limits: Limits,
    private readonly toolRules: ReadonlyMap<string, CompiledToolRules>,
  ) {
    this.answers = new HookAnswers(grants, limits);
    this.epochs = new PolicyEpochCache(opts.store, () => grants.epoch());
    this.epochs.start();
  }

  /** Stops watching the store for epoch changes. */
  close(): void {
    this.epochs.stop();
  }

  /** The store's policy epoch, from memory while that is known to be current (`PolicyEpochCache`). */
  epoch(): Promise<number> {
    return this.epochs.current();
  }

  /**
   * Re-runs the role, grant and forbid rules for a recorded decision at its recorded time, without argument rules
   * (the audit log keeps argument names, not values): what `policy replay` compares.
   */
  async authorizeRecorded(r: {
    agent: string;
    roles: string[];
    tool: string;
    session: string;
    at: number;
  }): Promise<AuthzResult> {
    await this.refresh();
    return this.withAnswers(() =>
      this.authorizer.authorize({
        agent: r.agent,
        roles: this.rolesOf({ agent: r.agent, roles: r.roles }),
        tool: r.tool,
        kind: 'tool_call',
        args: {},
        context: {},
        session: { id: r.session, labels: [] },
        now: r.at,
      }),
    );
  }

  /** The compiled policy, recompiled first if the store's epoch moved. */
  async compiled(): Promise<CompiledPolicy> {
    await this.refresh();
    return this.authorizer.policy;
  }

  /**
   * The epoch decisions are made under; recompiles when the store's epoch moved. `known` is the epoch this decision
   * already read from the store (the pipeline reads it once per decision), so judging does not read it again.
   */
  async refresh(known?: number): Promise<number> {
    const epoch = known ?? (await this.epochs.current());
    if (epoch !== this.loadedEpoch) {
      const compiled = compilePolicy({
        roles: this.opts.config.roles,
        policy: this.opts.config.policy,
        agents: this.opts.config.identity.agents,
        runtimeGrants: await this.grants.active(),
      });
      this.authorizer = new Authorizer(compiled, {
        // Judging only asks whether the agent would be admitted; the admission itself is an effect of an allowed call.
        admitToRole: (role, agent, max) => {
          if (this.grants.knownMember(role, agent)) return true;
          const s = this.answers.standing(role, agent);
          if (!s) return false;
          const ok = s.member || s.members < max;
          if (ok && !s.member) this.admissions.push({ role, agent, max });
          return ok;
        },
        callsThisHour: (rule, agent, now) => this.answers.callsThisHour(rule, agent, now),
      });
      this.loadedEpoch = epoch;
    }
    return epoch;
  }

  /**
   * Runs a synchronous evaluation of the authorizer, answering its hooks from the store: a run that asked for
   * something not yet read is repeated once that is read. A policy without capped roles or hourly grant limits
   * never asks, so it costs no store read.
   */
  private async withAnswers<T>(run: () => T): Promise<T> {
    return (await this.withAdmissions(run)).result;
  }

  /** `withAnswers`, also returning the role admissions the final run relied on. */
  private async withAdmissions<T>(
    run: () => T,
  ): Promise<{ result: T; admissions: Array<{ role: string; agent: string; max: number }> }> {
    const answers = new HookAnswers(this.grants, this.limits);
    for (;;) {
      this.answers = answers;
      this.admissions = [];
      const result = run();
      const admissions = this.admissions;
      this.admissions = [];
      if (!(await answers.load())) return { result, admissions };
    }
  }

  /**
   * Delegates a narrowed copy of a grant: a runtime grant id (`g-…`), or a delegable grant of the configuration
   * (`rule:<rule id>`, e.g. `rule:roles.assistant.grants.0`), which `byAgent` must hold through its roles or by name.
   */
  async delegate(d: Delegation): Promise<Grant> {
    if (!d.parent.startsWith('rule:')) return this.grants.delegate(d);
    await this.refresh();
    const id = d.parent.slice(5);
    const rule = this.authorizer.policy.rules.find(
      (r) => r.id === id && r.effect === 'permit' && r.source === 'config',
    );
    if (!rule) throw new NotFoundError(`configuration grant ${id}`);
    if (!rule.delegable) throw new GrantError('grant.not_delegable', `grant ${id} is not delegable`);
    if (rule.window || rule.contextAware || rule.maxCallsPerHour !== undefined) {
      throw new GrantError(
        'grant.not_delegable',
        `grant ${id} has time-window, context or call-limit constraints, which delegation cannot carry`,
      );
    }
    if (!d.byAgent) throw new InputError('from', 'name the agent that holds the grant and delegates it');
    const now = this.opts.clock.now();
    const byAgent = d.byAgent;
    const roles = await this.withAnswers(() =>
      this.authorizer.effectiveRoles(
        byAgent,
        this.rolesOf({ agent: byAgent, roles: [...(this.opts.registeredRoles?.(byAgent) ?? [])] }),
        now,
      ),
    );
    const p = rule.principal;
    const direct = this.rolesOf({ agent: d.byAgent, roles: [...(this.opts.registeredRoles?.(d.byAgent) ?? [])] });
    const holds =
      p.kind === 'any' ||
      (p.kind === 'agent' && p.id === d.byAgent) ||
      (p.kind === 'role' && roles.includes(p.id)) ||
      (p.kind === 'role-direct' && direct.includes(p.id) && roles.includes(p.id));
    if (!holds) throw new GrantError('grant.not_holder', `${d.byAgent} does not hold grant ${id}`);
    return this.grants.delegateFromRule(
      {
        id,
        tools: rule.tools,
        resources: rule.resources ?? null,
        when: rule.condition?.source ?? null,
        notBefore: rule.notBefore ?? null,
        expiresAt: rule.expires ?? null,
        maxDepth: rule.maxDepth,
      },
      { ...d, byAgent: d.byAgent },
    );
  }

  /** Direct roles of a principal: from its credentials and the file's assignments. */
  rolesOf(principal: Pick<Principal, 'agent' | 'roles'>): string[] {
    const assigned = this.authorizer.policy.assignments.get(principal.agent) ?? [];
    return [...new Set([...principal.roles, ...assigned])];
  }

  /**
   * The catalogue tools this agent may call; the MCP proxy lists only these. Roles default to the agent's
   * registered roles.
   *
   * @example
   * gh.policy.visibleTools('demo'); // ['fs.read', 'web.fetch', 'email.send']
   */
  async visibleTools(agent: string, roles?: readonly string[]): Promise<string[]> {
    await this.refresh();
    const direct = roles ?? this.opts.registeredRoles?.(agent) ?? [];
    return this.withAnswers(() =>
      this.authorizer.visibleTools(
        agent,
        this.rolesOf({ agent, roles: [...direct] }),
        Object.keys(this.opts.config.tools),
        this.opts.clock.now(),
      ),
    );
  }

  /** Whether `tool` is among the tools this principal could be permitted to call (`visibleTools`, for one tool). */
  async mayList(principal: Pick<Principal, 'agent' | 'roles'>, tool: string, epoch?: number): Promise<boolean> {
    await this.refresh(epoch);
    if (!this.opts.config.tools[tool]) return false;
    const visible = await this.withAnswers(() =>
      this.authorizer.visibleTools(principal.agent, this.rolesOf(principal), [tool], this.opts.clock.now()),
    );
    return visible.length > 0;
  }

  /**
   * Judges an action: argument rules, policy, limits. Changes nothing; an allowed result carries the charges it
   * would make as effects, which the pipeline commits only if the whole decision allows the call.
   */
  async evaluate(
    action: Action,
    principal: Pick<Principal, 'agent' | 'roles'> & Partial<Pick<Principal, 'method' | 'proofOfPossession'>>,
    labels: readonly string[],
    knownEpoch?: number,
  ): Promise<Explanation> {
    const epoch = await this.refresh(knownEpoch);
    const now = this.opts.clock.now();
    const roles = this.rolesOf(principal);
    const base = { epoch, agent: principal.agent, ...(action.tool ? { tool: action.tool } : {}) };
    const tool = action.tool ? this.opts.config.tools[action.tool] : undefined;
    const egressBytes =
      action.kind === 'egress'
        ? Buffer.byteLength(action.content ?? '') + (action.args ? Buffer.byteLength(canonicalize(action.args)) : 0)
        : tool?.sink === 'external' && action.args
          ? Buffer.byteLength(canonicalize(action.args))
          : 0;
    if (action.kind === 'egress') {
      const lim = await this.limits.check({ agent: principal.agent, cost: 0, egressBytes, now });
      return {
        ...base,
        effect: lim.ok ? 'allow' : 'deny',
        roles,
        args: { ok: true, reasons: [] },
        limits: { ok: lim.ok, reasons: lim.reasons },
        reasons: lim.reasons,
        effects: lim.ok ? lim.effects : [],
      };
    }
    const rules = action.tool ? this.toolRules.get(action.tool) : undefined;
    if (!action.tool || !tool || !rules) {
      const r: Reason = {
        code: 'policy.tool_unknown',
        message: `tool "${action.tool ?? ''}" is not in the catalogue`,
        evidence: action.tool ?? '',
      };
      return { ...base, effect: 'deny', roles, args: { ok: false, reasons: [r] }, reasons: [r], effects: [] };
    }
    const args = rules.check(action.args);
    if (!args.ok) {
      // The arguments alone decide: the policy is not consulted about a resource the action may not address.
      return {
        ...base,
        effect: 'deny',
        roles,
        args: { ok: false, reasons: args.reasons },
        reasons: args.reasons,
        effects: [],
      };
    }
    const resource = args.resource;
    const toolName = action.tool;
    const { result: policy, admissions } = await this.withAdmissions(() =>
      this.authorizer.authorize({
        agent: principal.agent,
        roles,
        tool: toolName,
        kind: action.kind,
        args: action.args ?? {},
        ...(resource !== undefined ? { resource } : {}),
        resources: args.resources,
        principal: {
          ...(principal.method ? { method: principal.method } : {}),
          proofOfPossession: principal.proofOfPossession === true,
        },
        context: action.context ?? {},
        session: { id: action.session, labels },
        now,
      }),
    );
    const { charged, ...publicPolicy } = policy;
    const out = {
      ...base,
      roles: policy.roles,
      ...(resource !== undefined ? { resource } : {}),
      args: { ok: args.ok, reasons: args.reasons },
      policy: publicPolicy,
    };
    if (policy.decision === 'deny') return { ...out, effect: 'deny', reasons: policy.reasons, effects: [] };
    const lim = await this.limits.check({
      agent: principal.agent,
      tool: action.tool,
      cost: tool.cost,
      egressBytes,
      now,
    });
    const limits = { ok: lim.ok, reasons: lim.reasons };
    if (!lim.ok) return { ...out, effect: 'deny', limits, reasons: [...policy.reasons, ...lim.reasons], effects: [] };
    const effects = [...lim.effects];
    const grantCharge = this.limits.grantCharge(charged, principal.agent, now);
    if (grantCharge) effects.push(grantCharge);
    for (const a of admissions) effects.push(this.admission(a.role, a.agent, a.max));
    return { ...out, effect: 'allow', limits, reasons: policy.reasons, effects };
  }

  private admission(role: string, agent: string, max: number): PendingEffect {
    return {
      kind: 'grant.charge',
      on: ['allow'],
      summary: `admit ${agent} to role ${role} (at most ${max} members)`,
      commit: async () =>
        (await this.grants.admitToRole(role, agent, max))
          ? COMMIT_OK
          : {
              ok: false,
              reason: {
                code: 'policy.role.full',
                message: `role ${role} reached its ${max} members while this call was judged`,
                ruleId: `roles.${role}`,
              },
            },
    };
  }
}

/**
 * The authorize stage: tool argument rules, then the policy (permit needed, any forbid wins), then limits.
 * Egress actions are held to the data-transfer budget. A `tool_listing` is visible when the agent could be
 * permitted to call the tool (what `visibleTools` lists); it charges nothing.
 */
export function createAuthorizeStage(engine: PolicyEngine): Stage {
  return {
    name: STAGE,
    kinds: ['tool_call', 'egress', 'tool_listing'],
    async run(ctx: StageContext): Promise<Verdict> {
      const principal = ctx.facts.principal;
      if (!principal) {
        return {
          stage: STAGE,
          effect: 'deny',
          risk: 0,
          reasons: [{ code: 'policy.no_principal', message: 'no authenticated principal; nothing is permitted' }],
        };
      }
      const epoch = ctx.facts.policyEpoch;
      if (ctx.action.kind === 'tool_listing') return judgeVisibility(engine, principal, ctx.action.tool ?? '', epoch);
      const e = await engine.evaluate(ctx.action, principal, [...ctx.session.labels], epoch);
      const facts = { policyEpoch: e.epoch };
      if (e.effect === 'deny') {
        const argDeny = !e.args.ok;
        return { stage: STAGE, effect: 'deny', risk: argDeny ? 8 : 5, reasons: e.reasons, facts };
      }
      return {
        stage: STAGE,
        effect: 'allow',
        risk: 0,
        reasons: e.reasons,
        facts,
        effects: e.effects,
        ...(e.policy?.verbose ? { flag: true } : {}),
      };
    },
  };
}

async function judgeVisibility(
  engine: PolicyEngine,
  principal: Principal,
  tool: string,
  known: number | undefined,
): Promise<Verdict> {
  const epoch = await engine.refresh(known);
  const facts = { policyEpoch: epoch };
  if (await engine.mayList(principal, tool, epoch)) {
    return {
      stage: STAGE,
      effect: 'allow',
      risk: 0,
      facts,
      reasons: [{ code: 'policy.visible', message: `${principal.agent} may be permitted to call ${tool}` }],
    };
  }
  return {
    stage: STAGE,
    effect: 'deny',
    risk: 0,
    facts,
    reasons: [{ code: 'mcp.tool.not_visible', message: `${principal.agent} may not call ${tool}` }],
  };
}

/** Turns a policy error of the configuration (a condition that does not type-check, a bad pattern) into a ConfigError. */
async function configErrors<T>(opts: PolicyEngineOptions, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GatehouseError && err.code.startsWith('policy.')) {
      throw new ConfigError(opts.source ?? 'gatehouse.yaml', undefined, '', err.message);
    }
    throw err;
  }
}

/**
 * Store reads the authorizer's hooks need during one evaluation. A hook asking for something not read yet gets
 * the restrictive answer and the question is queued; `load` reads the queued ones so the run can be repeated.
 */
class HookAnswers {
  private readonly calls = new Map<string, number>();
  private readonly roles = new Map<string, { member: boolean; members: number }>();
  private readonly queued = new Map<string, () => Promise<void>>();

  constructor(
    private readonly grants: GrantStore,
    private readonly limits: Limits,
  ) {}

  callsThisHour(rule: Rule, agent: string, now: number): number {
    const key = `${rule.id}\u0000${agent}`;
    const n = this.calls.get(key);
    if (n !== undefined) return n;
    this.queued.set(`calls:${key}`, async () => {
      this.calls.set(key, await this.limits.callsThisHour(rule, agent, now));
    });
    return Number.POSITIVE_INFINITY;
  }

  standing(role: string, agent: string): { member: boolean; members: number } | undefined {
    const key = `${role}\u0000${agent}`;
    const s = this.roles.get(key);
    if (s) return s;
    this.queued.set(`role:${key}`, async () => {
      this.roles.set(key, await this.grants.standing(role, agent));
    });
    return undefined;
  }

  /** Reads what the last run asked for; false when it asked for nothing (its result stands). */
  async load(): Promise<boolean> {
    if (this.queued.size === 0) return false;
    const queued = [...this.queued.values()];
    this.queued.clear();
    for (const q of queued) await q();
    return true;
  }
}
