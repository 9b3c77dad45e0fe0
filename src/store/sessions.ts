import type { Clock } from '../core/clock.js';
import { GatehouseError } from '../core/errors.js';
import { type SessionData, SessionState } from '../core/session.js';
import type { SessionCodecs } from '../core/session-record.js';
import type { Migration, Store } from './store.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'session records',
    sql: `CREATE TABLE sessions (
      agent TEXT NOT NULL,
      session TEXT NOT NULL,
      version INTEGER NOT NULL,
      data TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      PRIMARY KEY (agent, session)
    );
    CREATE INDEX sessions_by_agent ON sessions (agent, last_seen);`,
  },
];

/** An agent holds as many live sessions as it may: a new one is refused rather than an old (tainted) one evicted. */
export class SessionLimitError extends GatehouseError {
  constructor(agent: string, max: number) {
    super('session.limit', `agent ${agent} already has ${max} live sessions; a new one is refused until one expires`);
  }
}

export interface SessionStoreOptions {
  /** A session not seen for this long expires (its record is treated as absent and swept). Default 24 h. */
  idleMs?: number;
  /** Live sessions one agent may hold. Default 1000. */
  maxPerAgent?: number;
  /** Session records this process keeps decoded, proved current by a version compare on every read. */
  cacheSize?: number;
}

interface Cached {
  version: number;
  data: SessionData;
}

/** Where a decision's copy of a session came from: the stored version, and when the row was last seen. */
interface Base {
  version: number;
  /** Undefined when no live row existed. */
  lastSeen: number | undefined;
  exists: boolean;
}

interface Row {
  version: number;
  last_seen: number;
  data: string | null;
}

/** Conditional writes lost to a concurrent commit on the same session are retried this often, then it fails. */
const MAX_ATTEMPTS = 64;

/**
 * Session state shared by every gateway on the store: one record per (agent, session) with a version. A
 * decision reads it at its start (one indexed read that returns the record only when the version differs from
 * the copy this process holds decoded) and judges on a working copy; the commit step writes only when the
 * decision changed something, with a conditional update on the version it read. A concurrent commit on another
 * gateway makes that update miss: the record is then re-read and merged (labels unioned, the greater injection
 * risk after decay, stage states through their codecs, counters added as deltas) and written again, so both
 * commits land and none overwrites the other.
 *
 * A session idle longer than `idleMs` expires. An agent is bounded to `maxPerAgent` live sessions, and a new
 * session over the bound is refused (`session.limit`) instead of evicting an old one: evicting would forget
 * the taint of a session that read untrusted data.
 */
export class SessionStore {
  private readonly cache = new Map<string, Cached>();
  private readonly bases = new WeakMap<SessionState, Base>();
  private readonly idleMs: number;
  private readonly maxPerAgent: number;
  private readonly cacheSize: number;

  /** Call `SessionStore.migrate(store)` once before. */
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly codecs: SessionCodecs,
    opts: SessionStoreOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 24 * 3600_000;
    this.maxPerAgent = opts.maxPerAgent ?? 1000;
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  /** Creates or upgrades the session table (the codecs come from the stages, built after the store opens). */
  static async migrate(store: Store): Promise<void> {
    await store.migrate('sessions', MIGRATIONS);
  }

  /** The session records kept in `store`, whose table is migrated here. */
  static async open(
    store: Store,
    clock: Clock,
    codecs: SessionCodecs,
    opts: SessionStoreOptions = {},
  ): Promise<SessionStore> {
    await SessionStore.migrate(store);
    return new SessionStore(store, clock, codecs, opts);
  }

  /**
   * A working copy of the session as last committed on any gateway, for one decision to judge on and commit
   * through `commit`. Creates nothing: a session that has no record yet is written only when a commit changes it.
   * Throws `store.unavailable` when the store cannot be read and `session.corrupt` for a record that cannot be used.
   */
  async begin(agent: string, id: string): Promise<SessionState> {
    const now = this.clock.now();
    const { data, base } = await this.read(agent, id, now);
    const s = new SessionState(id, agent, now, data);
    this.bases.set(s, base);
    return s;
  }

  /** The session as last committed, read only (explain, the console); undefined when it has no live record. */
  async peek(agent: string, id: string): Promise<SessionState | undefined> {
    const now = this.clock.now();
    const { data } = await this.read(agent, id, now);
    return data ? new SessionState(id, agent, now, data) : undefined;
  }

  /** The live sessions of one agent (quarantine, the console). */
  async ofAgent(agent: string): Promise<SessionState[]> {
    const now = this.clock.now();
    const rows = await this.store.all<{ session: string; data: string }>(
      'SELECT session, data FROM sessions WHERE agent = ? AND last_seen >= ? ORDER BY last_seen DESC',
      [agent, now - this.idleMs],
    );
    return rows.map(
      (r) => new SessionState(r.session, agent, now, this.codecs.decode(r.data, where(agent, r.session))),
    );
  }

