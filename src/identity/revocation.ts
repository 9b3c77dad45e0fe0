import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { ChangeFeed } from './feed.js';

export interface RevokedToken {
  jti: string;
  agent: string | undefined;
  /** Expiry of the revoked token: the entry is dropped after it, as the token is dead by then anyway. */
  exp: number;
  reason: string;
}

/**
 * The `jti` deny-list. Entries live only until the token's own `exp` (plus the clock skew), so the list
 * stays bounded by the number of revoked tokens alive at one time; lookups are one Map read.
 * Revocations written by another process arrive through the change feed.
 */
export class RevocationList {
  private readonly denied = new Map<string, number>();
  private purgedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly feed: ChangeFeed,
    private readonly skewMs: number,
  ) {
    feed.subscribe((since) => this.loadSince(since));
  }

  /** Memory only: the change feed keeps the list current; throws if it could not. */
  isRevoked(jti: string): boolean {
    this.feed.check();
    return this.denied.has(jti);
  }

  /** Deny-lists tokens in the store and in memory; returns how many were new. */
  async add(entries: readonly RevokedToken[]): Promise<number> {
    if (entries.length === 0) return 0;
    const added = await this.store.transaction(() => this.record(entries));
    this.remember(entries);
    return added;
  }

  /**
   * Writes the entries to the store only; call inside the transaction they must land with, and `remember`
   * them after it commits.
   */
  async record(entries: readonly RevokedToken[]): Promise<number> {
    if (entries.length === 0) return 0;
    const now = this.clock.now();
    const seq = await this.feed.bump();
    let added = 0;
    for (const e of entries) {
      const r = await this.store.run(
        `INSERT INTO identity_revoked_tokens (jti, agent, exp, revoked_at, reason, seq) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(jti) DO NOTHING`,
        [e.jti, e.agent ?? null, e.exp, now, e.reason, seq],
      );
      added += r.changes;
    }
    return added;
  }

  /** Adds committed entries to the in-memory list. */
  remember(entries: readonly RevokedToken[]): void {
    for (const e of entries) this.denied.set(e.jti, e.exp);
  }

  get size(): number {
    return this.denied.size;
  }

  /** Drops entries whose tokens have expired, in memory and in the store. Cheap; runs at most once a minute. */
  async purge(force = false): Promise<void> {
    const now = this.clock.now();
    if (!force && now - this.purgedAt < 60_000) return;
    this.purgedAt = now;
    const cutoff = now - this.skewMs;
    for (const [jti, exp] of this.denied) if (exp < cutoff) this.denied.delete(jti);
    await this.store.run('DELETE FROM identity_revoked_tokens WHERE exp < ?', [cutoff]);
    await this.store.run('DELETE FROM identity_access_tokens WHERE exp < ?', [cutoff]);
    await this.store.run('DELETE FROM identity_assertions WHERE exp < ?', [cutoff]);
  }

  private async loadSince(since: number): Promise<void> {
    const cutoff = this.clock.now() - this.skewMs;
    const rows = await this.store.all<{ jti: string; exp: number }>(
      'SELECT jti, exp FROM identity_revoked_tokens WHERE seq > ? AND exp >= ?',
      [since, cutoff],
    );
    for (const r of rows) this.denied.set(r.jti, r.exp);
  }
}
