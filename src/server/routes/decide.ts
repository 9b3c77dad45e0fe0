import type { FastifyInstance } from 'fastify';
import { ActionSchema } from '../../core/action.js';
import { type Gatehouse, parseAction } from '../../gatehouse.js';
import { credentialOptions, credentialsFrom } from '../auth.js';
import { jsonSchema } from '../schema.js';
import { decisionStatus } from '../status.js';

const actionJsonSchema = jsonSchema(ActionSchema);

export default async function decideRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  const certOpts = credentialOptions(gh.config.identity);
  app.post('/v1/decide', { schema: { body: actionJsonSchema } }, async (req, reply) => {
    const credentials = credentialsFrom(req, certOpts);
    if (!credentials) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'auth.missing',
        message: 'present an access token (Authorization: Bearer <token>) or a client certificate',
      });
    }
    const decision = await gh.decide(parseAction(req.body), { credentials });
    const { status, headers } = decisionStatus(decision, gh.config.limits);
    return reply.code(status).headers(headers).send(decision);
  });
}
