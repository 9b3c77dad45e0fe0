import type { FastifyInstance } from 'fastify';
import { ActionSchema } from '../../core/action.js';
import { type Gatehouse, parseAction } from '../../gatehouse.js';
import { credentialsFrom } from '../auth.js';
import { jsonSchema } from '../schema.js';

const actionJsonSchema = jsonSchema(ActionSchema);

export default async function decideRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  app.post('/v1/decide', { schema: { body: actionJsonSchema } }, async (req, reply) => {
    const credentials = credentialsFrom(req, { clientCertHeader: gh.config.identity.client_cert_header });
    if (!credentials) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'auth.missing',
        message: 'present an access token (Authorization: Bearer <token>) or a client certificate',
      });
    }
    return gh.decide(parseAction(req.body), { credentials });
  });
}
