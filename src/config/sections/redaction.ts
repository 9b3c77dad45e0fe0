import { z } from 'zod';
import { DurationSchema, SizeSchema } from '../units.js';

/** PII kinds that can be redacted (see docs/redaction.md). */
export const PiiKindSchema = z.enum([
  'email',
  'phone',
  'credit_card',
  'iban',
  'us_ssn',
  'uk_nhs',
  'es_dni',
  'it_codice_fiscale',
  'pl_pesel',
  'in_aadhaar',
]);

export const RedactionModeSchema = z
  .enum(['label', 'partial', 'hmac'])
  .describe('label: [REDACTED:kind]; partial: keep the last 4; hmac: keyed hash that correlates without revealing');

export const GenericTierSchema = z
  .enum(['redact', 'warn', 'off'])
  .describe('keyword = high-entropy values (no documented token format): redact, only warn, or ignore');

/** How one destination (chat, tool_args, tool_result, http, log) is filtered; unset fields inherit. */
export const DestinationSchema = z
  .object({
    pii: z.array(PiiKindSchema).optional(),
    generic: GenericTierSchema.optional(),
    mode: RedactionModeSchema.optional(),
  })
  .strict();

export const TransferBudgetSchema = z
  .object({
    /** Bytes an agent may send to hosts not on the allowlist within `window`. */
    bytes: SizeSchema,
    window: DurationSchema.default(3_600_000),
  })
  .strict();

export const RedactionSchema = z
  .object({
    secrets: z.boolean().default(true),
    /** PII kinds redacted wherever a destination does not say otherwise. */
    pii: z.array(PiiKindSchema).default([]),
    /** Hosts links and images may point to (subdomains included); everything else is checked for exfiltration. */
    allow_domains: z.array(z.string().min(1)).default([]),
    mode: RedactionModeSchema.default('label'),
    destinations: z
      .partialRecord(z.enum(['chat', 'tool_args', 'tool_result', 'http', 'log']), DestinationSchema)
      .default({}),
    /** Region for phone numbers written without a country code (ISO 3166 alpha-2). */
    phone_region: z
      .string()
      .regex(/^[A-Z]{2}$/, 'expected a two-letter region such as US or GB')
      .default('US'),
    /** Depth of base64/hex/percent/\u decoding before re-scanning (0 turns decoding off). */
    decode_depth: z.number().int().min(0).max(2).default(2),
    /** Environment variables whose values are known secrets, matched exactly in every encoding. */
    known_secrets_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
    /** Also treat every environment variable named like a credential (…_TOKEN, …_KEY, …_SECRET, …PASSWORD) as known. */
    known_secrets_env_auto: z.boolean().default(false),
    /** Per-agent budget for data sent to hosts outside `allow_domains`. */
    transfer_budget: TransferBudgetSchema.optional(),
  })
  .strict();

export type RedactionConfig = z.output<typeof RedactionSchema>;
