import type { Clock } from './clock.js';

/** Trust labels a session picks up from what it has seen. */
export type TrustLabel = 'untrusted_input' | 'untrusted_instructions' | 'private_data' | 'secret_seen' | 'flagged';

/** A stage tried to change session state while judging; state changes belong in an effect's commit. */
export class SessionWriteError extends Error {
  readonly code = 'session.write_while_judging';
  constructor(what: string) {
    super(`session ${what} changed outside a commit: stages judge, effects change state`);
    this.name = 'SessionWriteError';
  }
}

/**
 * State carried across the actions of one agent session: accumulated injection risk that decays,
 * trust labels of content seen, and counters for limits and baselines. Readable at any time; writable only
 * inside `writing()`, which the pipeline's commit step (and code outside the pipeline) uses, so a stage cannot
 * change the session while it judges.
 */
export class SessionState {
  readonly id: string;
  readonly agent: string;
  readonly createdAt: number;
  lastSeen: number;
  private readonly labelSet = new Set<TrustLabel>();
  private readonly causes = new Map<TrustLabel, string>();
  private injectionValue = { score: 0, at: 0 };
  private readonly counterMap = new Map<string, number>();
  private readonly stateMap = new Map<string, unknown>();
  private writers = 0;

  constructor(id: string, agent: string, now: number) {
    this.id = id;
    this.agent = agent;
    this.createdAt = now;
    this.lastSeen = now;
  }

  get labels(): ReadonlySet<TrustLabel> {
    return this.labelSet;
  }

  /** Accumulated injection risk, 0..10, with the time it was last updated (for decay). */
  get injection(): Readonly<{ score: number; at: number }> {
    return this.injectionValue;
  }

  /** Free-form per-session counters (turns, tool calls, bytes out). */
  get counters(): ReadonlyMap<string, number> {
    return this.counterMap;
  }

  /** Stage-owned state, keyed by stage name. Values are replaced on commit, never changed in place. */
  get stageState(): ReadonlyMap<string, unknown> {
    return this.stateMap;
  }

  /** Runs `fn` with writes allowed (an effect's commit or undo). */
  writing<T>(fn: () => T): T {
    this.writers++;
    let async = false;
    try {
      const r = fn();
      if (r instanceof Promise) {
        async = true;
        return r.finally(() => this.writers--) as T;
      }
      return r;
    } finally {
      if (!async) this.writers--;
    }
  }

  /** What first gave the session each label (a tool result, an input), for explanations and reviews. */
  get labelCauses(): ReadonlyMap<TrustLabel, string> {
    return this.causes;
  }

  label(l: TrustLabel, cause?: string): void {
    this.guard('labels');
    this.labelSet.add(l);
    if (cause !== undefined && !this.causes.has(l)) this.causes.set(l, cause.slice(0, 200));
  }

  setInjection(score: number, at: number): void {
    this.guard('injection');
    this.injectionValue = { score, at };
  }

  setState(key: string, value: unknown): void {
    this.guard(`state ${key}`);
    this.stateMap.set(key, value);
  }

  count(name: string, by = 1): number {
    this.guard('counters');
    const v = (this.counterMap.get(name) ?? 0) + by;
    this.counterMap.set(name, v);
    return v;
  }

  private guard(what: string): void {
    if (this.writers === 0) throw new SessionWriteError(what);
  }
}

/**
 * In-memory session table, bounded in size and idle time so an agent cannot exhaust memory
 * by opening sessions. Sessions are keyed by (agent, session id): one agent cannot reach another's.
 */
export class SessionTable {
  private readonly sessions = new Map<string, SessionState>();
  constructor(
    private readonly clock: Clock,
    private readonly maxSessions = 10_000,
    private readonly idleMs = 24 * 3600_000,
  ) {}

  get(agent: string, id: string): SessionState {
    const key = `${agent}\u0000${id}`;
    const now = this.clock.now();
    let s = this.sessions.get(key);
    if (s && now - s.lastSeen > this.idleMs) {
      this.sessions.delete(key);
      s = undefined;
    }
    if (!s) {
      if (this.sessions.size >= this.maxSessions) this.evictOldest();
      s = new SessionState(id, agent, now);
    } else {
      this.sessions.delete(key);
    }
    s.lastSeen = now;
    this.sessions.set(key, s);
    return s;
  }

  peek(agent: string, id: string): SessionState | undefined {
    return this.sessions.get(`${agent}\u0000${id}`);
  }

  /** Sessions of one agent, e.g. to quarantine them together. */
  ofAgent(agent: string): SessionState[] {
    return [...this.sessions.values()].filter((s) => s.agent === agent);
  }

  get size(): number {
    return this.sessions.size;
  }

  private evictOldest(): void {
    // Map iteration order is insertion order and get() re-inserts, so the first key is least recently used.
    const first = this.sessions.keys().next();
    if (!first.done) this.sessions.delete(first.value);
  }
}
