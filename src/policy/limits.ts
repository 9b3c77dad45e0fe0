import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LimitsConfig } from '../config/sections/policy.js';
import type { Reason } from '../core/decision.js';
import { COMMIT_OK, type CommitResult, type PendingEffect } from '../core/effects.js';
import type { Store } from '../store/store.js';
import type { Rule } from './compile.js';
import { matchToolPattern } from './resources.js';

/**
 * Limits: token-bucket rate limits per agent and per tool, usage budgets per window in calls and cost units, a
 * per-agent data-transfer budget for egress, and per-grant hourly call caps. Budgets and grant caps live in the
 * store, so they hold exactly across restarts and across every gateway on it; rate buckets too on a shared store.
 * An exhausted limit denies with a reason that names it. `check` judges and changes nothing; it
 * returns the charges as effects that the pipeline commits only for a call that goes ahead, so a denied call
 * costs nothing. Each charge re-checks at commit in one atomic statement, so concurrent calls cannot overshoot.
 */
export interface UsageRequest {
  agent: string;
  tool?: string;
  /** Cost units of this call (the tool's `cost`). */
  cost: number;
  /** Bytes this action sends out (egress content, arguments of tools with an external sink). */
  egressBytes: number;
  now: number;
}

export interface LimitCheck {
  ok: boolean;
  reasons: Reason[];
  /** The charges this call would make, to commit when it goes ahead. */
  effects: PendingEffect[];
}

interface Bucket {
  tokens: number;
  at: number;
}

const MIGRATIONS = [
  {
    version: 1,
    name: 'usage windows',
    sql: `CREATE TABLE limits_usage (
      budget TEXT NOT NULL,
      key TEXT NOT NULL,
      window_start INTEGER NOT NULL,
      calls INTEGER NOT NULL,
      cost REAL NOT NULL,
      PRIMARY KEY (budget, key, window_start)
    );`,
  },
  {
    version: 2,
    name: 'grant call log',
    sql: `CREATE TABLE limits_grant_calls (
      rule TEXT NOT NULL,
      agent TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE INDEX limits_grant_calls_by_rule ON limits_grant_calls (rule, agent, at);`,
  },
  {
    // A call is undone by its own id (SQLite's rowid has no portable equivalent); rows of older stores get one too.
    version: 3,
    name: 'grant call ids',
    sql: `ALTER TABLE limits_grant_calls ADD COLUMN id TEXT;
    UPDATE limits_grant_calls SET id = lower(hex(randomblob(16))) WHERE id IS NULL;
    CREATE INDEX limits_grant_calls_by_id ON limits_grant_calls (id);`,
    postgres: `ALTER TABLE limits_grant_calls ADD COLUMN id TEXT;
    UPDATE limits_grant_calls SET id = md5(random()::text || clock_timestamp()::text) WHERE id IS NULL;
    CREATE INDEX limits_grant_calls_by_id ON limits_grant_calls (id);`,
  },
  {
    // Token buckets of the per-minute limits, shared by every gateway on the store.
    version: 4,
    name: 'rate buckets',
    sql: `CREATE TABLE limits_buckets (
      key TEXT PRIMARY KEY,
      tokens REAL NOT NULL,
      at INTEGER NOT NULL
    );`,
  },
];

/**
 * Takes tokens from a bucket in one statement: refills it for the time since it was last touched (never
 * backwards, as gateways' clocks differ a little), and changes nothing unless the tokens asked for are there. A single
 * conditional statement is atomic on both engines (PostgreSQL re-checks the condition on the row a concurrent
 * writer left), so calls on several gateways cannot take more tokens than the bucket holds: the limit is exact.
 * Parameters: see `takeTokensParams`.
 */
const D = 'CAST(? AS DOUBLE PRECISION)';
// The tokens the row holds at `now` (parameters: now, now, rate, capacity, capacity, now, now, rate).
const REFILLED = `(CASE WHEN limits_buckets.tokens + (CASE WHEN ? > limits_buckets.at THEN (? - limits_buckets.at) * ${D} ELSE 0 END) > ${D}
  THEN ${D} ELSE limits_buckets.tokens + (CASE WHEN ? > limits_buckets.at THEN (? - limits_buckets.at) * ${D} ELSE 0 END) END)`;
