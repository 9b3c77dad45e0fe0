import { z } from 'zod';

/** What a flow rule does when it fires: ask a human, or refuse outright. */
const ActionSchema = z.enum(['review', 'deny']);

/** Per-tool overrides of the flow rules. */
export const FlowToolSchema = z
  .object({
    trifecta: ActionSchema.optional(),
    untrusted_destination: ActionSchema.optional(),
    payload_links: z.enum(['flag', 'review', 'deny']).optional(),
  })
  .strict();

/**
 * Information-flow rules (docs/flow.md). They decide on where data came from and where it goes, so they hold
 * when text screening misses an attack phrased as an ordinary request.
 */
export const FlowSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Rule of Two: a session that ingested untrusted content and read private data may not send to an external
     * sink without this, unless every destination of the call came from the owner.
     */
    trifecta: ActionSchema.default('review'),
    /** A destination value that appeared only in untrusted content (or nowhere, once untrusted content was seen). */
    untrusted_destination: ActionSchema.default('review'),
    /** A destination that looks like a known contact or domain but is not it (edit distance, confusables). */
    lookalike: z.enum(['flag', 'review', 'deny']).default('review'),
    /** A link in a payload argument (message body, memo) whose host came only from untrusted content. */
    payload_links: z.enum(['flag', 'review', 'deny']).default('review'),
    /** Most distinct values remembered per session (oldest forgotten first). */
    max_values: z.number().int().min(16).max(100_000).default(5000),
    tools: z.record(z.string(), FlowToolSchema).default({}),
  })
  .strict();

export type FlowConfig = z.output<typeof FlowSchema>;
