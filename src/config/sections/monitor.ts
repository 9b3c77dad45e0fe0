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

const ChannelName = z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'channel names use lowercase letters, digits and _ . -');
/** Name of an environment variable holding a secret: secrets never sit in the config file. */
const EnvName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'expected an environment variable name, e.g. GATEHOUSE_WEBHOOK_SECRET');

const ChannelCommon = {
  name: ChannelName,
  /** Alert rules routed here (`quarantine` for every quarantine); absent: all of them. */
  rules: z.array(z.string().min(1).max(64)).optional(),
};

export const ChannelSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('webhook'),
      ...ChannelCommon,
      url: z.url({ protocol: /^https?$/ }),
      /** Environment variable with the HMAC-SHA256 key; each delivery carries `Gatehouse-Signature: t=…,v1=…`. */
      secret_env: EnvName,
    })
    .strict(),
  z
    .object({
      kind: z.literal('slack'),
      ...ChannelCommon,
      /** Environment variable with the incoming-webhook URL (the URL is the credential). */
      url_env: EnvName,
    })
    .strict(),
  z
    .object({
      kind: z.literal('email'),
      ...ChannelCommon,
      host: z.string().min(1).max(255),
      port: z.number().int().min(1).max(65535).default(587),
      /** TLS from the first byte (port 465); otherwise STARTTLS is required. */
      secure: z.boolean().default(false),
      user_env: EnvName.optional(),
      password_env: EnvName.optional(),
      /** PEM file of the CA that issued the relay's certificate (an internal relay); absent: the system roots. */
      ca_file: z.string().min(1).optional(),
      from: z.email(),
      to: z.array(z.email()).min(1),
    })
    .strict(),
]);

export const DeliverySchema = z
  .object({
    /** Attempts per delivery before it is dead-lettered (visible in the console, retryable by an operator). */
    attempts: z.number().int().min(1).max(20).default(6),
    /** First retry delay; doubled each attempt, with jitter, up to max_backoff. */
    backoff: DurationSchema.default(1000),
    max_backoff: DurationSchema.default(5 * 60_000),
    timeout: DurationSchema.default(10_000),
    /** An incident still open and unacknowledged after this long is escalated to `escalate_to`. */
    escalate_after: DurationSchema.default(15 * 60_000),
    escalate_to: z.array(ChannelName).default([]),
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
    /** Where alerts and quarantines are delivered: webhooks (HMAC-signed), Slack incoming webhooks, e-mail. */
    channels: z.array(ChannelSchema).default([]),
    delivery: DeliverySchema.default(DeliverySchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.channels.forEach((ch, i) => {
      if (names.has(ch.name))
        ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `duplicate channel "${ch.name}"` });
      names.add(ch.name);
    });
    c.delivery.escalate_to.forEach((n, i) => {
      if (!names.has(n))
        ctx.addIssue({ code: 'custom', path: ['delivery', 'escalate_to', i], message: `no channel named "${n}"` });
    });
  });

export type MonitorConfig = z.output<typeof MonitorSchema>;
export type AlertRuleConfig = z.output<typeof AlertRuleSchema>;
export type ChannelConfig = z.output<typeof ChannelSchema>;
export type DeliveryConfig = z.output<typeof DeliverySchema>;
