import type { AuditLog } from '../audit/log.js';
import type { MonitorConfig } from '../config/sections/monitor.js';
import type { Clock } from '../core/clock.js';
import type { Decision, Tier, Verdict } from '../core/decision.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import type { Store } from '../store/store.js';
import { type AlertRule, compare, compileAlerts } from './alerts.js';
import { Baselines } from './baseline.js';

const STAGE = 'monitor';

export interface AlertFired {
  rule: string;
  agent: string;
  metric: string;
  value: number;
  threshold: number;
  action: AlertRule['action'];
}

/**
 * Watches every decision: per-agent baselines, alert rules, and the automatic response (flag or quarantine).
 * Its stage denies quarantined agents and raises the tier of flagged ones.
 */
/**
 * What the monitor needs from incident response, as a callback port: monitor never imports response (stages do
 * not import each other); the composition root wires the two.
 */
export interface ResponsePort {
  quarantined(agent: string): Promise<{ reason: string; since: number; by: string } | undefined>;
  quarantine(agent: string, reason: string, by: string): Promise<unknown>;
}

export class Monitor {
  private readonly rules: AlertRule[];
  private readonly flagged = new Map<string, { until: number; rule: string }>();
  /** (agent, rule) → window start, so a rule fires once per window. */
  private readonly fired = new Map<string, number>();

  /** The monitor, its baselines kept in `store`. */
  static async open(
    config: MonitorConfig,
    store: Store,
    audit: AuditLog,
    clock: Clock,
    responder: ResponsePort,
  ): Promise<Monitor> {
    return new Monitor(config, await Baselines.open(store, config.window), audit, clock, responder);
  }

  private constructor(
    private readonly config: MonitorConfig,
    private readonly baselines: Baselines,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly responder: ResponsePort,
  ) {
    this.rules = compileAlerts(config.alerts);
  }

  /** Counts a decision and runs the alert rules; returns the alerts that fired. */
  async observe(d: Decision): Promise<AlertFired[]> {
    if (!this.config.enabled) return [];
    const agent = d.action.agent;
    const now = this.clock.now();
    const counts = await this.baselines.observe(agent, now, {
      ...(d.action.kind === 'tool_call' && d.action.tool ? { tool: d.action.tool } : {}),
      effect: d.effect,
      screenBlocked: d.effect === 'deny' && d.reasons.some((r) => r.code.startsWith('screen.')),
    });
    const windowStart = now - (now % this.config.window);
    const out: AlertFired[] = [];
    for (const rule of this.rules) {
      const key = `${agent}\u0000${rule.name}`;
      if (this.fired.get(key) === windowStart) continue;
      const count = counts[rule.metric];
      let value = count;
      if (rule.zscore) {
        await this.baselines.load(agent);
        const s = this.baselines.stat(agent, rule.metric);
        if (s.n < this.config.min_windows) continue;
        value = s.z(count);
      }
      if (!compare(value, rule.op, rule.threshold)) continue;
      this.fired.set(key, windowStart);
      out.push({ rule: rule.name, agent, metric: rule.metric, value, threshold: rule.threshold, action: rule.action });
    }
    for (const a of out) {
      await this.audit.append({
        type: 'monitor.alert',
        agent,
        actor: 'monitor',
        data: {
          rule: a.rule,
          metric: a.metric,
          value: Math.round(a.value * 100) / 100,
          threshold: a.threshold,
          action: a.action,
        },
      });
      if (a.action === 'flag') this.flagged.set(agent, { until: now + this.config.flag_for, rule: a.rule });
      if (a.action === 'quarantine' && !(await this.responder.quarantined(agent))) {
        await this.responder.quarantine(
          agent,
          `alert ${a.rule}: ${a.metric} ${Math.round(a.value * 100) / 100}`,
          'monitor',
        );
      }
    }
    return out;
  }

  baselineSnapshot(): ReturnType<Baselines['snapshot']> {
    return this.baselines.snapshot();
  }

  /** The stage: quarantined agents are denied; flagged agents have their tier raised one step. */
  stage(): Stage {
    return {
      name: STAGE,
      run: async (ctx: StageContext): Promise<Verdict> => {
        const agent = ctx.action.agent;
        const q = await this.responder.quarantined(agent);
        if (q) {
          return {
            stage: STAGE,
            effect: 'deny',
            risk: 10,
            reasons: [
              {
                code: 'response.agent_quarantined',
                message: `agent ${agent} is quarantined: ${q.reason}`,
                evidence: `since ${new Date(q.since).toISOString()} by ${q.by}`,
              },
            ],
          };
        }
        const f = this.flagged.get(agent);
        if (f && f.until > this.clock.now()) {
          const tier: Tier = ctx.facts.toolTier === 'medium' || ctx.facts.toolTier === 'high' ? 'high' : 'medium';
          return {
            stage: STAGE,
            effect: 'allow',
            risk: 5,
            tier,
            flag: true,
            reasons: [
              {
                code: 'monitor.agent_flagged',
                message: `agent ${agent} behaves unusually (alert ${f.rule}): risk tier raised to ${tier}`,
              },
            ],
          };
        }
        if (f) this.flagged.delete(agent);
        const anomalyScore = this.config.enabled
          ? await this.baselines.anomaly(agent, this.clock.now(), this.config.min_windows)
          : 0;
        return { stage: STAGE, effect: 'allow', risk: 0, reasons: [], facts: { anomalyScore } };
      },
    };
  }
}
