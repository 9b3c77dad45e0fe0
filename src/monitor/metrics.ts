import { Counter, Histogram, Registry } from 'prom-client';
import type { Decision } from '../core/decision.js';

/**
 * Prometheus metrics of one Gatehouse instance, in its own registry so several instances in one process
 * (tests, multi-tenant hosts) do not collide.
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
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
    registers: [this.registry],
  });

  recordDecision(d: Decision, seconds: number): void {
    this.decisions.inc({ effect: d.effect, tier: d.tier, kind: d.action.kind });
    this.latency.observe(seconds);
    if (d.effect !== 'allow') for (const r of d.reasons) this.reasons.inc({ code: r.code });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
