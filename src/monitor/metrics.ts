import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Decision } from '../core/decision.js';

/** Where a decision's time went, as the pipeline measured it (structurally the composition root's DecisionTimings). */
export interface TimingSample {
  stages: readonly { stage: string; ms: number }[];
  commitMs: number;
  auditMs: number;
  totalMs: number;
}

const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25];

/** Live values read at scrape time (so a scrape sees the store as it is, whichever process changed it). */
export interface MetricSources {
  approvalsPending: () => Promise<number>;
  deadLetters?: () => Promise<number>;
}

/** The audit chain as the scrape sees it: its head and the latest checkpoint the audit key signed. */
export interface ChainState {
  seq: number;
  signed?: { seq: number; ts: string };
}

/** What every instance reports without a console: its audit chain, its store's health, and the time. */
export interface InstanceSources {
  chain: () => ChainState;
  storeUp: () => boolean;
  now: () => number;
}

/**
 * Prometheus metrics of one Gatehouse instance, in its own registry so several instances in one process
 * (tests, multi-tenant hosts) do not collide. Process metrics (CPU, memory, event loop lag, GC) are included.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly decisions = new Counter({
    name: 'gatehouse_decisions_total',
    help: 'Decisions by effect, tier and action kind',
    labelNames: ['effect', 'tier', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly reasons = new Counter({
    name: 'gatehouse_decision_reasons_total',
    help: 'Reason codes of deny and review decisions',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'gatehouse_decide_seconds',
    help: 'Time to decide, including the audit append',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly stageLatency = new Histogram({
    name: 'gatehouse_stage_seconds',
    help: 'Time each pipeline stage spent judging, by stage',
    labelNames: ['stage'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly commitLatency = new Histogram({
    name: 'gatehouse_commit_seconds',
    help: 'Time to commit the effects a decision allows (limit charges, approval use, labels)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly auditLatency = new Histogram({
    name: 'gatehouse_audit_append_seconds',
    help: 'Time to append a decision to the audit log (durable for deny, review and flagged)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly httpDecisions = new Histogram({
    name: 'gatehouse_http_decide_seconds',
    help: 'Time to answer POST /v1/decide, by HTTP status',
    labelNames: ['status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly events = new Counter({
    name: 'gatehouse_audit_events_total',
    help: 'Audit events seen on the data dir (any process), by category',
    labelNames: ['category'] as const,
    registers: [this.registry],
  });
  private readonly alerts = new Counter({
    name: 'gatehouse_alerts_total',
    help: 'Monitor alerts by rule and action',
    labelNames: ['rule', 'action'] as const,
    registers: [this.registry],
  });
  private readonly sandboxRuns = new Counter({
    name: 'gatehouse_sandbox_runs_total',
    help: 'Sandbox runs by outcome (started, exited, unsandboxed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: 'gatehouse_alert_deliveries_total',
    help: 'Alert deliveries by channel kind and outcome (delivered, retried, dead_lettered)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly storeLatency = new Histogram({
    name: 'gatehouse_store_seconds',
    help: 'Time the store took per statement or transaction, by operation and outcome',
    labelNames: ['op', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private sources: MetricSources | undefined;

  constructor(instance: InstanceSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
    const self = this;
    new Gauge({
      name: 'gatehouse_audit_head_seq',
      help: "Sequence number of the last event in this instance's audit log",
      registers: [this.registry],
      collect() {
        this.set(instance.chain().seq);
      },
    });
    // Chain lag: what an attacker with the data directory could still rewrite without the audit key noticing.
    new Gauge({
      name: 'gatehouse_audit_unsigned_events',
      help: "Audit events after the latest signed checkpoint (not yet covered by the audit key's signature)",
      registers: [this.registry],
      collect() {
        const c = instance.chain();
        this.set(c.seq - (c.signed?.seq ?? 0));
      },
    });
    new Gauge({
      name: 'gatehouse_audit_checkpoint_age_seconds',
      help: 'Seconds since the latest signed audit checkpoint (-1 when the log has none)',
      registers: [this.registry],
      collect() {
        const signed = instance.chain().signed;
        this.set(signed ? Math.max(0, (instance.now() - Date.parse(signed.ts)) / 1000) : -1);
      },
    });
    new Gauge({
      name: 'gatehouse_store_up',
      help: '1 while the store answers, 0 while decisions fail closed with store.unavailable',
      registers: [this.registry],
      collect() {
        this.set(instance.storeUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gatehouse_approvals_pending',
      help: 'Approval requests waiting for a human',
      registers: [this.registry],
      async collect() {
        if (self.sources) this.set(await self.sources.approvalsPending());
      },
    });
    new Gauge({
      name: 'gatehouse_alert_dead_letters',
      help: 'Alert deliveries that exhausted their retries and wait in the dead-letter queue',
      registers: [this.registry],
      async collect() {
        if (self.sources?.deadLetters) this.set(await self.sources.deadLetters());
      },
    });
  }

  /** Connects the scrape-time gauges to their sources (the gateway does this when it starts). */
  bind(sources: MetricSources): void {
    this.sources = sources;
  }

  recordDecision(d: Decision, t: TimingSample): void {
    this.decisions.inc({ effect: d.effect, tier: d.tier, kind: d.action.kind });
    this.latency.observe(t.totalMs / 1000);
    for (const s of t.stages) this.stageLatency.observe({ stage: s.stage }, s.ms / 1000);
    this.commitLatency.observe(t.commitMs / 1000);
    this.auditLatency.observe(t.auditMs / 1000);
    if (d.effect !== 'allow') for (const r of d.reasons) this.reasons.inc({ code: r.code });
  }

  recordStore(op: string, seconds: number, ok: boolean): void {
    this.storeLatency.observe({ op, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  recordHttpDecision(status: number, seconds: number): void {
    this.httpDecisions.observe({ status: String(status) }, seconds);
  }

  /** Counts an audit event from the live tail: alerts and sandbox runs get their own series. */
  recordAuditEvent(type: string, category: string, data: Record<string, unknown> | undefined): void {
    this.events.inc({ category });
    if (type === 'monitor.alert') {
      this.alerts.inc({ rule: String(data?.rule ?? 'unknown'), action: String(data?.action ?? 'alert') });
    } else if (type === 'sandbox.started') this.sandboxRuns.inc({ outcome: 'started' });
    else if (type === 'sandbox.exited') this.sandboxRuns.inc({ outcome: 'exited' });
    else if (type === 'sandbox.unsandboxed_run') this.sandboxRuns.inc({ outcome: 'unsandboxed' });
  }

  recordDelivery(channel: string, outcome: 'delivered' | 'retried' | 'dead_lettered'): void {
    this.deliveries.inc({ channel, outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
