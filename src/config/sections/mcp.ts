import { z } from 'zod';

export const McpSchema = z
  .object({
    on_pin_violation: z.enum(['block', 'review']).default('block'),
  })
  .strict();
