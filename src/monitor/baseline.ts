import type { Store } from '../store/store.js';

/** What is counted per agent per window. */
export const METRICS = [
  'tool_calls_per_window',
  'denies_per_window',
  'reviews_per_window',
  'distinct_tools_per_window',
  'screen_blocks_per_window',
] as const;
export type Metric = (typeof METRICS)[number];

/** Welford's running mean and variance: numerically stable, O(1) per update, three numbers per metric. */
export class Welford {
  constructor(
    public n = 0,
    public mean = 0,
    public m2 = 0,
  ) {}

  add(x: number): void {
    this.n += 1;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }

  get stddev(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
  }

  /**
   * How unusual `x` is. A zero spread (an agent that always does the same) uses a floor of 1, so one extra
   * call is not infinitely anomalous while a burst still is.
   */
  z(x: number): number {
    return (x - this.mean) / Math.max(this.stddev, 1);
  }
}

interface Window {
  start: number;
  counts: Record<Metric, number>;
  tools: Set<string>;
}

const emptyCounts = (): Record<Metric, number> =>
  Object.fromEntries(METRICS.map((m) => [m, 0])) as Record<Metric, number>;

/**
 * Per-agent behavioural baselines: each agent's activity is counted in fixed windows; when a window closes,
 * its counts feed the agent's Welford accumulators (persisted in the store, so baselines survive restarts).
 * The current window's counts are scored against the baseline as they grow, so a burst is seen mid-window.
 */
export class Baselines {
  private readonly current = new Map<string, Window>();
  private readonly stats = new Map<string, Map<Metric, Welford>>();

  /** Baselines kept in `store`, whose table is migrated here. */
  static async open(store: Store, windowMs: number): Promise<Baselines> {
    await store.migrate('monitor', [
      {
        version: 1,
        name: 'baselines',
        sql: `CREATE TABLE monitor_baselines (
          agent TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL, mean REAL NOT NULL, m2 REAL NOT NULL,
          PRIMARY KEY (agent, metric)
        )`,
      },
    ]);
    return new Baselines(store, windowMs);
  }

  private constructor(
    private readonly store: Store,
    private readonly windowMs: number,
  ) {}

  /** Counts one decision for the agent; returns the agent's current window counts. */
  async observe(
    agent: string,
    at: number,
    event: { tool?: string; effect: string; screenBlocked: boolean },
  ): Promise<Record<Metric, number>> {
    const w = await this.window(agent, at);
    if (event.tool) {
      w.counts.tool_calls_per_window += 1;
      w.tools.add(event.tool);
      w.counts.distinct_tools_per_window = w.tools.size;
    }
    if (event.effect === 'deny') w.counts.denies_per_window += 1;
    if (event.effect === 'review') w.counts.reviews_per_window += 1;
    if (event.screenBlocked) w.counts.screen_blocks_per_window += 1;
    return { ...w.counts };
  }

  /** Loads the agent's accumulators from the store on first use; later calls read memory. */
  async load(agent: string): Promise<void> {
    if (this.stats.has(agent)) return;
    const rows = await this.store.all<{ metric: Metric; n: number; mean: number; m2: number }>(
      'SELECT metric, n, mean, m2 FROM monitor_baselines WHERE agent = ?',
      [agent],
    );
    // Another call may have loaded (and since updated) them while this one read.
    if (this.stats.has(agent)) return;
    this.stats.set(agent, new Map(rows.map((r) => [r.metric, new Welford(r.n, r.mean, r.m2)])));
  }

  /** The agent's accumulator for a metric, from memory: empty until `load(agent)` has brought in the stored one. */
  stat(agent: string, metric: Metric): Welford {
    let m = this.stats.get(agent);
    if (!m) {
      m = new Map();
      this.stats.set(agent, m);
    }
    let w = m.get(metric);
    if (!w) {
      w = new Welford();
      m.set(metric, w);
    }
    return w;
  }

  /**
   * How far the agent's current window is above its own baseline: the largest z-score over the metrics with at
   * least `minWindows` windows of history, 0 when none (0..10). Read-only: nothing is counted.
   */
  async anomaly(agent: string, at: number, minWindows: number): Promise<number> {
    const w = this.current.get(agent);
    if (!w || w.start !== at - (at % this.windowMs)) return 0;
    await this.load(agent);
    let max = 0;
    for (const metric of METRICS) {
      const s = this.stat(agent, metric);
      if (s.n < minWindows) continue;
      max = Math.max(max, s.z(w.counts[metric]));
    }
    return Math.min(10, Math.max(0, Math.round(max * 100) / 100));
  }

  /** Baselines of every agent seen, for status displays. */
  async snapshot(): Promise<
    { agent: string; metric: Metric; n: number; mean: number; stddev: number; current: number }[]
  > {
    const stored = await this.store.all<{ agent: string }>('SELECT DISTINCT agent FROM monitor_baselines');
    const agents = new Set([...stored.map((r) => r.agent), ...this.current.keys()]);
    const out = [];
    for (const agent of [...agents].sort()) {
      await this.load(agent);
      for (const metric of METRICS) {
        const s = this.stat(agent, metric);
        out.push({
          agent,
          metric,
          n: s.n,
          mean: s.mean,
          stddev: s.stddev,
          current: this.current.get(agent)?.counts[metric] ?? 0,
        });
      }
    }
    return out;
  }

  private async window(agent: string, at: number): Promise<Window> {
    const start = at - (at % this.windowMs);
    let w = this.current.get(agent);
    if (w && w.start !== start) {
      // Replaced before the store write, so a concurrent observation does not close the same window twice.
      this.current.delete(agent);
      await this.close(agent, w, start);
      w = this.current.get(agent);
    }
    if (!w) {
      w = { start, counts: emptyCounts(), tools: new Set() };
      this.current.set(agent, w);
    }
    return w;
  }

  /** Feeds a finished window, and the empty windows of silence after it, into the accumulators. */
  private async close(agent: string, w: Window, nextStart: number): Promise<void> {
    const idle = Math.min(Math.max(0, Math.round((nextStart - w.start) / this.windowMs) - 1), 60);
    await this.load(agent);
    // The accumulators are updated in memory first; the transaction only writes their new values.
    const rows = METRICS.map((metric) => {
      const s = this.stat(agent, metric);
      s.add(w.counts[metric]);
      for (let i = 0; i < idle; i++) s.add(0);
      return [agent, metric, s.n, s.mean, s.m2];
    });
    await this.store.transaction(async () => {
      for (const row of rows) {
        await this.store.run(
          `INSERT INTO monitor_baselines (agent, metric, n, mean, m2) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(agent, metric) DO UPDATE SET n = excluded.n, mean = excluded.mean, m2 = excluded.m2`,
          row,
        );
      }
    });
  }
}