// Takes `n` tokens (parameters: see `takeTokensParams`).
const TAKE_TOKENS = `INSERT INTO limits_buckets (key, tokens, at) VALUES (?, ${D} - ${D}, ?)
  ON CONFLICT(key) DO UPDATE SET tokens = ${REFILLED} - ${D},
    at = CASE WHEN ? > limits_buckets.at THEN ? ELSE limits_buckets.at END
  WHERE ${REFILLED} >= ${D}`;

function takeTokensParams(key: string, capacity: number, ratePerMs: number, at: number, n: number): unknown[] {
  // Whole milliseconds: the column is an integer on PostgreSQL.
  const now = Math.round(at);
  const refilled = [now, now, ratePerMs, capacity, capacity, now, now, ratePerMs];
  return [key, capacity, n, now, ...refilled, n, now, now, ...refilled, n];
}

/** Gives `n` unspent tokens back to a bucket, never above its capacity (parameters: n, capacity, capacity, n, key). */
const RETURN_TOKENS = `UPDATE limits_buckets SET tokens = CASE WHEN tokens + ${D} > ${D} THEN ${D} ELSE tokens + ${D} END WHERE key = ?`;

/**
 * A slice of a shared bucket this process took and spends locally (see `Limits.bucket`). At most this share of
 * what the row holds is leased at once, and for at most `LEASE_MS`; the rest comes back when the lease expires.
 */
const LEASE_SHARE = 0.1;
const LEASE_MAX = 50;
const LEASE_MS = 1000;

interface Lease {
  tokens: number;
  /** `performance.now()` after which the lease is given back and no longer spent. */
  expires: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface WindowBudget {
  name: string;
  per: 'agent' | 'tool' | 'agent_tool';
  tools?: readonly string[];
  window: number;
  maxCalls?: number;
  maxCost?: number;
  /** Counts egress bytes (in the cost column) instead of calls and cost units. */
  egress?: boolean;
}

export class Limits {
  private readonly buckets = new Map<string, Bucket>();
  /** Leases of shared buckets, by bucket key. */
  private readonly leases = new Map<string, Lease>();
  /** The lease take in flight per bucket key. */
  private readonly taking = new Map<string, Promise<Lease | undefined>>();
  private readonly memGrantCalls = new Map<string, number[]>();
  private readonly budgets: WindowBudget[] = [];

  /**
   * Limits kept in `store` (migrated here), or in memory only when there is none. Rate buckets are in the store
   * when it is shared (PostgreSQL) or `sharedRateLimits` says so; on the embedded store they stay in memory,
   * where a token costs no disk write (one process decides on it, so there is nothing to share).
   */
  static async open(
    cfg: LimitsConfig,
    store: Store | undefined,
    opts: { sharedRateLimits?: boolean } = {},
  ): Promise<Limits> {
    await store?.migrate('limits', MIGRATIONS);
    return new Limits(cfg, store, opts.sharedRateLimits ?? store?.dialect === 'postgres');
  }

  private constructor(
    private readonly cfg: LimitsConfig,
    private readonly store: Store | undefined,
    private readonly sharedBuckets: boolean,
  ) {
    for (const b of cfg.budgets ?? []) {
      this.budgets.push({
        name: b.name,
        per: b.per,
        ...(b.tools ? { tools: b.tools } : {}),
        window: b.window,
        ...(b.max_calls !== undefined ? { maxCalls: b.max_calls } : {}),
        ...(b.max_cost !== undefined ? { maxCost: b.max_cost } : {}),
      });
    }
    const pa = cfg.per_agent;
    if (pa?.egress_bytes_per_hour !== undefined) {
      this.budgets.push({
        name: 'egress_bytes_per_hour',
        per: 'agent',
        window: HOUR,
        maxCost: pa.egress_bytes_per_hour,
        egress: true,
      });
    }
    if (pa?.egress_bytes_per_day !== undefined) {
      this.budgets.push({
        name: 'egress_bytes_per_day',
        per: 'agent',
        window: DAY,
        maxCost: pa.egress_bytes_per_day,
        egress: true,
      });
    }
  }

