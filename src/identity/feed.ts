import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';

/**
 * Cross-process change feed of identity state. Writers bump `identity_seq` inside their transaction and stamp
 * the rows they change; readers poll the counter (at most once per `intervalMs`, a single indexed read) and
 * reload only the rows above what they have seen. So a suspension made with the CLI reaches a running
 * gateway within `intervalMs`, and writes made in this process apply at once.
 */
export class ChangeFeed {
  private seen = 0;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private readonly listeners: Array<(since: number) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Registers a reloader; it is called with the last seq seen, and must load rows with a greater seq. */
  subscribe(fn: (since: number) => void): void {
    this.listeners.push(fn);
  }

  /** Next sequence number; call inside the transaction that writes the stamped rows. */
  bump(): number {
    this.store.run('UPDATE identity_seq SET seq = seq + 1 WHERE id = 1');
    return this.current();
  }

  current(): number {
    return this.store.get<{ seq: number }>('SELECT seq FROM identity_seq WHERE id = 1')?.seq ?? 0;
  }

  /** Catches up with other processes' writes if the interval has passed (or `force`). */
  poll(force = false): void {
    const now = this.clock.now();
    if (!force && now - this.checkedAt < this.intervalMs) return;
    this.checkedAt = now;
    const seq = this.current();
    if (seq === this.seen) return;
    const since = this.seen;
    for (const l of this.listeners) l(since);
    this.seen = seq;
  }
}
