import { z } from 'zod';
import { CredentialsSchema } from './sections/credentials.js';
import { FlowSchema } from './sections/flow.js';
import { IdentitySchema } from './sections/identity.js';
import { McpSchema } from './sections/mcp.js';
import { MonitorSchema } from './sections/monitor.js';
import { ApprovalsSchema, LimitsSchema, PolicySchema, RolesSchema } from './sections/policy.js';
import { RedactionSchema } from './sections/redaction.js';
import { SandboxSchema } from './sections/sandbox.js';
import { ScreeningSchema } from './sections/screening.js';
import { StoreSchema } from './sections/store.js';
import { ToolsSchema } from './sections/tools.js';
import { DurationSchema, SizeSchema } from './units.js';

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS name for a certificate SAN: labels of letters, digits and inner hyphens; a leading `*.` wildcard allowed. */
const DnsNameSchema = z
  .string()
  .max(253)
  .refine(
    (v) => (v.startsWith('*.') ? v.slice(2) : v).split('.').every((l) => DNS_LABEL.test(l)),
    'expected a DNS name such as gatehouse.internal or *.example.com',
  );

/**
 * HTTPS for the gateway. Present means on (`enabled: true` is the default), so a section that names a certificate
 * never falls back to plain HTTP by omission. Without cert_file/key_file the gateway gets a server certificate
 * from Gatehouse's own CA at start (key in memory only), renewed at half-life.
 */
export const ServerTlsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** PEM certificate chain (leaf first) of your own PKI; relative to the config file. Needs key_file. */
    cert_file: z.string().min(1).optional(),
    /** PEM private key (unencrypted PKCS#8, PKCS#1 or SEC1) for cert_file; relative to the config file. */
    key_file: z.string().min(1).optional(),
    /**
     * Client certificates, verified against the Gatehouse CA: `off` (not asked for), `optional` (asked for; an
     * agent may use a certificate or a token; a bad one gets 401), `required` (no handshake without a certificate
     * chaining to the Gatehouse CA, and the connection is closed unless it names an active agent).
     */
    client_certs: z.enum(['off', 'optional', 'required']).default('optional'),
    /** DNS names of the Gatehouse-issued server certificate (default: localhost). */
    dns: z.array(DnsNameSchema).min(1).optional(),
    /** IP addresses of the Gatehouse-issued server certificate (default: 127.0.0.1 and ::1). */
    ips: z.array(z.union([z.ipv4(), z.ipv6()])).optional(),
    /** Life of the Gatehouse-issued server certificate; renewed at half-life while the gateway runs. */
    cert_lifetime: DurationSchema.default(7 * 86_400_000).refine(
      (v) => v >= 3_600_000 && v <= 90 * 86_400_000,
      'cert_lifetime must be between 1h and 90d',
    ),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [t.cert_file === undefined ? 'cert_file' : 'key_file'],
        message: 'cert_file and key_file go together',
      });
    }
    if (t.cert_file !== undefined && (t.dns !== undefined || t.ips !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [t.dns !== undefined ? 'dns' : 'ips'],
        message:
          'dns and ips name the Gatehouse-issued certificate; with cert_file the names are those of your certificate',
      });
    }
  });

export type ServerTlsConfig = z.output<typeof ServerTlsSchema>;

export const ServerSchema = z
  .object({
    /** Listen address. A non-loopback address without TLS gets a warning at start. */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7878),
    body_limit: SizeSchema.default(1024 * 1024),
    /** Absent: plain HTTP (fine on loopback or behind a TLS-terminating proxy). */
    tls: ServerTlsSchema.optional(),
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
    store: StoreSchema.default(StoreSchema.parse({})),
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
    flow: FlowSchema.default(FlowSchema.parse({})),
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