  async check(req: UsageRequest): Promise<LimitCheck> {
    const reasons: Reason[] = [];
    const bucketCommits: BucketCommit[] = [];
    const budgetCharges: BudgetCharge[] = [];
    const pa = this.cfg.per_agent;
    if (req.tool !== undefined && pa?.tool_calls_per_minute !== undefined) {
      await this.bucket(
        `agent:${req.agent}`,
        pa.tool_calls_per_minute,
        pa.burst ?? pa.tool_calls_per_minute,
        req.now,
        reasons,
        bucketCommits,
        {
          code: 'limits.rate.agent',
          message: `agent ${req.agent} exceeded tool_calls_per_minute (${pa.tool_calls_per_minute})`,
          ruleId: 'limits.per_agent.tool_calls_per_minute',
        },
      );
    }
    if (req.tool !== undefined) {
      for (const [pattern, rate] of Object.entries(this.cfg.per_tool ?? {})) {
        if (rate.calls_per_minute === undefined || !matchToolPattern(pattern, req.tool)) continue;
        await this.bucket(
          `tool:${pattern}`,
          rate.calls_per_minute,
          rate.burst ?? rate.calls_per_minute,
          req.now,
          reasons,
          bucketCommits,
          {
            code: 'limits.rate.tool',
            message: `tool ${req.tool} exceeded calls_per_minute (${rate.calls_per_minute}) of limits.per_tool.${pattern}`,
            ruleId: `limits.per_tool.${pattern}`,
          },
        );
      }
    }
    for (const b of this.budgets) {
      if (b.egress ? req.egressBytes <= 0 : req.tool === undefined) continue;
      if (b.tools && (req.tool === undefined || !b.tools.some((p) => matchToolPattern(p, req.tool!)))) continue;
      const key =
        b.per === 'agent' ? req.agent : b.per === 'tool' ? (req.tool ?? '') : `${req.agent}\u0000${req.tool ?? ''}`;
      const start = Math.floor(req.now / b.window) * b.window;
      const used = await this.usage(b.name, key, start);
      const addCost = b.egress ? req.egressBytes : req.cost;
      const overCalls = b.maxCalls !== undefined && used.calls + 1 > b.maxCalls;
      const overCost = b.maxCost !== undefined && used.cost + addCost > b.maxCost;
      if (overCalls || overCost) {
        const what = b.egress
          ? `${used.cost} of ${b.maxCost} bytes used`
          : overCalls
            ? `${used.calls} of ${b.maxCalls} calls used`
            : `${used.cost} of ${b.maxCost} cost units used`;
        reasons.push({
          code: b.egress ? 'limits.egress' : 'limits.budget',
          message: `budget ${b.name} is exhausted for this window (${what})`,
          ruleId: b.egress ? `limits.per_agent.${b.name}` : `limits.budgets.${b.name}`,
          evidence: b.name,
        });
        continue;
      }
      budgetCharges.push({ budget: b, key, start, calls: 1, cost: addCost });
    }
    const effects: PendingEffect[] = [];
    if (reasons.length === 0) {
      for (const bc of bucketCommits) {
        effects.push({
          kind: 'limit.charge',
          on: ['allow'],
          summary: `rate limit ${bc.reason.ruleId}: one call`,
          commit: async () => ((await bc.commit()) ? COMMIT_OK : { ok: false, reason: bc.reason }),
          undo: bc.undo,
        });
      }
      if (budgetCharges.length > 0) {
        effects.push({
          kind: 'limit.charge',
          on: ['allow'],
          summary: `budgets ${budgetCharges.map((c) => c.budget.name).join(', ')}: ${budgetCharges
            .map((c) => (c.budget.egress ? `${c.cost} bytes` : `1 call, ${c.cost} cost`))
            .join('; ')}`,
          commit: () => this.chargeBudgets(budgetCharges),
          undo: () => this.refundBudgets(budgetCharges),
        });
      }
    }
    return { ok: reasons.length === 0, reasons, effects };
  }

  /** Calls through a grant with `max_calls_per_hour` by `agent` in the last hour. */
  async callsThisHour(rule: Rule, agent: string, now: number): Promise<number> {
    if (this.store) {
      const row = await this.store.get<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM limits_grant_calls WHERE rule = ? AND agent = ? AND at > ?',
        [rule.id, agent, now - HOUR],
      );
      return Number(row?.n ?? 0);
    }
    const list = this.memGrantCalls.get(`${rule.id}\u0000${agent}`);
    return list ? list.filter((t) => t > now - HOUR).length : 0;
  }

