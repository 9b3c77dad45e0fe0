import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../gatehouse.js';

export default async function healthRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  app.get(
    '/healthz',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string' }, policyEpoch: { type: 'integer' }, auditSeq: { type: 'integer' } },
          },
        },
      },
    },
    async () => ({ status: 'ok', policyEpoch: await gh.currentPolicyEpoch(), auditSeq: gh.audit.head()?.seq ?? 0 }),
  );
}
