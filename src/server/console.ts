import { join } from 'node:path';
import type { AuditEvent } from '../audit/event.js';
import { queryLog } from '../audit/query.js';
import { type VerifyResult, verifyLog } from '../audit/verify.js';
import type { Gatehouse } from '../gatehouse.js';
import { AlertDispatcher } from '../monitor/channels/dispatcher.js';
import type { Logger } from '../observability/logger.js';
import { publicKeysOf } from '../store/keyring.js';
import { type Incident, Incidents } from './incidents.js';
import { category } from './routes/events.js';
import type { AuditTail } from './tail.js';

const MINUTES = 15;
const ESCALATION_CHECK_MS = 5000;

interface Minute {
  allow: number;
  deny: number;
  review: number;
}

export interface Overview {
  decisionsPerMinute: Array<{ minute: string } & Minute>;
  topReasons: Array<{ code: string; count: number }>;
  agentsByStatus: Record<string, number>;
  openIncidents: number;
  pendingApprovals: number;
  deadLetters: number;
  integrity: {
    ok: boolean;
    status: string;
    events: number;
    checkpoint: VerifyResult['checkpoint'] | null;
    verifiedAt: string;
  };
  store: { ok: boolean; message: string };
  sandbox: { quarantinedAgents: number };
}

/**
 * The security console's live state, fed by the audit tail (so it sees every process on the data dir): rolling
 * decision counts, incidents opened per alert or quarantine, alert delivery and escalation.
 */
export class Console {
  private readonly minutes = new Map<number, Minute>();
  private readonly reasons = new Map<number, Map<string, number>>();
  private unsubscribe: (() => void) | undefined;
  private escalation: NodeJS.Timeout | undefined;
  private verified: { at: number; seq: number; result: VerifyResult } | undefined;

  /** The console of `gh`, its incidents and alert outbox kept in the store. */
  static async open(
    gh: Gatehouse,
    tail: AuditTail,
    log: Logger | undefined,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<Console> {
    const now = () => gh.clock.now();
    const incidents = await Incidents.open(gh.store, now);
    const dispatcher = await AlertDispatcher.open({
      channels: gh.config.monitor.channels,
      delivery: gh.config.monitor.delivery,
      store: gh.store,
      now,
      env,
      onOutcome: (ch, outcome) => {
        gh.metrics.recordDelivery(ch.kind, outcome);
        if (outcome !== 'delivered') log?.warn({ channel: ch.name, outcome }, 'alert delivery failed');
      },
    });
    gh.metrics.bind({
      approvalsPending: async () => (await gh.approvals.list({ status: 'pending', limit: 10_000 })).length,
      deadLetters: () => dispatcher.deadLetters(),
    });
    return new Console(gh, tail, log, incidents, dispatcher);
  }

  private constructor(
    private readonly gh: Gatehouse,
    private readonly tail: AuditTail,
    private readonly log: Logger | undefined,
    readonly incidents: Incidents,
    readonly dispatcher: AlertDispatcher,
  ) {}

  async start(): Promise<void> {
    await this.gh.audit.flush();
    const since = this.gh.clock.now() - MINUTES * 60_000;
    for (const ev of queryLog(join(this.gh.dataDir, 'audit'), { since })) this.count(ev);
    // A store failure here must not stop the tail or the timer: it is logged, and the next event or tick retries.
    this.unsubscribe = this.tail.subscribe((ev) => {
      this.observe(ev).catch((err: unknown) => this.log?.error({ err, seq: ev.seq }, 'audit event not recorded'));
    });
    this.dispatcher.start();
    this.escalation = setInterval(() => {
      this.escalate().catch((err: unknown) => this.log?.error({ err }, 'incident escalation failed'));
    }, ESCALATION_CHECK_MS);
    this.escalation.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.escalation);
    await this.dispatcher.stop();
  }

  /** One live audit event: metrics, rolling counts, and an incident (with delivery) for an alert or quarantine. */
  async observe(ev: AuditEvent): Promise<void> {
    this.gh.metrics.recordAuditEvent(ev.type, category(ev.type), ev.data);
    this.count(ev);
    const inc = await this.incidents.openFrom(ev);
    if (inc) await this.dispatcher.enqueue(messageOf(inc, 'alert'));
  }

