import { z } from 'zod';

/**
 * Where the state lives. Absent (the default): the embedded SQLite file in the data directory. `url`: a
 * PostgreSQL database shared by several gateways; `GATEHOUSE_DATABASE_URL` overrides it, so the password need not
 * be in the file. Everything security depends on (agents, keys, grants, approvals, budgets, rate limits,
 * revocations, pins, vault entries) is then shared; the audit log stays per gateway.
 */
export const StoreSchema = z
  .object({
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
      .optional(),
    /** Schema of the tables; one database can hold several isolated deployments. */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier such as gatehouse')
      .default('public'),
    /** Connections per gateway (LISTEN takes one more, outside the pool). */
    pool_size: z.number().int().min(1).max(200).default(10),
  })
  .strict();

export type StoreConfig = z.output<typeof StoreSchema>;
