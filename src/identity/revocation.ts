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

  isRevoked(jti: string): boolean {
    this.feed.poll();
    return this.denied.has(jti);
  }

  /** Adds entries; call inside a store transaction when it must land together with other writes. */
  add(entries: readonly RevokedToken[]): number {
    if (entries.length === 0) return 0;
    const now = this.clock.now();
    let added = 0;
    this.store.transaction(() => {
      const seq = this.feed.bump();
      for (const e of entries) {
        const r = this.store.run(
          `INSERT INTO identity_revoked_tokens (jti, agent, exp, revoked_at, reason, seq) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(jti) DO NOTHING`,
          [e.jti, e.agent ?? null, e.exp, now, e.reason, seq],
        );
        added += r.changes;
      }
    });
    for (const e of entries) this.denied.set(e.jti, e.exp);
    return added;
  }

  get size(): number {
    return this.denied.size;
  }

  /** Drops entries whose tokens have expired, in memory and in the store. Cheap; runs at most once a minute. */
  purge(force = false): void {
    const now = this.clock.now();
    if (!force && now - this.purgedAt < 60_000) return;
    this.purgedAt = now;
    const cutoff = now - this.skewMs;
    for (const [jti, exp] of this.denied) if (exp < cutoff) this.denied.delete(jti);
    this.store.run('DELETE FROM identity_revoked_tokens WHERE exp < ?', [cutoff]);
    this.store.run('DELETE FROM identity_access_tokens WHERE exp < ?', [cutoff]);
    this.store.run('DELETE FROM identity_assertions WHERE exp < ?', [cutoff]);
  }

  private loadSince(since: number): void {
    const cutoff = this.clock.now() - this.skewMs;
    for (const r of this.store.all<{ jti: string; exp: number }>(
      'SELECT jti, exp FROM identity_revoked_tokens WHERE seq > ? AND exp >= ?',
      [since, cutoff],
    )) {
      this.denied.set(r.jti, r.exp);
    }
  }
}
