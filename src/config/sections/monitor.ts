import { z } from 'zod';
import { DurationSchema } from '../units.js';

/** `metric > 10` or `zscore(metric) >= 4`: a deliberately tiny grammar, parsed by monitor/alerts.ts. */
const ConditionSchema = z
  .string()
  .regex(
    /^\s*(zscore\(\s*[a-z_]+\s*\)|[a-z_]+)\s*(>=|<=|>|<|==)\s*-?\d+(\.\d+)?\s*$/,
    'expected "<metric> <op> <number>" or "zscore(<metric>) <op> <number>", e.g. "denies_per_window > 20"',
  );

export const AlertRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'alert names use lowercase letters, digits and _ . -'),
    when: ConditionSchema,
    /** flag: raise the risk of the agent's next actions; quarantine: stop the agent (revoke tokens, kill sandboxes). */
    action: z.enum(['alert', 'flag', 'quarantine']).default('alert'),
    description: z.string().optional(),
  })
  .strict();

export const MonitorSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Length of one observation window for the per-agent baselines. */
    window: DurationSchema.default(60_000),
    /** Windows an agent needs before z-scores count. */
    min_windows: z.number().int().min(2).default(10),
    /** How long a `flag` alert keeps raising the agent's risk. */
    flag_for: DurationSchema.default(15 * 60_000),
    alerts: z.array(AlertRuleSchema).default([
      { name: 'deny-burst', when: 'denies_per_window >= 20', action: 'quarantine' },
      { name: 'injection-burst', when: 'screen_blocks_per_window >= 5', action: 'quarantine' },
      { name: 'unusual-call-rate', when: 'zscore(tool_calls_per_window) >= 4', action: 'flag' },
      { name: 'unusual-deny-rate', when: 'zscore(denies_per_window) >= 4', action: 'flag' },
    ]),
  })
  .strict();

export type MonitorConfig = z.output<typeof MonitorSchema>;
export type AlertRuleConfig = z.output<typeof AlertRuleSchema>;
