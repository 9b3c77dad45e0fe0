import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../gatehouse.js';
import { IdentityError } from '../../identity/errors.js';
import { credentialsFrom } from '../auth.js';

const bodySchema = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: {
    text: { type: 'string', maxLength: 16 * 1024 * 1024 },
    destination: { type: 'string', enum: ['chat', 'tool_args', 'tool_result', 'http', 'log'] },
    mode: { type: 'string', enum: ['label', 'partial', 'hmac'] },
  },
} as const;

/** POST /v1/redact: {text, destination?, mode?} → {redacted, findings:[{kind, start, end}], blocked}. */
export default async function redactRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  app.post<{ Body: { text: string; destination?: string; mode?: 'label' | 'partial' | 'hmac' } }>(
    '/v1/redact',
    { schema: { body: bodySchema } },
    async (req, reply) => {
      const credentials = credentialsFrom(req, { clientCertHeader: gh.config.identity.client_cert_header });
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
      const r = gh.redactor.redact(req.body.text, {
        destination: req.body.destination ?? 'tool_args',
        ...(req.body.mode ? { mode: req.body.mode } : {}),
      });
      return {
        redacted: r.redacted,
        findings: r.findings.map((f) => ({ kind: f.kind, start: f.start, end: f.end })),
        blocked: r.blocked,
      };
    },
  );
}
