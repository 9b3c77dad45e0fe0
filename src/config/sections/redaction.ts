import { z } from 'zod';

export const RedactionSchema = z
  .object({
    secrets: z.boolean().default(true),
    pii: z.array(z.string()).default([]),
    allow_domains: z.array(z.string()).default([]),
  })
  .strict();