  /**
   * Stores what a decision changed in its copy (`begin`), merged into whatever other gateways committed since;
   * nothing when it changed nothing (except, at most every eighth of the idle time, the time it was last seen,
   * so an active session does not expire). Throws `session.limit` for a new session over the agent's bound.
   */
  async commit(session: SessionState): Promise<void> {
    const base = this.bases.get(session);
    if (!base) throw new GatehouseError('internal.error', 'a session committed that was not begun on this store');
    const now = this.clock.now();
    const { agent, id } = session;
    if (!session.changed) {
      if (base.lastSeen !== undefined && now - base.lastSeen > this.idleMs / 8) {
        await this.store.run('UPDATE sessions SET last_seen = ? WHERE agent = ? AND session = ? AND last_seen < ?', [
          now,
          agent,
          id,
          now,
        ]);
        base.lastSeen = now;
      }
      return;
    }
    const mine = session.toData();
    const deltas = session.counterDeltas;
    let data = mine;
    let current: Base = base;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const text = this.codecs.encode(data);
      const version = current.version + 1;
      const wrote = current.exists
        ? await this.store.run(
            'UPDATE sessions SET version = ?, data = ?, last_seen = ? WHERE agent = ? AND session = ? AND version = ?',
            [version, text, now, agent, id, current.version],
          )
        : await this.insert(agent, id, text, data.createdAt, now);
      if (wrote.changes === 1) {
        this.remember(agent, id, { version, data });
        this.bases.set(session, { version, lastSeen: now, exists: true });
        session.markStored();
        return;
      }
      // Another gateway committed first (or the insert was refused): merge into what is there now.
      const row = await this.store.get<Row>(
        'SELECT version, last_seen, data FROM sessions WHERE agent = ? AND session = ?',
        [agent, id],
      );
      if (!row) {
        if (!current.exists) throw new SessionLimitError(agent, this.maxPerAgent);
        current = { version: 0, lastSeen: undefined, exists: false };
        data = mine;
        continue;
      }
      current = { version: row.version, lastSeen: row.last_seen, exists: true };
      const live = now - row.last_seen <= this.idleMs && row.data !== null;
      const theirs = live ? this.codecs.decode(row.data!, where(agent, id)) : undefined;
      data = theirs ? this.codecs.merge(theirs, mine, deltas) : mine;
    }
    throw new GatehouseError('session.contended', `${where(agent, id)} kept changing under ${MAX_ATTEMPTS} commits`);
  }

  /** A new record, unless the agent already holds its bound of live sessions; its expired ones are swept first. */
  private async insert(
    agent: string,
    id: string,
    text: string,
    createdAt: number,
    now: number,
  ): Promise<{ changes: number }> {
    const oldest = now - this.idleMs;
    await this.store.run('DELETE FROM sessions WHERE agent = ? AND last_seen < ?', [agent, oldest]);
    return this.store.run(
      `INSERT INTO sessions (agent, session, version, data, created_at, last_seen)
       SELECT ?, ?, 1, ?, ?, ? WHERE (SELECT COUNT(*) FROM sessions WHERE agent = ? AND last_seen >= ?) < ?
       ON CONFLICT (agent, session) DO NOTHING`,
      [agent, id, text, createdAt, now, agent, oldest, this.maxPerAgent],
    );
  }

  private async read(agent: string, id: string, now: number): Promise<{ data: SessionData | undefined; base: Base }> {
    const k = cacheKey(agent, id);
    const cached = this.cache.get(k);
    // The record comes back only when it differs from the cached copy: the same read proves the cache current.
    const row = await this.store.get<Row>(
      'SELECT version, last_seen, CASE WHEN version = ? THEN NULL ELSE data END AS data FROM sessions WHERE agent = ? AND session = ?',
      [cached?.version ?? -1, agent, id],
    );
    if (!row) return { data: undefined, base: { version: 0, lastSeen: undefined, exists: false } };
    if (now - row.last_seen > this.idleMs) {
      // Expired: judged as new, and the next commit replaces the record (the version it read is this one).
      return { data: undefined, base: { version: row.version, lastSeen: undefined, exists: true } };
    }
    const base = { version: row.version, lastSeen: row.last_seen, exists: true };
    if (row.data === null && cached) {
      this.remember(agent, id, cached);
      return { data: cached.data, base };
    }
    const data = this.codecs.decode(row.data ?? '', where(agent, id));
    this.remember(agent, id, { version: row.version, data });
    return { data, base };
  }

  private remember(agent: string, id: string, c: Cached): void {
    const k = cacheKey(agent, id);
    this.cache.delete(k);
    this.cache.set(k, c);
    if (this.cache.size > this.cacheSize) {
      const first = this.cache.keys().next();
      if (!first.done) this.cache.delete(first.value);
    }
  }
}

function cacheKey(agent: string, id: string): string {
  return `${agent}\u0000${id}`;
}

function where(agent: string, id: string): string {
  return `session ${JSON.stringify(id)} of agent ${JSON.stringify(agent)}`;
}
