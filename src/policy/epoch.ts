import { performance } from 'node:perf_hooks';
import type { Store } from '../store/store.js';

/** The channel every writer of the policy epoch signals on commit (runtime grants, a changed configuration). */
export const POLICY_CHANNEL = 'policy';

/** How long a read epoch may be served without reading again, at most, even while notifications flow. */
const DEFAULT_MAX_AGE_MS = 1000;

/**
 * The policy epoch as the hot path reads it: from memory while the store's change signal is known to be
 * delivered, from the store otherwise. The staleness contract:
 *
 * - A change committed in this process is seen by the next decision (the store wakes local watchers on commit).
 * - A change committed on another gateway is seen within the notification latency: its signal drops the cached
 *   value and the next decision reads the store.
 * - The cached value is served only while the store is `watching` the channel (the listener is connected and
 *   LISTENing) and only if no signal or reconnect arrived while it was being read. While the listener is down or
 *   reconnecting, every decision reads the store (and denies with `store.unavailable` if that fails); the reconnect
 *   wakes the watcher, so the first decision after it reads again.
 * - A version poll behind the signal bounds a connection that died without saying so: a value is served for at
 *   most `maxAgeMs` after the read that produced it began, and a background poll re-reads it every half of that
 *   (a failed poll drops it). So a change is seen within `maxAgeMs` whatever happens to the notifications.
 *
 * On a store without cross-process signals (SQLite, which the CLI writes from other processes) nothing is ever
 * cached: every call reads.
 *
 * @example
 * const epochs = new PolicyEpochCache(store, () => grants.epoch());
 * epochs.start();
 * const epoch = await epochs.current();
 */
export class PolicyEpochCache {
  private value: number | undefined;
  private validUntil = 0;
  /** Rises with every signal and reconnect: a read that saw it change meanwhile is not cached. */
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly read: () => Promise<number>,
    private readonly maxAgeMs = DEFAULT_MAX_AGE_MS,
  ) {}

  /** Starts watching the signal and polling; `stop()` ends both. */
  start(): void {
    if (this.unwatch) return;
    this.unwatch = this.store.watch(POLICY_CHANNEL, () => this.invalidate());
    this.timer = setInterval(() => this.poll(), Math.max(1, Math.floor(this.maxAgeMs / 2)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    this.invalidate();
  }

  /** The epoch now: the cached value while it may be trusted (see the class comment), else read from the store. */
  async current(): Promise<number> {
    if (this.value !== undefined && performance.now() < this.validUntil && this.store.watching(POLICY_CHANNEL)) {
      return this.value;
    }
    return this.load();
  }

  /** Drops the cached value: the next call reads the store. */
  invalidate(): void {
    this.version++;
    this.value = undefined;
  }

  private async load(): Promise<number> {
    const version = this.version;
    const began = performance.now();
    // Checked before the read: a signal sent after this point either lands before the read (seen by it) or
    // raises the version (not cached). A listener down now may have missed a signal sent before.
    const trusted = this.unwatch !== undefined && this.store.watching(POLICY_CHANNEL);
    const epoch = await this.read();
    if (trusted && version === this.version && this.store.watching(POLICY_CHANNEL)) {
      this.value = epoch;
      this.validUntil = began + this.maxAgeMs;
    }
    return epoch;
  }

  private poll(): void {
    if (!this.store.watching(POLICY_CHANNEL)) return;
    this.load().catch(() => this.invalidate());
  }
}
