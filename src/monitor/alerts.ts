import type { AlertRuleConfig } from '../config/sections/monitor.js';
import { METRICS, type Metric } from './baseline.js';

type Op = '>' | '>=' | '<' | '<=' | '==';

export interface AlertRule {
  name: string;
  metric: Metric;
  zscore: boolean;
  op: Op;
  threshold: number;
  action: AlertRuleConfig['action'];
  description?: string;
}

const COND = /^\s*(?:zscore\(\s*([a-z_]+)\s*\)|([a-z_]+))\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** Compiles the config's alert rules; an unknown metric is a config error naming the rule. */
export function compileAlerts(rules: readonly AlertRuleConfig[]): AlertRule[] {
  return rules.map((r, i) => {
    const m = COND.exec(r.when);
    if (!m) throw new Error(`monitor.alerts.${i}.when: cannot parse "${r.when}"`);
    const metric = (m[1] ?? m[2]) as Metric;
    if (!(METRICS as readonly string[]).includes(metric)) {
      throw new Error(`monitor.alerts.${i}.when: unknown metric "${metric}"; expected one of ${METRICS.join(', ')}`);
    }
    return {
      name: r.name,
      metric,
      zscore: m[1] !== undefined,
      op: m[3] as Op,
      threshold: Number(m[4]),
      action: r.action,
      ...(r.description ? { description: r.description } : {}),
    };
  });
}

export function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
  }
}
