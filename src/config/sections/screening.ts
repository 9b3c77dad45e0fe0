import { z } from 'zod';
import { DurationSchema, SizeSchema } from '../units.js';

const Score = z.number().min(0).max(10);

/** Multi-turn accumulation: risk adds up across a session's turns and decays with time. */
export const ScreeningSessionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Accumulated risk halves after this long without new findings. */
    half_life: DurationSchema.default(10 * 60_000),
    /** Accumulated (decayed) sum of turn scores at which a turn is blocked even if it alone scores lower. */
    escalate_at: z.number().min(0).max(100).default(8),
    /** Characters of earlier untrusted turns kept to catch a phrase split across messages (0 turns this off). */
    carry_chars: z.number().int().min(0).max(8192).default(1000),
  })
  .strict();

/** Marks untrusted content so the model can tell data from instructions (Microsoft's spotlighting). */
export const SpotlightingSchema = z
  .object({
    /** off; delimit: wrap in randomised markers; datamark: also interleave a marker between words. */
    mode: z.enum(['off', 'delimit', 'datamark']).default('off'),
    /** Which tool results to mark: those of tools with `output: untrusted`, or all. */
    applies_to: z.enum(['untrusted', 'all']).default('untrusted'),
  })
  .strict();

export const ScreeningSourceSchema = z
  .object({
    /** false skips screening of inputs from this source. Output of `output: untrusted` tools is always screened. */
    screen: z.boolean().default(true),
    block_at: Score.optional(),
    review_at: Score.optional(),
  })
  .strict();

export const ScreeningSchema = z
  .object({
    enabled: z.boolean().default(true),
    block_at: Score.default(4),
    review_at: Score.default(2),
    /** Longer content is screened head and tail (half each) and sent for review. */
    max_input: SizeSchema.default(4 * 1024 * 1024),
    /** Recursion depth of decoding base64, hex, percent, entities and the like (at most 2). */
    decode_depth: z.number().int().min(0).max(2).default(2),
    /** Inputs up to this many characters also get a ROT13 view; longer ones only when they look ROT13-encoded. */
    rot13_max_chars: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024)
      .default(16 * 1024),
    session: ScreeningSessionSchema.default(ScreeningSessionSchema.parse({})),
    tool_results: z
      .object({
        /** all: every tool result is screened; untrusted: only results of tools with `output: untrusted`. */
        screen: z.enum(['all', 'untrusted']).default('all'),
        /** What a blocking score in a tool result does: deny it, or let a human review it. */
        on_block: z.enum(['deny', 'review']).default('deny'),
      })
      .strict()
      .default({ screen: 'all', on_block: 'deny' }),
    spotlighting: SpotlightingSchema.default(SpotlightingSchema.parse({})),
    /** Per-source settings keyed by trust label (`owner`, `user`, `public`, `web`, `tool:<name>`, or `tool:*`). */
    sources: z
      .record(z.string().regex(/^(owner|user|public|web|tool:[A-Za-z0-9_.:/*-]{1,128})$/), ScreeningSourceSchema)
      .default({}),
  })
  .strict()
  .refine((s) => s.review_at <= s.block_at, { message: 'review_at must not exceed block_at', path: ['review_at'] })
  .refine((s) => Object.values(s.sources).every((o) => (o.review_at ?? s.review_at) <= (o.block_at ?? s.block_at)), {
    message: 'a source’s review_at must not exceed its block_at',
    path: ['sources'],
  });

export type ScreeningConfig = z.output<typeof ScreeningSchema>;
