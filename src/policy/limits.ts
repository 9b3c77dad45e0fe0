import type { LimitsConfig } from '../config/sections/policy.js';
import type { Reason } from '../core/decision.js';
import type { Store } from '../store/store.js';
import type { Rule } from './compile.js';
import { matchToolPattern } from './resources.js';

/**
 * Limits: token-bucket rate limits per agent and per tool (in memory, per gateway process), usage budgets per
 * window in calls and cost units, and a per-agent data-transfer budget for egress (persisted in the store so
 * they hold across restarts and across the CLI and the gateway). An exhausted limit denies with a reason that
 * names it. Checks run first and consume only when every limit has room, so a denied call costs nothing.
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
  /** Consumes the checked capacity; call only when the action goes ahead. */
  commit(): void;
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
];

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

/** Longest delay before usage counted in this process is written to the shared store. */
const FLUSH_MS = 100;

export class Limits {
  private readonly buckets = new Map<string, Bucket>();
  private readonly grantCalls = new Map<string, number[]>();
  private readonly budgets: WindowBudget[] = [];

  constructor(
    private readonly cfg: LimitsConfig,
    private readonly store: Store | undefined,
  ) {
    store?.migrate('limits', MIGRATIONS);
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

  check(req: UsageRequest): LimitCheck {
    const reasons: Reason[] = [];
    const commits: Array<() => void> = [];
    const pa = this.cfg.per_agent;
    if (req.tool !== undefined && pa?.tool_calls_per_minute !== undefined) {
      this.bucket(
        `agent:${req.agent}`,
        pa.tool_calls_per_minute,
        pa.burst ?? pa.tool_calls_per_minute,
        req.now,
        reasons,
        commits,
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
        this.bucket(
          `tool:${pattern}`,
          rate.calls_per_minute,
          rate.burst ?? rate.calls_per_minute,
          req.now,
          reasons,
          commits,
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
      const used = this.usage(b.name, key, start);
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
      commits.push(() => this.addUsage(b.name, key, start, 1, addCost));
    }
    return {
      ok: reasons.length === 0,
      reasons,
      commit: () => {
        for (const c of commits) c();
      },
    };
  }

  /** Calls through a grant with `max_calls_per_hour` by `agent` in the last hour. */
  callsThisHour(rule: Rule, agent: string, now: number): number {
    const list = this.grantCalls.get(`${rule.id}\u0000${agent}`);
    if (!list) return 0;
    while (list.length > 0 && list[0]! <= now - HOUR) list.shift();
    return list.length;
  }

  chargeGrants(rules: readonly Rule[], agent: string, now: number): void {
    for (const r of rules) {
      const key = `${r.id}\u0000${agent}`;
      const list = this.grantCalls.get(key) ?? [];
      this.grantCalls.set(key, list);
      list.push(now);
    }
  }

  private bucket(
    key: string,
    perMinute: number,
    capacity: number,
    now: number,
    reasons: Reason[],
    commits: Array<() => void>,
    reason: Reason,
  ): void {
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
    commits.push(() => {
      bucket.tokens = refilled - 1;
      bucket.at = now;
    });
  }

  private readonly memUsage = new Map<string, { calls: number; cost: number }>();

  private usage(budget: string, key: string, start: number): { calls: number; cost: number } {
    if (this.store) {
      const stored = this.store.get<{ calls: number; cost: number }>(
        'SELECT calls, cost FROM limits_usage WHERE budget = ? AND key = ? AND window_start = ?',
        [budget, key, start],
      ) ?? { calls: 0, cost: 0 };
      const p = this.pending.get(`${budget}\u0000${key}\u0000${start}`);
      return p ? { calls: stored.calls + p.calls, cost: stored.cost + p.cost } : stored;
    }
    return this.memUsage.get(`${budget}\u0000${key}\u0000${start}`) ?? { calls: 0, cost: 0 };
  }

  /**
   * Usage not yet written to the store. Writing every increment would put a synchronous, fsynced SQLite commit on
   * the decision path; instead increments are written together within FLUSH_MS (and on close), so another process
   * sees this one's usage at most that late.
   */
  private readonly pending = new Map<
    string,
    { budget: string; key: string; start: number; calls: number; cost: number }
  >();
  private flushTimer: NodeJS.Timeout | undefined;

  /** Writes pending usage to the store. Called by a timer, and by Gatehouse.close(). */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.store || this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending.clear();
    const store = this.store;
    store.transaction(() => {
      for (const r of rows) {
        store.run(
          `INSERT INTO limits_usage (budget, key, window_start, calls, cost) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(budget, key, window_start) DO UPDATE SET calls = calls + excluded.calls, cost = cost + excluded.cost`,
          [r.budget, r.key, r.start, r.calls, r.cost],
        );
      }
    });
  }

  private commits = 0;

  private addUsage(budget: string, key: string, start: number, calls: number, cost: number): void {
    if (this.store) {
      // Now and then, drop windows that ended long ago so the table stays bounded.
      if (++this.commits % 1000 === 1) {
        const longest = Math.max(DAY, ...this.budgets.map((b) => b.window));
        this.store.run('DELETE FROM limits_usage WHERE window_start < ?', [start - 2 * longest]);
      }
      const k = `${budget}\u0000${key}\u0000${start}`;
      const p = this.pending.get(k) ?? { budget, key, start, calls: 0, cost: 0 };
      p.calls += calls;
      p.cost += cost;
      this.pending.set(k, p);
      if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
        this.flushTimer.unref();
      }
      return;
    }
    const k = `${budget}\u0000${key}\u0000${start}`;
    const u = this.memUsage.get(k) ?? { calls: 0, cost: 0 };
    this.memUsage.set(k, { calls: u.calls + calls, cost: u.cost + cost });
  }
}
