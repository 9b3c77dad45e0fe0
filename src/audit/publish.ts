import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { AuditError, describeError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { SignedCheckpointSchema } from './anchor.js';
import type { Checkpoint, SignedCheckpoint } from './checkpoint.js';
import { hashAtSeq } from './verify.js';

/** A gateway's name in the shared store: `gw-` and 12 hex characters, kept in its data directory. */
export const INSTANCE_RE = /^gw-[0-9a-f]{12}$/;

/** The latest signed checkpoint one gateway published, with where its log lives (host and audit directory). */
export interface PublishedCheckpoint extends SignedCheckpoint {
  instance: string;
  host: string;
  dir: string;
  publishedAt: number;
}

const PublishedRowSchema = SignedCheckpointSchema.extend({
  instance: z.string().regex(INSTANCE_RE),
  host: z.string().max(255),
  dir: z.string().min(1).max(4096),
  published_at: z.coerce.number().int().nonnegative(),
  seq: z.coerce.number().int().positive(),
});

const MIGRATIONS = [
  {
    version: 1,
    name: 'published checkpoints',
    sql: `CREATE TABLE audit_checkpoints (
      instance TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      hash TEXT NOT NULL,
      ts TEXT NOT NULL,
      kid TEXT NOT NULL,
      sig TEXT NOT NULL,
      host TEXT NOT NULL,
      dir TEXT NOT NULL,
      published_at INTEGER NOT NULL
    )`,
  },
];

/**
 * This gateway's instance id, created on first use in `file` (`<data>/instance.id`). Kept beside the audit directory,
 * not inside it: a deleted audit directory then reopens under the same id and meets its own published checkpoint.
 */
export function instanceId(file: string): string {
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (!INSTANCE_RE.test(id)) throw new AuditError('audit.instance_invalid', `${file} does not hold an instance id`);
    return id;
  }
  const id = `gw-${randomBytes(6).toString('hex')}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600, flag: 'wx' });
  return id;
}

/** Every instance's published checkpoint, validated (the table is input from outside this process). */
export async function readPublished(store: Store): Promise<PublishedCheckpoint[]> {
  await store.migrate('audit', MIGRATIONS);
  const rows = await store.all<Record<string, unknown>>(
    'SELECT instance, seq, hash, ts, kid, sig, host, dir, published_at FROM audit_checkpoints ORDER BY instance',
  );
  return rows.map((r) => {
    const p = PublishedRowSchema.safeParse(r);
    if (!p.success) {
      throw new AuditError(
        'audit.tampered',
        `a published checkpoint (instance ${String(r.instance).slice(0, 40)}) is malformed: ${p.error.issues[0]?.message}`,
      );
    }
    const { published_at, ...c } = p.data;
    return { ...c, publishedAt: published_at };
  });
}

/**
 * Publishes the log's signed checkpoints to the shared store, so `audit verify --all` can check every gateway's log
 * against a copy its host cannot quietly roll back. The log hands over each checkpoint synchronously (`offer`);
 * the write happens in the background, latest first, and is monotonic in the database (a lower seq never replaces a
 * higher one). A failed write is retried with the next checkpoint: the published copy may lag the log, never lead it.
 */
export class CheckpointPublisher {
  private pending: SignedCheckpoint | undefined;
  private writing: Promise<void> | undefined;
  /** The last write error, cleared by the next successful write (for health and tests). */
  lastError: string | undefined;

  private constructor(
    private readonly store: Store,
    readonly instance: string,
    private readonly where: { host: string; dir: string },
    private readonly clock: Clock,
  ) {}

  static async open(
    store: Store,
    opts: { instance: string; host: string; dir: string; clock: Clock },
  ): Promise<CheckpointPublisher> {
    await store.migrate('audit', MIGRATIONS);
    return new CheckpointPublisher(store, opts.instance, { host: opts.host, dir: opts.dir }, opts.clock);
  }

  /** This instance's published checkpoint, if any. */
  async own(): Promise<PublishedCheckpoint | undefined> {
    return (await readPublished(this.store)).find((p) => p.instance === this.instance);
  }

  /**
   * Refuses a log that no longer holds this instance's published checkpoint (rolled back, replaced or deleted):
   * writing on would reuse its sequence numbers under the same instance id.
   */
  async checkHeld(dir: string, head: Checkpoint | undefined): Promise<void> {
    const p = await this.own();
    if (!p) return;
    const seq = head?.seq ?? 0;
    const at = p.seq > seq ? undefined : p.seq === seq ? head?.hash : hashAtSeq(dir, p.seq);
    if (at !== p.hash) {
      throw new AuditError(
        'audit.rolled_back',
        `the audit log of instance ${this.instance} (${seq} events) no longer holds its checkpoint published to the store (seq ${p.seq}): it was rolled back, replaced or deleted; run 'gatehouse audit verify --all'`,
      );
    }
  }

  offer(c: SignedCheckpoint): void {
    if (this.pending && this.pending.seq >= c.seq) return;
    this.pending = c;
    this.writing ??= this.drain();
  }

  /** Resolves once every checkpoint offered so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const c = this.pending;
        this.pending = undefined;
        try {
          await this.store.run(
            `INSERT INTO audit_checkpoints (instance, seq, hash, ts, kid, sig, host, dir, published_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(instance) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, ts = excluded.ts,
               kid = excluded.kid, sig = excluded.sig, host = excluded.host, dir = excluded.dir,
               published_at = excluded.published_at
             WHERE audit_checkpoints.seq < excluded.seq`,
            [this.instance, c.seq, c.hash, c.ts, c.kid, c.sig, this.where.host, this.where.dir, this.clock.now()],
          );
          this.lastError = undefined;
        } catch (err) {
          this.lastError = describeError(err);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
