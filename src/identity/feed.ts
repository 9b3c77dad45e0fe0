import { StoreError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/** The channel writers signal after an identity change, so watchers catch up at once instead of at their next poll. */
export const IDENTITY_CHANNEL = 'identity';

/**
 * Cross-process change feed of identity state. Writers bump `identity_seq` inside their transaction and stamp
 * the rows they change; readers compare the counter with what they have seen and reload only the rows above it.
 *
 * Catching up runs in the background (every `intervalMs`, and at once when the store signals `identity`), so
 * the hot path reads memory only; a suspension made with the CLI reaches a running gateway within `intervalMs`,
 * and writes made in this process apply at once. `sync()` catches up now, for reads that must see every write
 * committed before them. A background catch-up that fails is recorded: `check()` then fails closed (the hot path
 * does not serve security state it could not bring up to date), and the next catch-up retries.
 */
export class ChangeFeed {
  private seen = 0;
  private readonly listeners: Array<(since: number) => Promise<void>> = [];
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  /** The catch-up in progress; `again` asks it for one more pass (a wake-up arrived while it ran). */
  private pass: Promise<void> | undefined;
  private again = false;
  private failure: StoreError | undefined;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
  ) {}

  /** Registers a reloader; it is called with the last seq seen, and must load rows with a greater seq. */
  subscribe(fn: (since: number) => Promise<void>): void {
    this.listeners.push(fn);
  }

  /**
   * Next sequence number; call inside the transaction that writes the stamped rows. The signal goes out when
   * that transaction commits.
   */
  async bump(): Promise<number> {
    await this.store.run('UPDATE identity_seq SET seq = seq + 1 WHERE id = 1');
    await this.store.signal(IDENTITY_CHANNEL);
    return this.current();
  }

  async current(): Promise<number> {
    return (await this.store.get<{ seq: number }>('SELECT seq FROM identity_seq WHERE id = 1'))?.seq ?? 0;
  }

  /** Starts catching up in the background. The owner calls `stop()` when it closes. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.wake(), this.intervalMs);
    this.timer.unref();
    this.unwatch = this.store.watch(IDENTITY_CHANNEL, () => this.wake());
  }

  /** Stops the background catch-up and waits for one in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    await this.pass;
  }

  /** Catches up with every write committed before this call; throws when the store cannot be read. */
  async sync(): Promise<void> {
    await this.catchUp();
    if (this.failure) throw this.failure;
  }

  /** Throws when the last catch-up failed: memory may then be missing a revocation. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  health(): { ok: boolean; error?: string } {
    return this.failure ? { ok: false, error: this.failure.message } : { ok: true };
  }

  private wake(): void {
    // catchUp never rejects: a failure is recorded for check() and sync().
    void this.catchUp();
  }

  private catchUp(): Promise<void> {
    this.again = true;
    this.pass ??= this.drain();
    return this.pass;
  }

  private async drain(): Promise<void> {
    try {
      while (this.again) {
        this.again = false;
        try {
          await this.once();
          this.failure = undefined;
        } catch (err) {
          this.failure =
            err instanceof StoreError
              ? err
              : new StoreError(`identity state could not be brought up to date: ${(err as Error).message}`, {
                  cause: err,
                });
        }
      }
    } finally {
      this.pass = undefined;
    }
  }

  private async once(): Promise<void> {
    const seq = await this.current();
    if (seq === this.seen) return;
    const since = this.seen;
    for (const l of this.listeners) await l(since);
    this.seen = seq;
  }
}
