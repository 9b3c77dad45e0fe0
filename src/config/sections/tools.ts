import { z } from 'zod';
import { ToolArgRulesSchema } from './policy.js';

export const TierSchema = z.enum(['low', 'medium', 'high']);

/** What kind of destination an argument names; the flow stage extracts values of this kind from it. */
export const DestinationKindSchema = z.enum(['email', 'url', 'host', 'account', 'phone', 'path', 'command', 'handle']);
export type DestinationKind = z.infer<typeof DestinationKindSchema>;

/** One tool in the catalogue. A tool not listed here is denied (default deny). */
export const ToolSchema = z
  .object({
    risk: TierSchema.describe('low runs; medium runs and is flagged; high waits for a human approval'),
    description: z.string().optional(),
    /** Whether the tool's output is trusted or must be screened as untrusted content. */
    output: z.enum(['trusted', 'untrusted']).default('trusted'),
    /** Where the tool sends data: internal systems or the outside world. */
    sink: z.enum(['none', 'internal', 'external']).default('none'),
    /** Sandbox profile the tool's command runs in. */
    sandbox: z.string().optional(),
    /** Rules on the tool's arguments (paths, commands, hosts). */
    args: ToolArgRulesSchema.optional(),
    /** A destructive tool may name a dry-run tool whose result is shown with the approval request. */
    destructive: z.boolean().default(false),
    dry_run: z.string().optional(),
    /** Cost units one call uses from budgets with `max_cost`. */
    cost: z.number().nonnegative().default(1),
    /** What the tool's result holds: reading `private` or `secret` data labels the session (see docs/flow.md). */
    reads: z.enum(['none', 'public', 'private', 'secret']).default('none'),
    /**
     * Arguments that name where the call goes (recipients, attendees, hosts, URLs, accounts, paths, commands), by
     * kind: `{ to: email, url: url, iban: account }`. Their values are checked against where they first appeared
     * in the session, and are never redacted: they are the addressee.
     */
    destinations: z.record(z.string().min(1).max(128), DestinationKindSchema).default({}),
    /** Arguments that are the content sent to the destination (body, subject, memo): delivered as written. */
    payload: z.array(z.string().min(1).max(128)).default([]),
    /**
     * Fields of the tool's (JSON) result that the system sets, not the content's author (sender, attendees,
     * account numbers): values there are trusted data even when the output is `untrusted`.
     */
    trusted_fields: z.array(z.string().min(1).max(128)).default([]),
  })
  .strict();

export const ToolsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.:/-]{1,128}$/, 'tool names use letters, digits and _ . : / -'),
  ToolSchema,
);

export type ToolConfig = z.output<typeof ToolSchema>;
