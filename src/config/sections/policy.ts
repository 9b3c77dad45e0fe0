import { z } from 'zod';
import { DurationSchema, SizeSchema } from '../units.js';

const NAME = /^[A-Za-z0-9_.:@/-]{1,128}$/;
const NameSchema = z.string().regex(NAME, 'names use letters, digits and _ . : @ / -');
/** A tool name or a tool glob (`fs.*`, `*`). */
const ToolPatternSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:/*-]{1,128}$/, 'tool patterns use letters, digits, _ . : / - and *');
/** A resource glob: `/`-separated segments; `*` and `?` inside a segment, `**` for zero or more segments. */
const ResourcePatternSchema = z.string().min(1).max(1024);

export const ARG_KINDS = ['path', 'command', 'url', 'value'] as const;
export const ARG_TYPES = ['string', 'number', 'integer', 'boolean'] as const;

/**
 * Rules on one tool argument (policy/tools.ts). The kind is inferred from the argument name when omitted
 * (`path`, `file`, `dir`… are paths; `command`, `cmd`, `script` are shell commands; `url`, `host`… are URLs).
 * - path: `allow`/`deny` are globs over the workspace-relative (or absolute) path; `roots` adds allowed roots.
 * - command: `allow`/`deny` are shell command patterns (`rm -rf /`, `curl * | sh`), parsed, never substrings;
 *   `builtin` keeps the built-in dangerous-command rules on (default); the files a command writes must lie in the
 *   workspace, /tmp or `roots` (`roots: ["/"]` lifts that confinement; /workspace is the workspace in a sandbox).
 * - url: `schemes` allowlist, `hosts` allowlist (globs), `deny` host globs; private addresses are denied unless allowed.
 * - value: `allow`/`deny` globs over the string value; `type` declares the JSON type the value must have (a call
 *   with another is denied before policy, so a condition such as `action.args.amount > 1000` cannot error on it).
 */
export const ArgRuleSchema = z
  .object({
    kind: z.enum(ARG_KINDS).optional(),
    type: z.enum(ARG_TYPES).optional(),
    allow: z.array(z.string().min(1)).optional(),
    deny: z.array(z.string().min(1)).optional(),
    required: z.boolean().default(false),
    roots: z.array(z.string().min(1)).optional(),
    builtin: z.boolean().default(true),
    schemes: z.array(z.string().regex(/^[a-z][a-z0-9+.-]*$/, 'a lower-case URL scheme such as https')).optional(),
    hosts: z.array(z.string().min(1)).optional(),
    private_networks: z.enum(['deny', 'allow']).default('deny'),
  })
  .strict();

export const ToolArgRulesSchema = z.record(z.string(), ArgRuleSchema);

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A recurring time window: days of the week and an `HH:MM-HH:MM` range, in UTC or a fixed offset. */
export const TimeWindowSchema = z
  .object({
    days: z.array(z.enum(DAYS)).optional(),
    hours: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'expected HH:MM-HH:MM such as 08:00-18:00')
      .optional(),
    /** Offset from UTC such as `+02:00`; windows are evaluated in that offset. */
    utc_offset: z
      .string()
      .regex(/^[+-]([01]\d|2[0-3]):[0-5]\d$/, 'expected an offset such as +02:00')
      .default('+00:00'),
  })
  .strict();

const DateTimeSchema = z.iso.datetime({
  offset: true,
  message: 'expected an ISO 8601 date-time such as 2026-12-31T23:59:00Z',
});

/** Fields every grant shares: scope (tools, resources, condition), attributes and constraints. */
const GrantFields = {
  id: NameSchema.optional(),
  tools: z.array(ToolPatternSchema).min(1),
  resources: z.array(ResourcePatternSchema).optional(),
  /** CEL condition; compiled and type-checked when the policy loads. */
  when: z.string().min(1).max(4096).optional(),
  /** Passed on to roles that inherit this role (default true). */
  inheritable: z.boolean().default(true),
  /** May be delegated to another agent at runtime, narrowed, up to `max_depth` hops. */
  delegable: z.boolean().default(false),
  max_depth: z.number().int().min(1).max(16).default(1),
  /** A temporary grant: valid from `not_before` until `expires`. */
  not_before: DateTimeSchema.optional(),
  expires: DateTimeSchema.optional(),
  /** Suspended while the session has seen untrusted instructions. */
  context_aware: z.boolean().default(false),
  constraints: z
    .object({
      time: TimeWindowSchema.optional(),
      /** Resource limit: at most this many calls per hour by one agent through this grant. */
      max_calls_per_hour: z.number().int().positive().optional(),
    })
    .strict()
    .optional(),
  /** `verbose` flags every decision this grant makes in the audit log. */
  audit: z.enum(['normal', 'verbose']).default('normal'),
};

export const GrantSchema = z.object(GrantFields).strict();

export const RoleSchema = z
  .object({
    inherits: z.array(NameSchema).default([]),
    grants: z.array(GrantSchema).default([]),
    description: z.string().optional(),
    /** At most this many distinct agents may hold the role; later agents do not get it. */
    max_agents: z.number().int().positive().optional(),
    /** The role is effective only inside this window. */
    active: TimeWindowSchema.optional(),
  })
  .strict();

