import { z } from 'zod';
import { InputError } from '../core/errors.js';

/**
 * One zod schema per request part is the single source of truth. Fastify validates the part with the schema's
 * JSON Schema form before the handler runs (so a bad request gets 400 naming the field, as on every route), and
 * the handler reads the part through `read`, which parses it with the same schema and types it without a cast.
 *
 * @example
 * const Body = z.strictObject({ reason: z.string().max(1000).optional() });
 * app.post('/x', { schema: { body: jsonSchema(Body) } }, async (req) => read(Body, req.body, 'body').reason);
 */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });
  return rest;
}

/** Parses a request part with its schema; an absent body reads as `{}`. */
export function read<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params'): z.output<S> {
  const r = schema.safeParse(value ?? (part === 'body' ? {} : value));
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InputError([part, ...(issue?.path ?? []).map(String)].join('.'), issue?.message ?? 'invalid');
}
