import { z } from 'zod';
import { CredentialsSchema } from './sections/credentials.js';
import { IdentitySchema } from './sections/identity.js';
import { McpSchema } from './sections/mcp.js';
import { MonitorSchema } from './sections/monitor.js';
import { ApprovalsSchema, LimitsSchema, PolicySchema, RolesSchema } from './sections/policy.js';
import { RedactionSchema } from './sections/redaction.js';
import { SandboxSchema } from './sections/sandbox.js';
import { ScreeningSchema } from './sections/screening.js';
import { ToolsSchema } from './sections/tools.js';
import { SizeSchema } from './units.js';

export const ServerSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7878),
    body_limit: SizeSchema.default(1024 * 1024),
  })
  .strict();

export const AuditConfigSchema = z
  .object({
    segment_max_bytes: SizeSchema.default(64 * 1024 ** 2),
  })
  .strict();

/**
 * The whole of gatehouse.yaml. This zod schema is the single source of truth: types are inferred from
 * it and schema/gatehouse.schema.json is generated from it (`npm run schema`).
 */
export const ConfigSchema = z
  .object({
    version: z.literal(1),
    server: ServerSchema.default(ServerSchema.parse({})),
    audit: AuditConfigSchema.default(AuditConfigSchema.parse({})),
    identity: IdentitySchema.default(IdentitySchema.parse({})),
    roles: RolesSchema.default({}),
    tools: ToolsSchema.default({}),
    screening: ScreeningSchema.default(ScreeningSchema.parse({})),
    redaction: RedactionSchema.default(RedactionSchema.parse({})),
    credentials: CredentialsSchema.default(CredentialsSchema.parse({})),
    sandbox: SandboxSchema.default(SandboxSchema.parse({})),
    limits: LimitsSchema.default({}),
    policy: PolicySchema.default(PolicySchema.parse({})),
    approvals: ApprovalsSchema.default(ApprovalsSchema.parse({})),
    mcp: McpSchema.default(McpSchema.parse({})),
    monitor: MonitorSchema.default(MonitorSchema.parse({})),
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
