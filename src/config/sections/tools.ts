import { z } from 'zod';
import { ToolArgRulesSchema } from './policy.js';

export const TierSchema = z.enum(['low', 'medium', 'high']);

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
  })
  .strict();

export const ToolsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.:/-]{1,128}$/, 'tool names use letters, digits and _ . : / -'),
  ToolSchema,
);

export type ToolConfig = z.output<typeof ToolSchema>;
