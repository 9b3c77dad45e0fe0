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

/** What a label's first cause was and when it was recorded (the earliest cause wins when states merge). */
export interface LabelEntry {
  readonly cause?: string;
  readonly at: number;
}

/**
 * A session's state as plain data: what is stored, forked for a decision and merged across gateways. Stage
 * state values are immutable (replaced on commit, never changed in place), so copies share them.
 */
export interface SessionData {
  readonly createdAt: number;
  readonly labels: ReadonlyMap<TrustLabel, LabelEntry>;
  readonly injection: Readonly<{ score: number; at: number }>;
  readonly counters: ReadonlyMap<string, number>;
  readonly state: ReadonlyMap<string, unknown>;
}

/**
 * State carried across the actions of one agent session: accumulated injection risk that decays,
 * trust labels of content seen, and counters for limits and baselines. Readable at any time; writable only
 * inside `writing()`, which the pipeline's commit step (and code outside the pipeline) uses, so a stage cannot
 * change the session while it judges. It records whether a write changed anything and by how much each counter
 * moved, so the commit step stores only real changes and adds counters as deltas.
 */
export class SessionState {
  readonly id: string;
  readonly agent: string;
  readonly createdAt: number;
  lastSeen: number;
  private labelMap = new Map<TrustLabel, LabelEntry>();
  private labelSet = new Set<TrustLabel>();
  private causes = new Map<TrustLabel, string>();
  private injectionValue = { score: 0, at: 0 };
  private counterMap = new Map<string, number>();
  private counterDelta = new Map<string, number>();
  private stateMap = new Map<string, unknown>();
  private dirty = false;
  private writers = 0;

  constructor(id: string, agent: string, now: number, data?: SessionData) {
    this.id = id;
    this.agent = agent;
    this.createdAt = data?.createdAt ?? now;
    this.lastSeen = now;
    if (data) this.load(data, new Map(), false);
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

  /** Whether a write changed anything since this state was created, loaded or marked stored. */
  get changed(): boolean {
    return this.dirty;
  }

  /** How much each counter moved since then (what the store adds to its own count). */
  get counterDeltas(): ReadonlyMap<string, number> {
    return this.counterDelta;
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
    const had = this.labelMap.get(l);
    if (had && (had.cause !== undefined || cause === undefined)) return;
    const entry: LabelEntry =
      cause === undefined ? { at: this.lastSeen } : { cause: cause.slice(0, 200), at: this.lastSeen };
    this.labelMap.set(l, entry);
    this.labelSet.add(l);
    if (entry.cause !== undefined) this.causes.set(l, entry.cause);
    this.dirty = true;
  }

  setInjection(score: number, at: number): void {
    this.guard('injection');
    if (this.injectionValue.score === score && this.injectionValue.at === at) return;
    this.injectionValue = { score, at };
    this.dirty = true;
  }

  setState(key: string, value: unknown): void {
    this.guard(`state ${key}`);
    if (this.stateMap.get(key) === value) return;
    this.stateMap.set(key, value);
    this.dirty = true;
  }

  count(name: string, by = 1): number {
    this.guard('counters');
    const v = (this.counterMap.get(name) ?? 0) + by;
    this.counterMap.set(name, v);
    if (by !== 0) {
      this.counterDelta.set(name, (this.counterDelta.get(name) ?? 0) + by);
      this.dirty = true;
    }
    return v;
  }

  /** The state as plain data (copies of the maps; the stage values are shared, being immutable). */
  toData(): SessionData {
    return {
      createdAt: this.createdAt,
      labels: new Map(this.labelMap),
      injection: { ...this.injectionValue },
      counters: new Map(this.counterMap),
      state: new Map(this.stateMap),
    };
  }

  /** A working copy for one decision: its writes change neither this state nor any other decision's copy. */
  fork(now: number): SessionState {
    const s = new SessionState(this.id, this.agent, now, this.toData());
    return s;
  }

  /** Everything the commit step may need to go back to: the data, the deltas and the changed flag. */
  checkpoint(): SessionCheckpoint {
    return { data: this.toData(), deltas: new Map(this.counterDelta), dirty: this.dirty };
  }

  /** Back to a checkpoint: the writes of a commit step that turned into a deny are dropped. */
  restore(c: SessionCheckpoint): void {
    this.load(c.data, new Map(c.deltas), c.dirty);
  }

  /** The changes are stored: what follows is measured from here. */
  markStored(): void {
    this.dirty = false;
    this.counterDelta = new Map();
  }

  private load(data: SessionData, deltas: Map<string, number>, dirty: boolean): void {
    this.labelMap = new Map(data.labels);
    this.labelSet = new Set(data.labels.keys());
    this.causes = new Map();
    for (const [l, e] of data.labels) if (e.cause !== undefined) this.causes.set(l, e.cause);
    this.injectionValue = { ...data.injection };
    this.counterMap = new Map(data.counters);
    this.stateMap = new Map(data.state);
    this.counterDelta = deltas;
    this.dirty = dirty;
  }

  private guard(what: string): void {
    if (this.writers === 0) throw new SessionWriteError(what);
  }
}

/** An opaque copy of a session's state taken before a commit step (`SessionState.checkpoint`). */
export interface SessionCheckpoint {
  readonly data: SessionData;
  readonly deltas: ReadonlyMap<string, number>;
  readonly dirty: boolean;
}
