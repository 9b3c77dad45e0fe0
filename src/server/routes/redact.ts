import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Gatehouse } from '../../gatehouse.js';
import { IdentityError } from '../../identity/errors.js';
import { credentialOptions, credentialsFrom } from '../auth.js';
import { jsonSchema, read } from '../schema.js';

const Body = z.strictObject({
  text: z.string().max(16 * 1024 * 1024),
  destination: z.enum(['chat', 'tool_args', 'tool_result', 'http', 'log']).optional(),
  mode: z.enum(['label', 'partial', 'hmac']).optional(),
});

/** POST /v1/redact: {text, destination?, mode?} → {redacted, findings:[{kind, start, end}], blocked}. */
export default async function redactRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  const certOpts = credentialOptions(gh.config.identity);
  app.post('/v1/redact', { schema: { body: jsonSchema(Body) } }, async (req, reply) => {
    const credentials = credentialsFrom(req, certOpts);
    if (!credentials) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'auth.missing', message: 'present an access token: Authorization: Bearer <token>' });
    }
    try {
      await gh.identity.authenticateCaller(credentials, { method: 'POST /v1/redact' });
    } catch (err) {
      if (err instanceof IdentityError) return reply.code(401).send({ error: err.code, message: err.message });
      throw err;
    }
    const body = read(Body, req.body, 'body');
    const r = gh.redactor.redact(body.text, {
      destination: body.destination ?? 'tool_args',
      ...(body.mode ? { mode: body.mode } : {}),
    });
    return {
      redacted: r.redacted,
      findings: r.findings.map((f) => ({ kind: f.kind, start: f.start, end: f.end })),
      blocked: r.blocked,
    };
  });
}
