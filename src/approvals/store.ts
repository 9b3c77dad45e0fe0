import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApprovalsConfig } from '../config/sections/policy.js';
import { type Action, bindingHash } from '../core/action.js';
import type { AuditSink } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Reason, Tier } from '../core/decision.js';
import { GatehouseError, InputError, NotFoundError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { postWebhook, type WebhookTarget } from './webhook.js';

/**
 * Human approvals, persisted in the store. A request is bound to the SHA-256 of the canonical action; an
 * approval is single use and expires (15 minutes by default); approver identity and reason are recorded.
 * Approval fatigue is capped per agent (pending requests and requests per hour).
 */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used' | 'expired';

export interface ApprovalRecord {
  id: string;
  hash: string;
  status: ApprovalStatus;
  agent: string;
  session: string;
  tool: string | null;
  action: Action;
  tier: Tier;
  reasons: Reason[];
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  approver: string | null;
  decisionReason: string | null;
  usedAt: number | null;
  epoch: number;
  dryRun: { tool: string; status: 'pending' | 'done' | 'failed'; result?: unknown; error?: string } | null;
}

/** An approval operation was refused; `status` is the HTTP status the gateway answers with. */
export class ApprovalError extends GatehouseError {
  readonly status: number;
  constructor(code: string, message: string) {
    super(code, message);
    this.status = code === 'approval.self' ? 403 : code === 'approval.wait_timeout' ? 408 : 409;
  }
}

/** Runs a destructive tool's dry-run variant; the result is shown with the approval request. */
export type DryRunner = (action: Action) => Promise<unknown>;

const MIGRATIONS = [
  {
    version: 1,
    name: 'approvals',
    sql: `CREATE TABLE approvals (
      id TEXT PRIMARY KEY,
      hash TEXT NOT NULL,
      status TEXT NOT NULL,
      agent TEXT NOT NULL,
      session TEXT NOT NULL,
      tool TEXT,
      action_json TEXT NOT NULL,
      tier TEXT NOT NULL,
      reasons_json TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      decided_at INTEGER,
      approver TEXT,
      decision_reason TEXT,
      used_at INTEGER,
      epoch INTEGER NOT NULL,
      dry_run_json TEXT
    );
    CREATE INDEX approvals_hash ON approvals(hash, status);
    CREATE INDEX approvals_agent ON approvals(agent, created_at);
    CREATE INDEX approvals_status ON approvals(status, created_at);`,
  },
  {
    version: 2,
    name: 'integrity tag of decided approvals',
    sql: 'ALTER TABLE approvals ADD COLUMN tag TEXT;',
  },
];

interface Row {
  id: string;
  hash: string;
  status: ApprovalStatus;
  agent: string;
  session: string;
  tool: string | null;
  action_json: string;
  tier: Tier;
  reasons_json: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  approver: string | null;
  decision_reason: string | null;
  used_at: number | null;
  epoch: number;
  dry_run_json: string | null;
  tag?: string | null;
}

function toRecord(r: Row): ApprovalRecord {
  return {
    id: r.id,
    hash: r.hash,
    status: r.status,
    agent: r.agent,
    session: r.session,
    tool: r.tool,
    action: JSON.parse(r.action_json) as Action,
    tier: r.tier,
    reasons: JSON.parse(r.reasons_json) as Reason[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at,
    approver: r.approver,
    decisionReason: r.decision_reason,
    usedAt: r.used_at,
    epoch: r.epoch,
    dryRun: r.dry_run_json === null ? null : (JSON.parse(r.dry_run_json) as ApprovalRecord['dryRun']),
  };
}

/** What the gate finds for an action hash. */
export type Lookup =
  | { kind: 'approved'; record: ApprovalRecord }
  | { kind: 'denied'; record: ApprovalRecord }
  | { kind: 'expired'; record: ApprovalRecord }
  | { kind: 'pending'; record: ApprovalRecord }
  | { kind: 'tampered'; record: ApprovalRecord }
  | { kind: 'none' };

const ID_RE = /^apr-[0-9a-f]{16}$/;

/**
 * The approvals component.
 *
 * @example
 * const d = await gh.decide(action);            // effect 'review', d.approvalRequest = 'apr-…'
 * await gh.approvals.approve(d.approvalRequest!, 'operator:alice', 'looks right');
 * const rec = await gh.approvals.wait(d.approvalRequest!); // resolves once approved or denied
 * await gh.decide(action);                      // effect 'allow', single use
 */
export class Approvals {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly webhook: WebhookTarget | undefined;
  /** Delivery failures of the last webhook posts, for operators (never thrown into a decision). */
  readonly webhookErrors: string[] = [];
  private runner: DryRunner | undefined;

  /**
   * The approvals component on `store`, whose tables are migrated here. `integrityKey` keys the integrity tag on
   * decided rows (Gatehouse derives it from the master key).
   */
  static async open(
    store: Store,
    clock: Clock,
    config: ApprovalsConfig,
    audit: AuditSink | undefined,
    env: NodeJS.ProcessEnv = process.env,
    integrityKey: Buffer = randomBytes(32),
  ): Promise<Approvals> {
    await store.migrate('approvals', MIGRATIONS);
    return new Approvals(store, clock, config, audit, env, integrityKey);
  }

  private constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly config: ApprovalsConfig,
    private readonly audit: AuditSink | undefined,
    env: NodeJS.ProcessEnv,
    /** The gate honours an approval only with a valid tag, so editing the row in the database approves nothing. */
    private readonly integrityKey: Buffer,
  ) {
    const wh = config.webhook;
    if (wh) {
      const secret = env[wh.secret_env];
      if (!secret) {
        throw new ApprovalError(
          'approvals.webhook_secret_missing',
          `approvals.webhook.secret_env: environment variable ${wh.secret_env} is not set`,
        );
      }
      this.webhook = { url: wh.url, secret, timeoutMs: wh.timeout };
    }
  }

  /**
   * Registers the function that runs dry-run variants of destructive tools (`tools.X.dry_run`); the gate runs it
   * when it opens a request and stores the result with the request.
   */
  setDryRunner(fn: DryRunner | undefined): void {
    this.runner = fn;
  }

  get dryRunner(): DryRunner | undefined {
    return this.runner;
  }

  async get(id: string): Promise<ApprovalRecord> {
    if (!ID_RE.test(id)) throw new InputError('id', 'an approval id looks like apr-<16 hex digits>');
    const r = await this.store.get<Row>('SELECT * FROM approvals WHERE id = ?', [id]);
    if (!r) throw new NotFoundError(`approval ${id}`);
    return this.expireIfDue(toRecord(r));
  }

  async list(opts: { status?: ApprovalStatus; agent?: string; limit?: number } = {}): Promise<ApprovalRecord[]> {
    await this.sweep();
    const rows = await this.store.all<Row>(
      // The casts give the optional parameters a type: PostgreSQL cannot infer one from `? IS NULL`.
      `SELECT * FROM approvals WHERE (CAST(? AS TEXT) IS NULL OR status = ?) AND (CAST(? AS TEXT) IS NULL OR agent = ?)
       ORDER BY created_at DESC, id LIMIT ?`,
      [
        opts.status ?? null,
        opts.status ?? null,
        opts.agent ?? null,
        opts.agent ?? null,
        Math.min(opts.limit ?? 100, 1000),
      ],
    );
    return rows.map(toRecord);
  }

  /** The state of approvals for one action hash, newest first: what the gate acts on. */
  async lookup(hash: string): Promise<Lookup> {
    const now = this.clock.now();
    const rows = await this.store.all<Row>(
      `SELECT * FROM approvals WHERE hash = ? AND status IN ('pending', 'approved', 'denied') ORDER BY created_at DESC LIMIT 5`,
      [hash],
    );
    for (const r of rows) {
      const rec = toRecord(r);
      if (rec.status === 'approved' && rec.expiresAt > now) {
        return this.tagValid(r) ? { kind: 'approved', record: rec } : { kind: 'tampered', record: rec };
      }
      if (rec.status === 'denied' && rec.expiresAt > now) return { kind: 'denied', record: rec };
      if (rec.status === 'pending' && rec.expiresAt > now) return { kind: 'pending', record: rec };
      if (rec.expiresAt <= now && (rec.status === 'approved' || rec.status === 'pending')) {
        // Judging only reads: the gate records the expiry as an effect of the decision.
        return { kind: 'expired', record: rec };
      }
    }
    return { kind: 'none' };
  }

  /** An approved, unused approval of the same agent, session and tool for other arguments, if any. */
  async approvedForOtherArguments(
    action: Pick<Action, 'agent' | 'session' | 'tool'>,
    hash: string,
  ): Promise<ApprovalRecord | undefined> {
    const r = await this.store.get<Row>(
      `SELECT * FROM approvals WHERE agent = ? AND session = ? AND tool IS NOT DISTINCT FROM ? AND hash != ? AND status = 'approved' AND expires_at > ?
       ORDER BY created_at DESC LIMIT 1`,
      [action.agent, action.session, action.tool ?? null, hash, this.clock.now()],
    );
    return r ? toRecord(r) : undefined;
  }

  /** Consumes an approval: succeeds once, for an approved and unexpired approval only. */
  async consume(id: string): Promise<ApprovalRecord | undefined> {
    const now = this.clock.now();
    const r = await this.store.run(
      `UPDATE approvals SET status = 'used', used_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ?`,
      [now, id, now],
    );
    if (r.changes !== 1) return undefined;
    const rec = await this.get(id);
    const epoch = await this.currentEpoch();
    await this.audit?.append(
      {
        type: 'approval.used',
        agent: rec.agent,
        session: rec.session,
        actor: 'gateway',
        epoch,
        data: { id, hash: rec.hash, tool: rec.tool },
      },
      { durable: true },
    );
    return rec;
  }

  /** Why a new request for this agent would exceed the fatigue caps, or undefined. */
  async fatigue(agent: string): Promise<Reason | undefined> {
    const now = this.clock.now();
    const pending = await this.count(
      `SELECT COUNT(*) AS n FROM approvals WHERE agent = ? AND status = 'pending' AND expires_at > ?`,
      [agent, now],
    );
    if (pending >= this.config.max_pending_per_agent) {
      return {
        code: 'approval.fatigue.pending',
        message: `agent ${agent} already has ${pending} pending approval requests (max_pending_per_agent ${this.config.max_pending_per_agent})`,
        ruleId: 'approvals.max_pending_per_agent',
      };
    }
    const hourly = await this.count('SELECT COUNT(*) AS n FROM approvals WHERE agent = ? AND created_at > ?', [
      agent,
      now - 3_600_000,
    ]);
    if (hourly >= this.config.max_requests_per_hour) {
      return {
        code: 'approval.fatigue.hourly',
        message: `agent ${agent} made ${hourly} approval requests in the last hour (max_requests_per_hour ${this.config.max_requests_per_hour})`,
        ruleId: 'approvals.max_requests_per_hour',
      };
    }
    return undefined;
  }

  /** Opens a request for an action (the gate calls this after checking the caps). */
  async request(input: {
    action: Action;
    hash: string;
    tier: Tier;
    reasons: Reason[];
    epoch: number;
    dryRunTool?: string;
  }): Promise<ApprovalRecord> {
    if (bindingHash(input.action) !== input.hash)
      throw new ApprovalError('approval.binding', 'the action does not hash to the binding hash');
    const now = this.clock.now();
    const rec: ApprovalRecord = {
      id: `apr-${randomBytes(8).toString('hex')}`,
      hash: input.hash,
      status: 'pending',
      agent: input.action.agent,
      session: input.action.session,
      tool: input.action.tool ?? null,
      action: input.action,
      tier: input.tier,
      reasons: input.reasons,
      createdAt: now,
      expiresAt: now + this.config.expiry,
      decidedAt: null,
      approver: null,
      decisionReason: null,
      usedAt: null,
      epoch: input.epoch,
      dryRun: input.dryRunTool ? { tool: input.dryRunTool, status: 'pending' } : null,
    };
    await this.store.run(
      `INSERT INTO approvals (id, hash, status, agent, session, tool, action_json, tier, reasons_json, created_at, expires_at, epoch, dry_run_json)
       VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        rec.id,
        rec.hash,
        rec.agent,
        rec.session,
        rec.tool,
        JSON.stringify(rec.action),
        rec.tier,
        JSON.stringify(rec.reasons),
        rec.createdAt,
        rec.expiresAt,
        rec.epoch,
        rec.dryRun ? JSON.stringify(rec.dryRun) : null,
      ],
    );
    await this.audit?.append(
      {
        type: 'approval.requested',
        agent: rec.agent,
        session: rec.session,
        actor: 'gateway',
        epoch: await this.currentEpoch(),
        reasons: rec.reasons,
        data: { id: rec.id, hash: rec.hash, tool: rec.tool, tier: rec.tier, expiresAt: rec.expiresAt },
      },
      { durable: true },
    );
    this.notify('approval.requested', rec);
    return rec;
  }

  /** Records the dry-run result shown with a request. */
  async attachDryRun(id: string, outcome: { result?: unknown; error?: string }): Promise<ApprovalRecord> {
    const rec = await this.get(id);
    if (!rec.dryRun) throw new ApprovalError('approval.no_dry_run', `approval ${id} has no dry-run step`);
    const dryRun = { tool: rec.dryRun.tool, status: outcome.error ? 'failed' : 'done', ...outcome };
    await this.store.run('UPDATE approvals SET dry_run_json = ? WHERE id = ?', [JSON.stringify(dryRun), id]);
    return this.get(id);
  }

  approve(id: string, approver: string, reason?: string): Promise<ApprovalRecord> {
    return this.decide(id, 'approved', approver, reason);
  }

  deny(id: string, approver: string, reason?: string): Promise<ApprovalRecord> {
    return this.decide(id, 'denied', approver, reason);
  }

  /**
   * Resolves when the request leaves `pending` (approved, denied or expired), or rejects after `timeoutMs`.
   * Works across processes: the store is polled while no in-process decision wakes the waiter.
   */
  async wait(id: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<ApprovalRecord> {
    const deadline = Date.now() + (opts.timeoutMs ?? this.config.expiry);
    const poll = opts.pollMs ?? 250;
    for (;;) {
      const rec = await this.get(id);
      if (rec.status !== 'pending') return rec;
      const left = deadline - Date.now();
      if (left <= 0) throw new ApprovalError('approval.wait_timeout', `approval ${id} is still pending`);
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(id) ?? new Set();
        this.waiters.set(id, set);
        const done = () => {
          clearTimeout(t);
          set.delete(done);
          resolve();
        };
        const t = setTimeout(done, Math.min(poll, left));
        set.add(done);
      });
    }
  }

  private async decide(
    id: string,
    status: 'approved' | 'denied',
    approver: string,
    reason?: string,
  ): Promise<ApprovalRecord> {
    if (!approver) throw new InputError('approver', 'an approval needs the approver identity');
    if (reason !== undefined && reason.length > 1000) throw new InputError('reason', 'at most 1000 characters');
    const rec = await this.get(id);
    if (rec.status !== 'pending')
      throw new ApprovalError('approval.not_pending', `approval ${id} is ${rec.status}, not pending`);
    if (approver === `agent:${rec.agent}` || approver === rec.agent) {
      throw new ApprovalError('approval.self', 'an agent cannot approve its own request');
    }
    const now = this.clock.now();
    // An approval is valid for one expiry period from the moment it is given.
    const expiresAt = now + this.config.expiry;
    const tag = this.tagOf({ id, hash: rec.hash, status, approver, decided_at: now, expires_at: expiresAt });
    const r = await this.store.run(
      `UPDATE approvals SET status = ?, decided_at = ?, approver = ?, decision_reason = ?, expires_at = ?, tag = ? WHERE id = ? AND status = 'pending' AND expires_at > ?`,
      [status, now, approver, reason ?? null, expiresAt, tag, id, now],
    );
    if (r.changes !== 1) throw new ApprovalError('approval.not_pending', `approval ${id} is no longer pending`);
    const updated = await this.get(id);
    await this.audit?.append(
      {
        type: status === 'approved' ? 'approval.granted' : 'approval.denied',
        agent: rec.agent,
        session: rec.session,
        actor: approver,
        epoch: await this.currentEpoch(),
        data: { id, hash: rec.hash, tool: rec.tool, ...(reason ? { reason } : {}) },
      },
      { durable: true },
    );
    this.notify(status === 'approved' ? 'approval.granted' : 'approval.denied', updated);
    for (const w of this.waiters.get(id) ?? []) w();
    return updated;
  }

  private tagOf(r: Pick<Row, 'id' | 'hash' | 'status' | 'approver' | 'decided_at' | 'expires_at'>): string {
    const body = JSON.stringify([r.id, r.hash, r.status, r.approver, r.decided_at, r.expires_at]);
    return createHmac('sha256', this.integrityKey).update(body).digest('base64url');
  }

  private tagValid(r: Row): boolean {
    if (typeof r.tag !== 'string') return false;
    const want = Buffer.from(this.tagOf(r));
    const got = Buffer.from(r.tag);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  /** The policy epoch now (the request keeps the epoch it was made under). */
  private async currentEpoch(): Promise<number> {
    return Number((await this.store.getMeta('policy.epoch')) ?? '0');
  }

  private async count(sql: string, params: readonly unknown[]): Promise<number> {
    return Number((await this.store.get<{ n: number | string }>(sql, params))?.n ?? 0);
  }

  /** Records that an approval or request ran out (idempotent; audited once). */
  async expire(id: string): Promise<void> {
    await this.markExpired(await this.get(id));
  }

  private async expireIfDue(rec: ApprovalRecord): Promise<ApprovalRecord> {
    if ((rec.status === 'pending' || rec.status === 'approved') && rec.expiresAt <= this.clock.now()) {
      await this.markExpired(rec);
      return { ...rec, status: 'expired' };
    }
    return rec;
  }

  private async markExpired(rec: ApprovalRecord): Promise<void> {
    const r = await this.store.run(
      `UPDATE approvals SET status = 'expired' WHERE id = ? AND status IN ('pending', 'approved')`,
      [rec.id],
    );
    if (r.changes === 1) {
      const epoch = await this.currentEpoch();
      await this.audit?.append(
        {
          type: 'approval.expired',
          agent: rec.agent,
          session: rec.session,
          actor: 'gateway',
          epoch,
          data: { id: rec.id, hash: rec.hash },
        },
        { durable: true },
      );
      for (const w of this.waiters.get(rec.id) ?? []) w();
    }
  }

  private async sweep(): Promise<void> {
    const now = this.clock.now();
    const rows = await this.store.all<Row>(
      `SELECT * FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= ?`,
      [now],
    );
    for (const r of rows) await this.markExpired(toRecord(r));
  }

  private notify(type: string, rec: ApprovalRecord): void {
    if (!this.webhook) return;
    const event = {
      type,
      id: rec.id,
      status: rec.status,
      agent: rec.agent,
      session: rec.session,
      tool: rec.tool,
      args: rec.action.args ?? null,
      hash: rec.hash,
      tier: rec.tier,
      reasons: rec.reasons,
      expiresAt: new Date(rec.expiresAt).toISOString(),
      approver: rec.approver,
      dryRun: rec.dryRun,
    };
    postWebhook(this.webhook, event, this.clock.now()).then(
      (status) => {
        if (status >= 300) this.recordWebhookError(`${type} ${rec.id}: HTTP ${status}`);
      },
      (err: unknown) => this.recordWebhookError(`${type} ${rec.id}: ${(err as Error).message}`),
    );
  }

  private recordWebhookError(msg: string): void {
    this.webhookErrors.push(msg);
    if (this.webhookErrors.length > 100) this.webhookErrors.shift();
  }
}
