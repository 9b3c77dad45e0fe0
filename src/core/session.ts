import type { Clock } from './clock.js';

/** Trust labels a session picks up from what it has seen. */
export type TrustLabel = 'untrusted_input' | 'untrusted_instructions' | 'private_data' | 'secret_seen' | 'flagged';

/**
 * State carried across the actions of one agent session: accumulated injection risk that decays,
 * trust labels of content seen, and counters for limits and baselines.
 */
export class SessionState {
  readonly id: string;
  readonly agent: string;
  readonly createdAt: number;
  lastSeen: number;
  readonly labels = new Set<TrustLabel>();
  /** Accumulated injection risk, 0..10, with the time it was last updated (for decay). */
  injection = { score: 0, at: 0 };
  /** Free-form per-session counters (turns, tool calls, bytes out). */
  readonly counters = new Map<string, number>();
  /** Stage-owned state, keyed by stage name, for state a stage keeps across turns. */
  readonly stageState = new Map<string, unknown>();

  constructor(id: string, agent: string, now: number) {
    this.id = id;
    this.agent = agent;
    this.createdAt = now;
    this.lastSeen = now;
  }

  label(l: TrustLabel): void {
    this.labels.add(l);
  }

  count(name: string, by = 1): number {
    const v = (this.counters.get(name) ?? 0) + by;
    this.counters.set(name, v);
    return v;
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
