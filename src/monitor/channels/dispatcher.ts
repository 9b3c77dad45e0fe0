import type { ChannelConfig, DeliveryConfig } from '../../config/sections/monitor.js';
import type { Store } from '../../store/store.js';
import { type AlertMessage, DeliveryError, deliver } from './deliver.js';

export interface OutboxRow {
  id: string;
  channel: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  nextAt: number;
  lastError: string | null;
  createdAt: number;
  message: AlertMessage;
}

interface Raw {
  id: string;
  channel: string;
  status: OutboxRow['status'];
  attempts: number;
  next_at: number;
  last_error: string | null;
  created_at: number;
  message: string;
}

export interface DispatcherOptions {
  channels: readonly ChannelConfig[];
  delivery: DeliveryConfig;
  store: Store;
  now: () => number;
  env?: NodeJS.ProcessEnv;
  /** Called after each attempt, for metrics. */
  onOutcome?: (channel: ChannelConfig, outcome: 'delivered' | 'retried' | 'dead_lettered') => void;
  random?: () => number;
}

/**
 * Alert delivery through a durable outbox in the store: an alert is enqueued once per matching channel (the id
 * makes a second gateway on the same data dir a no-op), attempted with exponential backoff and jitter, and
 * dead-lettered after `delivery.attempts`. Dead letters stay visible to operators, who can retry them.
 */
export class AlertDispatcher {
  private readonly byName: Map<string, ChannelConfig>;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** The dispatcher over the outbox in `opts.store`, whose table is migrated here. */
  static async open(opts: DispatcherOptions): Promise<AlertDispatcher> {
    await opts.store.migrate('alert_outbox', [
      {
        version: 1,
        name: 'alert outbox',
        sql: `CREATE TABLE alert_outbox (
          id TEXT PRIMARY KEY,
          channel TEXT NOT NULL,
          status TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          next_at INTEGER NOT NULL,
          last_error TEXT,
          created_at INTEGER NOT NULL,
          message TEXT NOT NULL
        );
        CREATE INDEX alert_outbox_due ON alert_outbox (status, next_at);`,
      },
    ]);
    return new AlertDispatcher(opts);
  }

  private constructor(private readonly opts: DispatcherOptions) {
    this.byName = new Map(opts.channels.map((c) => [c.name, c]));
  }

  /** Channels an alert of `rule` goes to. */
  routes(rule: string): ChannelConfig[] {
    return this.opts.channels.filter((c) => c.rules === undefined || c.rules.includes(rule));
  }

  /** Queues `msg` for the given channels (default: those routed for its rule); returns how many were new. */
  async enqueue(msg: Omit<AlertMessage, 'id'> & { id: string }, channels = this.routes(msg.rule)): Promise<number> {
    let added = 0;
    for (const ch of channels) {
      const message: AlertMessage = { ...msg, id: `${msg.id}:${ch.name}` };
      const r = await this.opts.store.run(
        `INSERT INTO alert_outbox (id, channel, status, attempts, next_at, last_error, created_at, message)
         VALUES (?, ?, 'pending', 0, ?, NULL, ?, ?) ON CONFLICT DO NOTHING`,
        [message.id, ch.name, this.opts.now(), this.opts.now(), JSON.stringify(message)],
      );
      added += r.changes;
    }
    if (added > 0) this.kick();
    return added;
  }

  /** Attempts every due delivery once; resolves when they are done. Concurrent calls share one run. */
  run(): Promise<void> {
    this.running ??= this.attemptDue().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Polls for due deliveries (retries come due on their own time) until stop(). */
  start(intervalMs = 500): void {
    this.timer = setInterval(() => void this.run(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async list(status?: OutboxRow['status'], limit = 200): Promise<OutboxRow[]> {
    const rows = status
      ? await this.opts.store.all<Raw>('SELECT * FROM alert_outbox WHERE status = ? ORDER BY created_at DESC LIMIT ?', [
          status,
          limit,
        ])
      : await this.opts.store.all<Raw>('SELECT * FROM alert_outbox ORDER BY created_at DESC LIMIT ?', [limit]);
    return rows.map(toRow);
  }

  async deadLetters(): Promise<number> {
    const row = await this.opts.store.get<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM alert_outbox WHERE status = 'dead'",
    );
    return Number(row?.n ?? 0);
  }

  /** Puts a dead letter back in the queue with a fresh set of attempts. */
  async retry(id: string): Promise<boolean> {
    const r = await this.opts.store.run(
      "UPDATE alert_outbox SET status = 'pending', attempts = 0, next_at = ? WHERE id = ? AND status = 'dead'",
      [this.opts.now(), id],
    );
    if (r.changes > 0) this.kick();
    return r.changes > 0;
  }

  private kick(): void {
    if (this.timer) void this.run();
  }

  private async attemptDue(): Promise<void> {
    const rows = await this.opts.store.all<Raw>(
      "SELECT * FROM alert_outbox WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT 50",
      [this.opts.now()],
    );
    await Promise.all(rows.map((row) => this.attempt(toRow(row))));
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const d = this.opts.delivery;
    const ch = this.byName.get(row.channel);
    const attempts = row.attempts + 1;
    let error: DeliveryError | undefined;
    if (!ch) error = new DeliveryError(`channel ${row.channel} is no longer configured`, false);
    else {
      try {
        await deliver(ch, row.message, { env: this.opts.env ?? process.env, now: this.opts.now, timeoutMs: d.timeout });
      } catch (err) {
        error = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, true);
      }
    }
    if (!error) {
      await this.opts.store.run(
        "UPDATE alert_outbox SET status = 'delivered', attempts = ?, last_error = NULL WHERE id = ?",
        [attempts, row.id],
      );
      if (ch) this.opts.onOutcome?.(ch, 'delivered');
      return;
    }
    const dead = !error.retryable || attempts >= d.attempts;
    const jitter = 0.5 + (this.opts.random ?? Math.random)() / 2;
    const wait = Math.min(d.max_backoff, d.backoff * 2 ** (attempts - 1)) * jitter;
    await this.opts.store.run(
      'UPDATE alert_outbox SET status = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?',
      [dead ? 'dead' : 'pending', attempts, Math.round(this.opts.now() + wait), error.message.slice(0, 500), row.id],
    );
    if (ch) this.opts.onOutcome?.(ch, dead ? 'dead_lettered' : 'retried');
  }
}

function toRow(r: Raw): OutboxRow {
  return {
    id: r.id,
    channel: r.channel,
    status: r.status,
    attempts: r.attempts,
    nextAt: r.next_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    message: JSON.parse(r.message) as AlertMessage,
  };
}