  /** The charge of one call to each grant with an hourly cap, re-checked against the cap when committed. */
  grantCharge(rules: readonly Rule[], agent: string, now: number): PendingEffect | undefined {
    const limited = rules.filter((r) => r.maxCallsPerHour !== undefined);
    if (limited.length === 0) return undefined;
    let ids: string[] = [];
    return {
      kind: 'grant.charge',
      on: ['allow'],
      summary: `grant call caps ${limited.map((r) => r.id).join(', ')}: one call`,
      commit: async (): Promise<CommitResult> => {
        const over = async (limited: readonly Rule[]): Promise<Rule | undefined> => {
          for (const r of limited) if ((await this.callsThisHour(r, agent, now)) >= r.maxCallsPerHour!) return r;
          return undefined;
        };
        const full = (r: Rule): CommitResult => ({
          ok: false,
          reason: {
            code: 'policy.grant.max_calls',
            message: `grant ${r.id} reached max_calls_per_hour (${r.maxCallsPerHour}) while this call was judged`,
            ruleId: r.id,
          },
        });
        const store = this.store;
        if (!store) {
          const hit = await over(limited);
          if (hit) return full(hit);
          for (const r of limited) {
            const key = `${r.id}\u0000${agent}`;
            const list = (this.memGrantCalls.get(key) ?? []).filter((t) => t > now - HOUR);
            list.push(now);
            this.memGrantCalls.set(key, list);
          }
          return COMMIT_OK;
        }
        const rows = limited.map((r) => ({ rule: r.id, id: randomBytes(12).toString('hex') }));
        const sweep = ++this.commits % 1000 === 1;
        const result = await store.transaction(async () => {
          const hit = await over(limited);
          if (hit) return full(hit);
          for (const row of rows) {
            await store.run('INSERT INTO limits_grant_calls (id, rule, agent, at) VALUES (?, ?, ?, ?)', [
              row.id,
              row.rule,
              agent,
              now,
            ]);
          }
          if (sweep) await store.run('DELETE FROM limits_grant_calls WHERE at < ?', [now - 2 * HOUR]);
          return COMMIT_OK;
        });
        if (result.ok) ids = rows.map((r) => r.id);
        return result;
      },
      undo: async () => {
        if (this.store) {
          for (const id of ids) await this.store.run('DELETE FROM limits_grant_calls WHERE id = ?', [id]);
        } else
          for (const r of limited) {
            const list = this.memGrantCalls.get(`${r.id}\u0000${agent}`);
            const i = list?.lastIndexOf(now) ?? -1;
            if (list && i >= 0) list.splice(i, 1);
          }
      },
    };
  }

