import { z } from 'zod';

export const ScreeningSchema = z
  .object({
    enabled: z.boolean().default(true),
    block_at: z.number().min(0).max(10).default(4),
    review_at: z.number().min(0).max(10).default(2),
  })
  .strict()
  .refine((s) => s.review_at <= s.block_at, { message: 'review_at must not exceed block_at', path: ['review_at'] });
