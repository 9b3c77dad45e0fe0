import { randomBytes } from 'node:crypto';
import type { AuditEvent } from '../audit/event.js';
import { GatehouseError, NotFoundError } from '../core/errors.js';
import type { Store } from '../store/store.js';

export const INCIDENT_STATES = ['open', 'contained', 'resolved'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

export interface IncidentNote {
  at: number;
  by: string;
  text: string;
}

export interface Incident {
  id: string;
  kind: 'alert' | 'quarantine';
  agent: string;
  rule: string;
  summary: string;
  /** Audit seq of the event that opened it. */
  sourceSeq: number;
  state: IncidentState;
  owner: string | null;
  notes: IncidentNote[];
  createdAt: number;
  updatedAt: number;
  acknowledgedAt: number | null;
  escalatedAt: number | null;
}

interface Raw {
  id: string;
  kind: Incident['kind'];
  agent: string;
  rule: string;
  summary: string;
  source_seq: number;
  state: IncidentState;
  owner: string | null;
  notes: string;
  created_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  escalated_at: number | null;
}

/** Forward only: a resolved incident is not reopened (a new alert opens a new one). */
const NEXT: Record<IncidentState, readonly IncidentState[]> = {
  open: ['contained', 'resolved'],
  contained: ['resolved'],
  resolved: [],
};

/** One incident per alert or quarantine, opened from the audit event that raised it (idempotently, by its seq). */
export class Incidents {
  /** The incidents kept in `store`, whose table is migrated here. */
  static async open(store: Store, now: () => number): Promise<Incidents> {
    await store.migrate('incidents', [
      {
        version: 1,
        name: 'incidents',
        sql: `CREATE TABLE incidents (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          agent TEXT NOT NULL,
          rule TEXT NOT NULL,
          summary TEXT NOT NULL,
          source_seq INTEGER NOT NULL UNIQUE,
          state TEXT NOT NULL,
          owner TEXT,
          notes TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          acknowledged_at INTEGER,
          escalated_at INTEGER
        );
        CREATE INDEX incidents_state ON incidents (state, created_at);`,
      },
    ]);
    return new Incidents(store, now);
  }

  private constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** The incident an audit event opens, if it is an alert or a quarantine; undefined otherwise or if it exists. */
  async openFrom(ev: AuditEvent): Promise<Incident | undefined> {
    const kind = ev.type === 'monitor.alert' ? 'alert' : ev.type === 'response.quarantined' ? 'quarantine' : undefined;
    if (!kind || !ev.agent) return undefined;
    const data = ev.data ?? {};
    const rule = kind === 'alert' ? String(data.rule ?? 'alert') : 'quarantine';
    const summary =
      kind === 'alert'
        ? `${rule}: ${String(data.metric ?? '')} ${String(data.value ?? '')} (threshold ${String(data.threshold ?? '')})`
        : `agent quarantined: ${String(data.reason ?? '')}`.slice(0, 500);
    const at = Date.parse(ev.ts) || this.now();
    const id = `inc-${randomBytes(8).toString('hex')}`;
    const r = await this.store.run(
      `INSERT INTO incidents (id, kind, agent, rule, summary, source_seq, state, owner, notes, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'open', NULL, '[]', ?, ?) ON CONFLICT DO NOTHING`,
      [id, kind, ev.agent, rule, summary, ev.seq, at, at],
    );
    return r.changes > 0 ? this.get(id) : undefined;
  }

  async get(id: string): Promise<Incident> {
    const r = await this.store.get<Raw>('SELECT * FROM incidents WHERE id = ?', [id]);
    if (!r) throw new NotFoundError(`incident ${id}`);
    return toIncident(r);
  }

  async list(opts: { state?: IncidentState; limit?: number } = {}): Promise<Incident[]> {
    const limit = opts.limit ?? 200;
    const rows = opts.state
      ? await this.store.all<Raw>('SELECT * FROM incidents WHERE state = ? ORDER BY created_at DESC LIMIT ?', [
          opts.state,
          limit,
        ])
      : await this.store.all<Raw>('SELECT * FROM incidents ORDER BY created_at DESC LIMIT ?', [limit]);
    return rows.map(toIncident);
  }

  /** Changes state, owner and/or adds a note; any change by a human acknowledges the incident. */
  async update(
    id: string,
    by: string,
    change: { state?: IncidentState; owner?: string; note?: string },
  ): Promise<Incident> {
    const cur = await this.get(id);
    if (change.state && change.state !== cur.state && !NEXT[cur.state].includes(change.state)) {
      throw new GatehouseError('incident.transition', `an incident ${cur.state} cannot become ${change.state}`);
    }
    const now = this.now();
    const notes = change.note ? [...cur.notes, { at: now, by, text: change.note }] : cur.notes;
    await this.store.run(
      `UPDATE incidents SET state = ?, owner = ?, notes = ?, updated_at = ?, acknowledged_at = COALESCE(acknowledged_at, ?)
       WHERE id = ?`,
      [change.state ?? cur.state, change.owner ?? cur.owner, JSON.stringify(notes), now, now, id],
    );
    return this.get(id);
  }

  /** Open, unacknowledged incidents older than `age` not yet escalated; marks them escalated. */
  async takeDueForEscalation(age: number): Promise<Incident[]> {
    const cutoff = this.now() - age;
    const now = this.now();
    return this.store.transaction(async () => {
      const rows = await this.store.all<Raw>(
        `SELECT * FROM incidents WHERE state = 'open' AND acknowledged_at IS NULL AND escalated_at IS NULL
         AND created_at <= ? ORDER BY created_at LIMIT 100`,
        [cutoff],
      );
      for (const r of rows) await this.store.run('UPDATE incidents SET escalated_at = ? WHERE id = ?', [now, r.id]);
      return rows.map(toIncident);
    });
  }
}

function toIncident(r: Raw): Incident {
  return {
    id: r.id,
    kind: r.kind,
    agent: r.agent,
    rule: r.rule,
    summary: r.summary,
    sourceSeq: r.source_seq,
    state: r.state,
    owner: r.owner,
    notes: JSON.parse(r.notes) as IncidentNote[],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    acknowledgedAt: r.acknowledged_at,
    escalatedAt: r.escalated_at,
  };
}

/** Markdown of an incident and its timeline; every value is escaped so audit content cannot forge structure. */
export function incidentMarkdown(inc: Incident, timeline: readonly AuditEvent[]): string {
  const md = (s: unknown) =>
    String(s ?? '')
      .replace(/[\\`*_[\]|<>]/g, '\\$&')
      .replace(/\r?\n/g, ' ');
  const lines = [
    `# Incident ${md(inc.id)}`,
    '',
    `- Kind: ${md(inc.kind)}`,
    `- Agent: ${md(inc.agent)}`,
    `- Rule: ${md(inc.rule)}`,
    `- State: ${md(inc.state)}`,
    `- Owner: ${md(inc.owner ?? 'unassigned')}`,
    `- Opened: ${new Date(inc.createdAt).toISOString()} (audit seq ${inc.sourceSeq})`,
    `- Summary: ${md(inc.summary)}`,
    '',
    '## Notes',
    '',
    ...(inc.notes.length === 0
      ? ['None.']
      : inc.notes.map((n) => `- ${new Date(n.at).toISOString()} ${md(n.by)}: ${md(n.text)}`)),
    '',
    '## Timeline (audit log)',
    '',
    '| Seq | Time | Type | Decision | Tool | Reasons |',
    '| --- | --- | --- | --- | --- | --- |',
    ...timeline.map(
      (e) =>
        `| ${e.seq} | ${md(e.ts)} | ${md(e.type)} | ${md(e.decision ?? '')} | ${md(e.action?.tool ?? '')} | ${md(
          (e.reasons ?? []).map((r) => r.code).join(', '),
        )} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