  private async bucket(
    key: string,
    perMinute: number,
    capacity: number,
    now: number,
    reasons: Reason[],
    commits: BucketCommit[],
    reason: Reason,
  ): Promise<void> {
    const store = this.sharedBuckets ? this.store : undefined;
    if (store) {
      await this.sharedBucket(store, key, perMinute, capacity, now, reasons, commits, reason);
      return;
    }
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: capacity, at: now };
      this.buckets.set(key, b);
    }
    const refilled = Math.min(capacity, b.tokens + ((now - b.at) * perMinute) / 60_000);
    if (refilled < 1) {
      reasons.push(reason);
      return;
    }
    const bucket = b;
    let before: Bucket | undefined;
    commits.push({
      reason,
      // Re-checked at commit: another decision in this process may have taken the last token meanwhile.
      commit: async () => {
        const tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000);
        if (tokens < 1) return false;
        before = { ...bucket };
        bucket.tokens = tokens - 1;
        bucket.at = Math.max(bucket.at, now);
        return true;
      },
      undo: async () => {
        if (before) Object.assign(bucket, before);
      },
    });
  }

  /**
   * A per-minute limit shared by every gateway on the store, spent through leases: a gateway takes a slice of
   * tokens from the shared row in one atomic statement and spends them locally, so most calls make no round trip.
   * Tokens are only ever spent after they were taken from the shared count, so the gateways together never exceed
   * the limit (overshoot 0). The price is fairness: a gateway may hold up to `LEASE_SHARE` of what the row had
   * (at most `LEASE_MAX`) unspent for up to `LEASE_MS`, during which another gateway can be refused; the unspent
   * rest goes back to the row when the lease expires. Judging reads the row only when there is no live lease;
   * the lease is taken at commit, so a call that ends denied takes nothing.
   */
  private async sharedBucket(
    store: Store,
    key: string,
    perMinute: number,
    capacity: number,
    now: number,
    reasons: Reason[],
    commits: BucketCommit[],
    reason: Reason,
  ): Promise<void> {
    let lease = this.liveLease(key);
    let slice = 1;
    if (!lease || lease.tokens < 1) {
      // Judged on the shared row (another gateway may have emptied it); taken at commit, re-checked there.
      const row = await store.get<{ tokens: number; at: number }>(
        'SELECT tokens, at FROM limits_buckets WHERE key = ?',
        [key],
      );
      const tokens = row ? Math.min(capacity, row.tokens + (Math.max(0, now - row.at) * perMinute) / 60_000) : capacity;
      if (tokens < 1) {
        reasons.push(reason);
        return;
      }
      slice = Math.max(1, Math.min(LEASE_MAX, Math.floor(tokens * LEASE_SHARE)));
    }
    let spent: Lease | undefined;
    const ratePerMs = perMinute / 60_000;
    commits.push({
      reason,
      commit: async () => {
        // Re-checked at commit: another decision in this process may have spent the lease meanwhile.
        for (;;) {
          lease = this.liveLease(key);
          if (lease && lease.tokens >= 1) {
            lease.tokens -= 1;
            spent = lease;
            return true;
          }
          // One take per key at a time: concurrent calls wait for it and share the slice instead of each
          // leasing one (which would leave tokens idle in replaced leases while other gateways are refused).
          const inFlight = this.taking.get(key);
          const take = inFlight ?? this.takeLease(store, key, capacity, ratePerMs, now, slice);
          if (!inFlight) {
            this.taking.set(key, take);
            void take.finally(() => this.taking.delete(key)).catch(() => undefined);
          }
          if (!(await take)) return false;
        }
      },
      undo: async () => {
        const from = spent;
        spent = undefined;
        if (!from) return;
        if (this.leases.get(key) === from && performance.now() < from.expires) from.tokens += 1;
        else await store.run(RETURN_TOKENS, [1, capacity, capacity, 1, key]);
      },
    });
  }

  private liveLease(key: string): Lease | undefined {
    const l = this.leases.get(key);
    return l && performance.now() < l.expires ? l : undefined;
  }

  /** Takes `slice` tokens from the shared row, or one if it has fewer; undefined when it has none. */
  private async takeLease(
    store: Store,
    key: string,
    capacity: number,
    ratePerMs: number,
    now: number,
    slice: number,
  ): Promise<Lease | undefined> {
    let got = 0;
    for (const n of slice > 1 ? [slice, 1] : [1]) {
      if ((await store.run(TAKE_TOKENS, takeTokensParams(key, capacity, ratePerMs, now, n))).changes === 1) {
        got = n;
        break;
      }
    }
    if (got === 0) return undefined;
    const old = this.leases.get(key);
    const lease: Lease = { tokens: got, expires: performance.now() + LEASE_MS };
    // The old lease is expired or spent (its expiry timer returns what an expired one kept).
    if (old && old.tokens > 0) void this.giveBack(store, key, capacity, old);
    this.leases.set(key, lease);
    if (got > 1) {
      const timer = setTimeout(() => {
        if (this.leases.get(key) === lease) this.leases.delete(key);
        void this.giveBack(store, key, capacity, lease);
      }, LEASE_MS);
      timer.unref();
    }
    return lease;
  }

  /** Returns a lease's unspent tokens to the shared row; if that fails they come back only by refill. */
  private async giveBack(store: Store, key: string, capacity: number, lease: Lease): Promise<void> {
    const n = Math.floor(lease.tokens);
    lease.tokens = 0;
    if (n < 1) return;
    await store.run(RETURN_TOKENS, [n, capacity, capacity, n, key]).catch(() => undefined);
  }

  private readonly memUsage = new Map<string, { calls: number; cost: number }>();

  private async usage(budget: string, key: string, start: number): Promise<{ calls: number; cost: number }> {
    if (this.store) {
      return (
        (await this.store.get<{ calls: number; cost: number }>(
          'SELECT calls, cost FROM limits_usage WHERE budget = ? AND key = ? AND window_start = ?',
          [budget, key, start],
        )) ?? { calls: 0, cost: 0 }
      );
    }
    return this.memUsage.get(`${budget}\u0000${key}\u0000${start}`) ?? { calls: 0, cost: 0 };
  }

  private commits = 0;

  /**
   * Charges every budget of one call, each re-checked against its maximum as it is charged. With a store each
   * charge is one conditional upsert (atomic on both engines, so gateways contending for one budget row queue on
   * it instead of failing serialisation and retrying); when a later budget of the call is full, the ones already
   * charged are refunded. A budget never goes over its maximum; a call refused on one budget may hold a unit of
   * another for the moment until its refund lands, which can only refuse another call, never admit one.
   */
  private async chargeBudgets(charges: readonly BudgetCharge[]): Promise<CommitResult> {
    const sweep = this.store !== undefined && ++this.commits % 1000 === 1;
    const done: BudgetCharge[] = [];
    for (const c of charges) {
      if (!(await this.charge(c))) {
        for (const d of done) await this.addUsage(d.budget.name, d.key, d.start, -d.calls, -d.cost);
        const b = c.budget;
        return {
          ok: false,
          reason: {
            code: b.egress ? 'limits.egress' : 'limits.budget',
            message: `budget ${b.name} was used up by another call while this one was judged`,
            ruleId: b.egress ? `limits.per_agent.${b.name}` : `limits.budgets.${b.name}`,
            evidence: b.name,
          },
        };
      }
      done.push(c);
    }
    if (sweep) await this.sweepUsage(charges[0]!.start);
    return COMMIT_OK;
  }

  /** Adds one call's use to a budget window unless that takes it over its maximum; false when it would. */
  private async charge(c: BudgetCharge): Promise<boolean> {
    const b = c.budget;
    const maxCalls = b.maxCalls !== undefined && !b.egress ? b.maxCalls : null;
    const maxCost = b.maxCost ?? null;
    if ((maxCalls !== null && c.calls > maxCalls) || (maxCost !== null && c.cost > maxCost)) return false;
    if (!this.store) {
      const used = await this.usage(b.name, c.key, c.start);
      if ((maxCalls !== null && used.calls + c.calls > maxCalls) || (maxCost !== null && used.cost + c.cost > maxCost))
        return false;
      await this.addUsage(b.name, c.key, c.start, c.calls, c.cost);
      return true;
    }
    const r = await this.store.run(
      `INSERT INTO limits_usage (budget, key, window_start, calls, cost) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(budget, key, window_start) DO UPDATE SET calls = limits_usage.calls + excluded.calls,
         cost = limits_usage.cost + excluded.cost
       WHERE (CAST(? AS BIGINT) IS NULL OR limits_usage.calls + excluded.calls <= CAST(? AS BIGINT))
         AND (CAST(? AS DOUBLE PRECISION) IS NULL OR limits_usage.cost + excluded.cost <= CAST(? AS DOUBLE PRECISION))`,
      [b.name, c.key, c.start, c.calls, c.cost, maxCalls, maxCalls, maxCost, maxCost],
    );
    return r.changes === 1;
  }

  private async refundBudgets(charges: readonly BudgetCharge[]): Promise<void> {
    // Each refund is one atomic statement; a transaction around them would only add retries on a hot row.
    for (const c of charges) await this.addUsage(c.budget.name, c.key, c.start, -c.calls, -c.cost);
  }

  /** Now and then, drops windows that ended long ago so the table stays bounded. */
  private async sweepUsage(start: number): Promise<void> {
    const longest = Math.max(DAY, ...this.budgets.map((b) => b.window));
    await this.store?.run('DELETE FROM limits_usage WHERE window_start < ?', [start - 2 * longest]);
  }

  private async addUsage(budget: string, key: string, start: number, calls: number, cost: number): Promise<void> {
    if (this.store) {
      await this.store.run(
        `INSERT INTO limits_usage (budget, key, window_start, calls, cost) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(budget, key, window_start) DO UPDATE SET calls = limits_usage.calls + excluded.calls, cost = limits_usage.cost + excluded.cost`,
        [budget, key, start, calls, cost],
      );
      return;
    }
    const k = `${budget}\u0000${key}\u0000${start}`;
    const u = this.memUsage.get(k) ?? { calls: 0, cost: 0 };
    this.memUsage.set(k, { calls: u.calls + calls, cost: u.cost + cost });
  }
}

interface BucketCommit {
  commit: () => Promise<boolean>;
  undo: () => Promise<void>;
  reason: Reason;
}

interface BudgetCharge {
  budget: WindowBudget;
  key: string;
  start: number;
  calls: number;
  cost: number;
}