/** Roles with inheritance; unknown parents and cycles are rejected when the file loads. */
export const RolesSchema = z.record(NameSchema, RoleSchema).superRefine((roles, ctx) => {
  for (const [name, role] of Object.entries(roles)) {
    role.inherits.forEach((parent, i) => {
      if (!(parent in roles)) {
        ctx.addIssue({ code: 'custom', path: [name, 'inherits', i], message: `unknown role "${parent}"` });
      }
    });
  }
  const cycle = findCycle(roles);
  if (cycle) {
    ctx.addIssue({
      code: 'custom',
      path: [cycle[0]!, 'inherits'],
      message: `role inheritance cycle: ${cycle.join(' → ')}`,
    });
  }
});

function findCycle(roles: Record<string, { inherits: string[] }>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (r: string): string[] | undefined => {
    const s = state.get(r);
    if (s === 2) return undefined;
    if (s === 1) return [...stack.slice(stack.indexOf(r)), r];
    state.set(r, 1);
    stack.push(r);
    for (const p of roles[r]?.inherits ?? []) {
      const c = visit(p);
      if (c) return c;
    }
    stack.pop();
    state.set(r, 2);
    return undefined;
  };
  for (const r of Object.keys(roles)) {
    const c = visit(r);
    if (c) return c;
  }
  return undefined;
}

/** A forbid rule overrides every permit it matches. */
export const ForbidSchema = z
  .object({
    id: NameSchema.optional(),
    agents: z.array(NameSchema).optional(),
    roles: z.array(NameSchema).optional(),
    tools: z.array(ToolPatternSchema).min(1),
    resources: z.array(ResourcePatternSchema).optional(),
    when: z.string().min(1).max(4096).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();

/** A grant given to named agents directly in the file. */
export const AgentGrantSchema = z.object({ ...GrantFields, agents: z.array(NameSchema).min(1) }).strict();

const TierSchema = z.enum(['low', 'medium', 'high']);

export const RiskSchema = z
  .object({
    /** Screening scores at or above these raise the tier. */
    screen_medium_at: z.number().min(0).max(10).default(2),
    screen_high_at: z.number().min(0).max(10).default(4),
    /** Anomaly score (0..10) from the monitor at or above this raises the tier to high. */
    anomaly_high_at: z.number().min(0).max(10).default(7),
    /** Tier a session trust label raises every tool call to. */
    labels: z
      .partialRecord(
        z.enum(['untrusted_input', 'untrusted_instructions', 'private_data', 'secret_seen', 'flagged']),
        TierSchema,
      )
      .default({ untrusted_instructions: 'high', flagged: 'medium' }),
    /** Tier for tools with an external sink once the session has read private data or seen a secret. */
    exfiltration: TierSchema.default('high'),
  })
  .strict();

export const PolicySchema = z
  .object({
    /** Root that path arguments resolve against; default: the directory of gatehouse.yaml. */
    workspace: z.string().optional(),
    grants: z.array(AgentGrantSchema).default([]),
    forbid: z.array(ForbidSchema).default([]),
    risk: RiskSchema.default(RiskSchema.parse({})),
    delegation: z
      .object({ max_depth: z.number().int().min(0).max(16).default(3) })
      .strict()
      .default({ max_depth: 3 }),
  })
  .strict();

const RateSchema = z
  .object({
    calls_per_minute: z.number().positive().optional(),
    burst: z.number().int().positive().optional(),
  })
  .strict();

export const BudgetSchema = z
  .object({
    name: NameSchema,
    /** Counted per agent, per tool, or per agent and tool. */
    per: z.enum(['agent', 'tool', 'agent_tool']).default('agent'),
    tools: z.array(ToolPatternSchema).optional(),
    window: DurationSchema,
    max_calls: z.number().int().positive().optional(),
    /** Cost units (tools declare `cost`, default 1). */
    max_cost: z.number().positive().optional(),
  })
  .strict()
  .refine((b) => b.max_calls !== undefined || b.max_cost !== undefined, {
    message: 'a budget needs max_calls or max_cost',
  });

export const LimitsSchema = z
  .object({
    per_agent: z
      .object({
        tool_calls_per_minute: z.number().int().positive().optional(),
        burst: z.number().int().positive().optional(),
        /** Data an agent may send out (egress actions and calls to tools with an external sink). */
        egress_bytes_per_hour: SizeSchema.optional(),
        egress_bytes_per_day: SizeSchema.optional(),
      })
      .strict()
      .optional(),
    per_tool: z.record(ToolPatternSchema, RateSchema).optional(),
    budgets: z.array(BudgetSchema).optional(),
  })
  .strict();

export const ApprovalsSchema = z
  .object({
    /** An approval request, and an approval not yet used, expires after this. */
    expiry: DurationSchema.default(15 * 60_000),
    /** Approval-fatigue caps: pending requests and requests per hour, per agent. */
    max_pending_per_agent: z.number().int().positive().default(5),
    max_requests_per_hour: z.number().int().positive().default(30),
    webhook: z
      .object({
        url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }),
        /** Name of the environment variable holding the HMAC-SHA256 secret; the secret never goes in the file. */
        secret_env: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as GATEHOUSE_WEBHOOK_SECRET'),
        timeout: DurationSchema.default(5000),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ArgRuleConfig = z.output<typeof ArgRuleSchema>;
export type GrantConfig = z.output<typeof GrantSchema>;
export type RoleConfig = z.output<typeof RoleSchema>;
export type ForbidConfig = z.output<typeof ForbidSchema>;
export type PolicyConfig = z.output<typeof PolicySchema>;
export type LimitsConfig = z.output<typeof LimitsSchema>;
export type ApprovalsConfig = z.output<typeof ApprovalsSchema>;
export type TimeWindowConfig = z.output<typeof TimeWindowSchema>;
export type RiskConfig = z.output<typeof RiskSchema>;
