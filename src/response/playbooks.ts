import type { AuditLog } from '../audit/log.js';
import type { Clock } from '../core/clock.js';
import { NotFoundError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/** What other components do when an agent is quarantined or restored (revoke its tokens, kill its sandboxes). */
export interface ResponseHooks {
  quarantine?: (agent: string, reason: string) => Promise<string[]> | string[];
  restore?: (agent: string) => Promise<string[]> | string[];
}

export interface Quarantine {
  agent: string;
  reason: string;
  by: string;
  since: number;
}

/**
 * Incident response playbooks. Quarantine stops an agent everywhere at once: every later action is denied,
 * and the hooks revoke its tokens and kill its running sandboxes. Restore lifts it. Both are audited durably
 * with what each hook did.
 */
/**
 * How long a cached quarantine lookup is trusted. Another process (the CLI, a second gateway) may quarantine or
 * restore an agent; this bounds how long this process takes to see it. The identity stage's own change feed
 * denies a quarantined registered agent within its poll interval as well.
 */
const CACHE_MS = 1000;

export class Responder {
  private readonly cache = new Map<string, { q: Quarantine | null; at: number }>();

  /** Incident response on `store`, whose table is migrated here. */
  static async open(store: Store, audit: AuditLog, clock: Clock, hooks: ResponseHooks = {}): Promise<Responder> {
    await store.migrate('response', [
      {
        version: 1,
        name: 'quarantine',
        sql: `CREATE TABLE quarantine (agent TEXT PRIMARY KEY, reason TEXT NOT NULL, by TEXT NOT NULL, since INTEGER NOT NULL)`,
        // BY is a reserved word in PostgreSQL; statements quote it, which SQLite accepts too.
        postgres: `CREATE TABLE quarantine (agent TEXT PRIMARY KEY, reason TEXT NOT NULL, "by" TEXT NOT NULL, since BIGINT NOT NULL)`,
      },
    ]);
    return new Responder(store, audit, clock, hooks);
  }

  private constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly hooks: ResponseHooks,
  ) {}

  /** The agent's quarantine, if any. Read through a cache: this is on the decision path. */
  async quarantined(agent: string): Promise<Quarantine | undefined> {
    const now = this.clock.now();
    const hit = this.cache.get(agent);
    if (hit && now - hit.at < CACHE_MS) return hit.q ?? undefined;
    const q =
      (await this.store.get<Quarantine>('SELECT agent, reason, "by", since FROM quarantine WHERE agent = ?', [
        agent,
      ])) ?? null;
    this.cache.set(agent, { q, at: now });
    return q ?? undefined;
  }

  list(): Promise<Quarantine[]> {
    return this.store.all<Quarantine>('SELECT agent, reason, "by", since FROM quarantine ORDER BY since');
  }

  async quarantine(agent: string, reason: string, by: string): Promise<Quarantine> {
    const q: Quarantine = { agent, reason, by, since: this.clock.now() };
    await this.store.run(
      'INSERT INTO quarantine (agent, reason, "by", since) VALUES (?, ?, ?, ?) ON CONFLICT(agent) DO UPDATE SET reason = excluded.reason, "by" = excluded."by", since = excluded.since',
      [agent, reason, by, q.since],
    );
    this.cache.set(agent, { q, at: q.since });
    const done = await runHook(() => this.hooks.quarantine?.(agent, reason));
    await this.audit.append({
      type: 'response.quarantined',
      agent,
      actor: by,
      data: { reason, actions: done.actions, errors: done.errors },
    });
    return q;
  }

  async restore(agent: string, by: string): Promise<void> {
    const r = await this.store.run('DELETE FROM quarantine WHERE agent = ?', [agent]);
    this.cache.delete(agent);
    if (r.changes === 0) throw new NotFoundError(`quarantine of agent ${agent}`);
    const done = await runHook(() => this.hooks.restore?.(agent));
    await this.audit.append({
      type: 'response.restored',
      agent,
      actor: by,
      data: { actions: done.actions, errors: done.errors },
    });
  }
}

async function runHook(
  fn: () => Promise<string[]> | string[] | undefined,
): Promise<{ actions: string[]; errors: string[] }> {
  try {
    return { actions: (await fn()) ?? [], errors: [] };
  } catch (err) {
    return { actions: [], errors: [(err as Error).message] };
  }
}
