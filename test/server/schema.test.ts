import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InputError } from '../../src/core/errors.js';
import { jsonSchema, read } from '../../src/server/schema.js';

const Body = z.strictObject({ agent: z.string().min(1), limit: z.number().int().max(10).optional() });

describe('request schemas', () => {
  it('give Fastify a closed JSON Schema without a $schema key', () => {
    expect(jsonSchema(Body)).toMatchObject({
      type: 'object',
      required: ['agent'],
      additionalProperties: false,
      properties: { agent: { type: 'string', minLength: 1 }, limit: { type: 'integer', maximum: 10 } },
    });
    expect(jsonSchema(Body)).not.toHaveProperty('$schema');
  });

  it('read parses and types a part, and names the field of a bad one', () => {
    expect(read(Body, { agent: 'a', limit: 3 }, 'body')).toEqual({ agent: 'a', limit: 3 });
    const bad = () => read(Body, { agent: 'a', limit: 11 }, 'body');
    expect(bad).toThrow(InputError);
    expect(bad).toThrow(/body\.limit/);
    expect(() => read(Body, { agent: 'a', extra: 1 }, 'body')).toThrow(InputError);
    // An absent body reads as {}: a required field is still required.
    expect(() => read(Body, undefined, 'body')).toThrow(/body\.agent/);
    expect(read(z.strictObject({ reason: z.string().optional() }), undefined, 'body')).toEqual({});
  });
});
