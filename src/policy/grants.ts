import { randomBytes } from 'node:crypto';
import type { AuditSink } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import { GatehouseError, InputError, NotFoundError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import type { RuntimeGrantRecord } from './compile.js';
import { ConditionError, compileCondition } from './conditions.js';
import { POLICY_CHANNEL } from './epoch.js';
import { matchSegment, splitResource } from './resources.js';

/**
 * Runtime grants (CLI and HTTP): temporary capability grants with expiry, delegation from one agent to another
 * only as a subset of the parent (tools, resources, time; the parent's condition is always kept), bounded by
 * `max_depth`, and revocation that cascades to every descendant. Every change bumps the policy epoch in the
 * same transaction and is recorded in the audit log.
 */

/** A grant operation was refused; `status` is the HTTP status the gateway answers with. */
export class GrantError extends GatehouseError {
  readonly status: number;
  constructor(code: string, message: string) {
    super(code, message);
    this.status = code === 'grant.not_holder' ? 403 : 409;
  }
}

export const EPOCH_KEY = 'policy.epoch';

const MIGRATIONS = [
  {
    version: 1,
    name: 'runtime grants and role members',
    sql: `
      CREATE TABLE policy_grants (
        id TEXT PRIMARY KEY,
        parent_id TEXT REFERENCES policy_grants(id),
        agent TEXT NOT NULL,
        tools TEXT NOT NULL,
        resources TEXT,
        when_expr TEXT,
        not_before INTEGER,
        expires_at INTEGER,
        delegable INTEGER NOT NULL,
        max_depth INTEGER NOT NULL,
        depth INTEGER NOT NULL,
        granted_by TEXT NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_by TEXT
      );
      CREATE INDEX policy_grants_agent ON policy_grants(agent);
      CREATE INDEX policy_grants_parent ON policy_grants(parent_id);
      CREATE TABLE policy_role_members (
        role TEXT NOT NULL,
        agent TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (role, agent)
      );`,
  },
  {
    version: 2,
    name: 'delegation from configuration grants',
    sql: 'ALTER TABLE policy_grants ADD COLUMN origin_rule TEXT;',
  },
];

interface Row {
  id: string;
  parent_id: string | null;
  agent: string;
  tools: string;
  resources: string | null;
  when_expr: string | null;
  not_before: number | null;
  expires_at: number | null;
  delegable: number;
  max_depth: number;
  depth: number;
  granted_by: string;
  reason: string | null;
  created_at: number;
  revoked_at: number | null;
  revoked_by: string | null;
  origin_rule: string | null;
}

export interface Grant extends RuntimeGrantRecord {
  grantedBy: string;
  /** Set on a delegation whose parent is a delegable grant of the configuration (its rule id). */
  originRule: string | null;
  reason: string | null;
  createdAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
}

export interface NewGrant {
  agent: string;
  tools: string[];
  resources?: string[];
  when?: string;
  notBefore?: number;
  expiresAt?: number;
  delegable?: boolean;
  maxDepth?: number;
  by: string;
  reason?: string;
}

/** A delegable grant of the configuration, as a delegation parent. */
export interface ConfigGrant {
  id: string;
  tools: readonly string[];
  resources: readonly string[] | null;
  when: string | null;
  notBefore: number | null;
  expiresAt: number | null;
  maxDepth: number;
}

export interface Delegation {
  parent: string;
  to: string;
  tools?: string[];
  resources?: string[];
  when?: string;
  expiresAt?: number;
  delegable?: boolean;
  maxDepth?: number;
  /** Who asks: the parent's holder (an agent) or an operator/host acting for it. */
  by: string;
  /** When the caller is an agent, the delegation is only allowed from its own grants. */
  byAgent?: string;
  reason?: string;
}

const TOOL_RE = /^[A-Za-z0-9_.:/*-]{1,128}$/;
const AGENT_RE = /^[A-Za-z0-9_.:@/-]{1,256}$/;

function toGrant(r: Row): Grant {
  return {
    id: r.id,
    parentId: r.parent_id,
    agent: r.agent,
    tools: JSON.parse(r.tools) as string[],
    resources: r.resources === null ? null : (JSON.parse(r.resources) as string[]),
    when: r.when_expr,
    notBefore: r.not_before,
    expiresAt: r.expires_at,
    delegable: r.delegable === 1,
    maxDepth: r.max_depth,
    depth: r.depth,
    grantedBy: r.granted_by,
    reason: r.reason,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    originRule: r.origin_rule,
  };
}

/** Whether tool pattern `parent` covers every tool `child` can name. */
export function toolCovers(parent: string, child: string): boolean {
  if (parent === child || parent === '*') return true;
  const star = parent.indexOf('*');
  if (star < 0 || parent.includes('?')) return !/[*?]/.test(child) && parent === child;
  // Only a single trailing `*` is reasoned about; anything cleverer is refused (narrowing must be provable).
  if (star !== parent.length - 1) return false;
  return child.startsWith(parent.slice(0, -1));
}

/** Whether resource glob `parent` covers every resource `child` can match (segment-wise, provable cases only). */
export function resourceCovers(parent: string, child: string): boolean {
  const p = splitResource(parent);
  const c = splitResource(child);
  for (let i = 0; i < p.length; i++) {
    const ps = p[i]!;
    if (ps === '**') return i === p.length - 1 || p.slice(i + 1).every((x) => x === '**');
    const cs = c[i];
    if (cs === undefined || cs === '**') return false;
    if (ps === cs) continue;
    if (ps === '*') continue;
    if (/[*?]/.test(ps) && !/[*?]/.test(cs) && matchSegment(ps, cs)) continue;
    return false;
  }
  return c.length === p.length;
}

export class GrantStore {
  /** Grants kept in `store`, whose tables are migrated here. */
  static async open(store: Store, clock: Clock, audit: AuditSink | undefined, globalMaxDepth = 3): Promise<GrantStore> {
    await store.migrate('policy', MIGRATIONS);
    return new GrantStore(store, clock, audit, globalMaxDepth);
  }

  private constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AuditSink | undefined,
    private readonly globalMaxDepth: number,
  ) {}

  /** The current policy epoch (shared with the configuration loader). */
  async epoch(): Promise<number> {
    return Number((await this.store.getMeta(EPOCH_KEY)) ?? '0');
  }

  private async bumpEpoch(): Promise<number> {
    const e = (await this.epoch()) + 1;
    await this.store.setMeta(EPOCH_KEY, String(e));
    // Sent on commit: gateways caching the epoch (PolicyEpochCache) read it again.
    await this.store.signal(POLICY_CHANNEL);
    return e;
  }

  async get(id: string): Promise<Grant> {
    const r = await this.store.get<Row>('SELECT * FROM policy_grants WHERE id = ?', [id]);
    if (!r) throw new NotFoundError(`grant ${id}`);
    return toGrant(r);
  }

  async list(opts: { agent?: string; all?: boolean } = {}): Promise<Grant[]> {
    const now = this.clock.now();
    const rows = await this.store.all<Row>(
      // The casts give the optional parameter a type: PostgreSQL cannot infer one from `? IS NULL`.
      `SELECT * FROM policy_grants WHERE (CAST(? AS TEXT) IS NULL OR agent = ?) ${opts.all ? '' : 'AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)'} ORDER BY created_at, id`,
      opts.all ? [opts.agent ?? null, opts.agent ?? null] : [opts.agent ?? null, opts.agent ?? null, now],
    );
    return rows.map(toGrant);
  }

  /** Grants the engine compiles: not revoked, not expired. */
  active(): Promise<Grant[]> {
    return this.list();
  }

  async grant(g: NewGrant): Promise<Grant> {
    validate(g.agent, g.tools, g.resources, g.when);
    const now = this.clock.now();
    if (g.expiresAt !== undefined && g.expiresAt <= now) throw new InputError('expires', 'must be in the future');
    const maxDepth = g.maxDepth ?? 1;
    if (maxDepth > this.globalMaxDepth)
      throw new InputError('max_depth', `must be at most ${this.globalMaxDepth} (policy.delegation.max_depth)`);
    const grant: Grant = {
      id: `g-${randomBytes(8).toString('hex')}`,
      parentId: null,
      agent: g.agent,
      tools: g.tools,
      resources: g.resources ?? null,
      when: g.when ?? null,
      notBefore: g.notBefore ?? null,
      expiresAt: g.expiresAt ?? null,
      delegable: g.delegable ?? false,
      maxDepth,
      depth: 0,
      grantedBy: g.by,
      reason: g.reason ?? null,
      createdAt: now,
      revokedAt: null,
      revokedBy: null,
      originRule: null,
    };
    const epoch = await this.store.transaction(async () => {
      await this.insert(grant);
      return this.bumpEpoch();
    });
    await this.audit?.append(
      { type: 'policy.grant_created', agent: g.agent, actor: g.by, epoch, data: summary(grant) },
      { durable: true },
    );
    return grant;
  }

  /** Delegates a narrowed copy of grant `parent` to another agent; refuses anything that is not a subset. */
  async delegate(d: Delegation): Promise<Grant> {
    return this.delegateFrom(await this.get(d.parent), d);
  }

  /**
   * Delegates from a delegable grant of the configuration, held by `d.byAgent` (the caller checked that it holds
   * it). The child records the rule it came from; if the rule stops being delegable, the child stops applying.
   */
  async delegateFromRule(rule: ConfigGrant, d: Delegation & { byAgent: string }): Promise<Grant> {
    const parent: Grant = {
      id: `rule:${rule.id}`,
      parentId: null,
      agent: d.byAgent,
      tools: [...rule.tools],
      resources: rule.resources ? [...rule.resources] : null,
      when: rule.when,
      notBefore: rule.notBefore,
      expiresAt: rule.expiresAt,
      delegable: true,
      maxDepth: rule.maxDepth,
      depth: 0,
      grantedBy: 'config',
      reason: null,
      createdAt: 0,
      revokedAt: null,
      revokedBy: null,
      originRule: rule.id,
    };
    return this.delegateFrom(parent, d);
  }

  private async delegateFrom(parent: Grant, d: Delegation): Promise<Grant> {
    const now = this.clock.now();
    if (d.byAgent !== undefined && d.byAgent !== parent.agent) {
      throw new GrantError('grant.not_holder', `grant ${parent.id} belongs to ${parent.agent}, not ${d.byAgent}`);
    }
    if (parent.revokedAt !== null) throw new GrantError('grant.revoked', `grant ${parent.id} is revoked`);
    if (parent.expiresAt !== null && parent.expiresAt <= now)
      throw new GrantError('grant.expired', `grant ${parent.id} has expired`);
    if (!parent.delegable) throw new GrantError('grant.not_delegable', `grant ${parent.id} is not delegable`);
    const depth = parent.depth + 1;
    if (depth > parent.maxDepth || depth > this.globalMaxDepth) {
      throw new GrantError(
        'grant.max_depth',
        `delegating grant ${parent.id} would exceed its max_depth of ${Math.min(parent.maxDepth, this.globalMaxDepth)}`,
      );
    }
    if (d.to === parent.agent) throw new InputError('to', 'cannot delegate a grant to its own holder');
    const tools = d.tools ?? parent.tools;
    const resources = d.resources ?? parent.resources ?? undefined;
    validate(d.to, tools, resources, d.when);
    const wider = tools.filter((t) => !parent.tools.some((p) => toolCovers(p, t)));
    if (wider.length > 0)
      throw new GrantError('grant.not_subset', `tools ${wider.join(', ')} are not within the parent grant's tools`);
    if (parent.resources !== null) {
      if (!resources)
        throw new GrantError(
          'grant.not_subset',
          'the parent grant is limited to resources; the delegation must be too',
        );
      const outside = resources.filter((r) => !parent.resources!.some((p) => resourceCovers(p, r)));
      if (outside.length > 0)
        throw new GrantError(
          'grant.not_subset',
          `resources ${outside.join(', ')} are not within the parent grant's resources`,
        );
    }
    if (d.expiresAt !== undefined && d.expiresAt <= now) throw new InputError('expires', 'must be in the future');
    if (parent.expiresAt !== null && d.expiresAt !== undefined && d.expiresAt > parent.expiresAt) {
      throw new GrantError('grant.not_subset', 'the delegation cannot outlive its parent grant');
    }
    if (d.delegable && depth >= parent.maxDepth) {
      throw new GrantError(
        'grant.max_depth',
        `a grant at depth ${depth} of max_depth ${parent.maxDepth} cannot be delegable`,
      );
    }
    // The parent's condition always applies; the child's can only add to it.
    const when = parent.when && d.when ? `(${parent.when}) && (${d.when})` : (parent.when ?? d.when ?? null);
    if (when) validate(d.to, tools, resources, when);
    const fromRule = parent.id.startsWith('rule:');
    const child: Grant = {
      id: `g-${randomBytes(8).toString('hex')}`,
      parentId: fromRule ? null : parent.id,
      agent: d.to,
      tools,
      resources: resources ?? null,
      when,
      notBefore: parent.notBefore,
      expiresAt: d.expiresAt ?? parent.expiresAt,
      delegable: d.delegable ?? false,
      maxDepth: Math.min(d.maxDepth ?? parent.maxDepth, parent.maxDepth),
      depth,
      grantedBy: d.by,
      reason: d.reason ?? null,
      createdAt: now,
      revokedAt: null,
      revokedBy: null,
      originRule: fromRule ? parent.id.slice(5) : parent.originRule,
    };
    const epoch = await this.store.transaction(async () => {
      // Re-read inside the transaction: a concurrent revoke must not leave an orphan live child.
      if (!fromRule) {
        const p = await this.store.get<{ revoked_at: number | null }>(
          'SELECT revoked_at FROM policy_grants WHERE id = ?',
          [parent.id],
        );
        if (!p || p.revoked_at !== null) throw new GrantError('grant.revoked', `grant ${parent.id} is revoked`);
      }
      await this.insert(child);
      return this.bumpEpoch();
    });
    await this.audit?.append(
      {
        type: 'policy.grant_delegated',
        agent: d.to,
        actor: d.by,
        epoch,
        data: { ...summary(child), from: parent.agent },
      },
      { durable: true },
    );
    return child;
  }

  /** Revokes a grant and every grant delegated from it, transitively. Returns the ids revoked. */
  async revoke(id: string, by: string, reason?: string): Promise<string[]> {
    await this.get(id);
    const now = this.clock.now();
    const { ids, epoch } = await this.store.transaction(async () => {
      const rows = await this.store.all<{ id: string }>(
        `WITH RECURSIVE tree(id) AS (SELECT id FROM policy_grants WHERE id = ?
           UNION SELECT g.id FROM policy_grants g JOIN tree t ON g.parent_id = t.id)
         SELECT id FROM tree`,
        [id],
      );
      const ids = rows.map((r) => r.id);
      for (const g of ids) {
        await this.store.run(
          'UPDATE policy_grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL',
          [now, by, g],
        );
      }
      return { ids, epoch: await this.bumpEpoch() };
    });
    await this.audit?.append(
      { type: 'policy.grant_revoked', actor: by, epoch, data: { id, cascade: ids, ...(reason ? { reason } : {}) } },
      { durable: true },
    );
    return ids;
  }

  /**
   * Whether `agent` is a member of `role` as far as this process has seen (memory only). Membership only grows,
   * so a positive answer is final; a negative one needs `standing`.
   */
  knownMember(role: string, agent: string): boolean {
    return this.members.has(`${role}\u0000${agent}`);
  }

  /** Whether `agent` is a member of `role`, and how many members the role has. Changes nothing. */
  async standing(role: string, agent: string): Promise<{ member: boolean; members: number }> {
    const member =
      this.knownMember(role, agent) ||
      (await this.store.get('SELECT 1 AS x FROM policy_role_members WHERE role = ? AND agent = ?', [role, agent])) !==
        undefined;
    const row = await this.store.get<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM policy_role_members WHERE role = ?',
      [role],
    );
    return { member, members: Number(row?.n ?? 0) };
  }

  /** Admits an agent to a capped role (first come, first served, persisted); false when the role is full. */
  async admitToRole(role: string, agent: string, max: number): Promise<boolean> {
    if (this.knownMember(role, agent)) return true;
    const admitted = await this.store.transaction(async () => {
      const s = await this.standing(role, agent);
      if (s.member) return true;
      if (s.members >= max) return false;
      await this.store.run('INSERT INTO policy_role_members (role, agent, since) VALUES (?, ?, ?)', [
        role,
        agent,
        this.clock.now(),
      ]);
      return true;
    });
    if (admitted) this.remember(role, agent);
    return admitted;
  }

  private readonly members = new Set<string>();

  private remember(role: string, agent: string): void {
    if (this.members.size < 100_000) this.members.add(`${role}\u0000${agent}`);
  }

  private async insert(g: Grant): Promise<void> {
    await this.store.run(
      `INSERT INTO policy_grants (id, parent_id, agent, tools, resources, when_expr, not_before, expires_at, delegable, max_depth, depth,
         granted_by, reason, created_at, origin_rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        g.id,
        g.parentId,
        g.agent,
        JSON.stringify(g.tools),
        g.resources === null ? null : JSON.stringify(g.resources),
        g.when,
        g.notBefore,
        g.expiresAt,
        g.delegable ? 1 : 0,
        g.maxDepth,
        g.depth,
        g.grantedBy,
        g.reason,
        g.createdAt,
        g.originRule,
      ],
    );
  }
}

function validate(agent: string, tools: string[], resources: string[] | undefined, when: string | undefined): void {
  if (!AGENT_RE.test(agent)) throw new InputError('agent', 'may contain only letters, digits and _ . : @ / -');
  if (tools.length === 0) throw new InputError('tools', 'at least one tool is required');
  for (const t of tools) if (!TOOL_RE.test(t)) throw new InputError('tools', `"${t}" is not a tool name or pattern`);
  for (const r of resources ?? [])
    if (r.length === 0 || r.length > 1024) throw new InputError('resources', 'patterns are 1-1024 characters');
  if (when) {
    try {
      compileCondition(when, 'when');
    } catch (err) {
      if (err instanceof ConditionError) throw new InputError('', err.message);
      throw err;
    }
  }
}

function summary(g: Grant): Record<string, unknown> {
  return {
    id: g.id,
    parent: g.parentId,
    ...(g.originRule ? { originRule: g.originRule } : {}),
    tools: g.tools,
    resources: g.resources,
    when: g.when,
    expiresAt: g.expiresAt,
    delegable: g.delegable,
    maxDepth: g.maxDepth,
    depth: g.depth,
  };
}

/** Public view of a runtime grant. */
export function grantView(g: Grant): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: g.id,
    parent: g.parentId,
    originRule: g.originRule,
    agent: g.agent,
    tools: g.tools,
    resources: g.resources,
    when: g.when,
    notBefore: iso(g.notBefore),
    expiresAt: iso(g.expiresAt),
    delegable: g.delegable,
    maxDepth: g.maxDepth,
    depth: g.depth,
    grantedBy: g.grantedBy,
    reason: g.reason,
    createdAt: iso(g.createdAt),
    revokedAt: iso(g.revokedAt),
    revokedBy: g.revokedBy,
  };
}