  /** Open incidents nobody acknowledged in time go to the escalation channels, once. */
  async escalate(): Promise<void> {
    const d = this.gh.config.monitor.delivery;
    if (d.escalate_to.length === 0) return;
    const targets = this.gh.config.monitor.channels.filter((c) => d.escalate_to.includes(c.name));
    for (const inc of await this.incidents.takeDueForEscalation(d.escalate_after)) {
      await this.dispatcher.enqueue(messageOf(inc, 'escalation'), targets);
    }
  }

  async overview(): Promise<Overview> {
    const now = this.gh.clock.now();
    const first = Math.floor(now / 60_000) - MINUTES + 1;
    const decisionsPerMinute = [];
    const reasons = new Map<string, number>();
    for (let m = first; m < first + MINUTES; m++) {
      decisionsPerMinute.push({
        minute: new Date(m * 60_000).toISOString(),
        ...(this.minutes.get(m) ?? { allow: 0, deny: 0, review: 0 }),
      });
      for (const [code, n] of this.reasons.get(m) ?? []) reasons.set(code, (reasons.get(code) ?? 0) + n);
    }
    for (const k of this.minutes.keys()) if (k < first) this.minutes.delete(k);
    for (const k of this.reasons.keys()) if (k < first) this.reasons.delete(k);
    const agentsByStatus: Record<string, number> = {};
    for (const a of await this.gh.identity.registry.list()) {
      const s = this.gh.identity.registry.effectiveStatus(a);
      agentsByStatus[s] = (agentsByStatus[s] ?? 0) + 1;
    }
    let store = { ok: true, message: 'ok' };
    try {
      await this.gh.store.get('SELECT 1 AS one');
    } catch (err) {
      store = { ok: false, message: (err as Error).message };
    }
    const v = await this.integrity();
    return {
      decisionsPerMinute,
      topReasons: [...reasons]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([code, count]) => ({ code, count })),
      agentsByStatus,
      openIncidents: (await this.incidents.list({ state: 'open' })).length,
      pendingApprovals: (await this.gh.approvals.list({ status: 'pending', limit: 10_000 })).length,
      deadLetters: await this.dispatcher.deadLetters(),
      integrity: {
        ok: v.result.ok,
        status: v.result.status,
        events: v.result.events,
        checkpoint: v.result.checkpoint ?? null,
        verifiedAt: new Date(v.at).toISOString(),
      },
      store,
      sandbox: { quarantinedAgents: (await this.gh.responder.list()).length },
    };
  }

  /** Chain verification, re-run only when the log grew (a full walk is linear in the log). */
  async integrity(): Promise<{ at: number; seq: number; result: VerifyResult }> {
    await this.gh.audit.flush();
    const seq = this.gh.audit.head()?.seq ?? 0;
    if (this.verified?.seq !== seq) {
      const keys = await publicKeysOf(this.gh.store, 'audit');
      const result = verifyLog(join(this.gh.dataDir, 'audit'), { keyFor: (kid) => keys.get(kid) });
      this.verified = { at: this.gh.clock.now(), seq, result };
    }
    return this.verified;
  }

  private count(ev: AuditEvent): void {
    if (ev.type !== 'decision' || !ev.decision) return;
    const m = Math.floor((Date.parse(ev.ts) || this.gh.clock.now()) / 60_000);
    const cur = this.minutes.get(m) ?? { allow: 0, deny: 0, review: 0 };
    cur[ev.decision] += 1;
    this.minutes.set(m, cur);
    if (ev.decision === 'allow') return;
    const r = this.reasons.get(m) ?? new Map<string, number>();
    for (const x of ev.reasons ?? []) r.set(x.code, (r.get(x.code) ?? 0) + 1);
    this.reasons.set(m, r);
  }
}

function messageOf(inc: Incident, kind: 'alert' | 'escalation') {
  return {
    id: `${kind}-${inc.sourceSeq}`,
    kind: kind === 'alert' && inc.kind === 'quarantine' ? ('quarantine' as const) : kind,
    rule: inc.rule,
    agent: inc.agent,
    summary: kind === 'escalation' ? `unacknowledged for too long: ${inc.summary}` : inc.summary,
    seq: inc.sourceSeq,
    ts: new Date(inc.createdAt).toISOString(),
    incident: inc.id,
  };
}
