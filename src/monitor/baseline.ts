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

  constructor(
    private readonly store: Store,
    private readonly windowMs: number,
  ) {
    store.migrate('monitor', [
      {
        version: 1,
        name: 'baselines',
        sql: `CREATE TABLE monitor_baselines (
          agent TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER NOT NULL, mean REAL NOT NULL, m2 REAL NOT NULL,
          PRIMARY KEY (agent, metric)
        )`,
      },
    ]);
  }

  /** Counts one decision for the agent; returns the agent's current window counts. */
  observe(
    agent: string,
    at: number,
    event: { tool?: string; effect: string; screenBlocked: boolean },
  ): Record<Metric, number> {
    const w = this.window(agent, at);
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

  /** The agent's accumulator for a metric (loaded from the store on first use). */
  stat(agent: string, metric: Metric): Welford {
    let m = this.stats.get(agent);
    if (!m) {
      m = new Map();
      for (const row of this.store.all<{ metric: Metric; n: number; mean: number; m2: number }>(
        'SELECT metric, n, mean, m2 FROM monitor_baselines WHERE agent = ?',
        [agent],
      )) {
        m.set(row.metric, new Welford(row.n, row.mean, row.m2));
      }
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
  anomaly(agent: string, at: number, minWindows: number): number {
    const w = this.current.get(agent);
    if (!w || w.start !== at - (at % this.windowMs)) return 0;
    let max = 0;
    for (const metric of METRICS) {
      const s = this.stat(agent, metric);
      if (s.n < minWindows) continue;
      max = Math.max(max, s.z(w.counts[metric]));
    }
    return Math.min(10, Math.max(0, Math.round(max * 100) / 100));
  }

  /** Baselines of every agent seen, for status displays. */
  snapshot(): { agent: string; metric: Metric; n: number; mean: number; stddev: number; current: number }[] {
    const agents = new Set([
      ...this.store.all<{ agent: string }>('SELECT DISTINCT agent FROM monitor_baselines').map((r) => r.agent),
      ...this.current.keys(),
    ]);
    const out = [];
    for (const agent of [...agents].sort()) {
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

  private window(agent: string, at: number): Window {
    const start = at - (at % this.windowMs);
    let w = this.current.get(agent);
    if (w && w.start !== start) {
      this.close(agent, w, start);
      w = undefined;
    }
    if (!w) {
      w = { start, counts: emptyCounts(), tools: new Set() };
      this.current.set(agent, w);
    }
    return w;
  }

  /** Feeds a finished window, and the empty windows of silence after it, into the accumulators. */
  private close(agent: string, w: Window, nextStart: number): void {
    const idle = Math.min(Math.max(0, Math.round((nextStart - w.start) / this.windowMs) - 1), 60);
    this.store.transaction(() => {
      for (const metric of METRICS) {
        const s = this.stat(agent, metric);
        s.add(w.counts[metric]);
        for (let i = 0; i < idle; i++) s.add(0);
        this.store.run(
          `INSERT INTO monitor_baselines (agent, metric, n, mean, m2) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(agent, metric) DO UPDATE SET n = excluded.n, mean = excluded.mean, m2 = excluded.m2`,
          [agent, metric, s.n, s.mean, s.m2],
        );
      }
    });
  }
}
