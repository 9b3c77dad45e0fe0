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
            properties: {
              status: { type: 'string', enum: ['ok', 'degraded'] },
              policyEpoch: { type: 'integer' },
              auditSeq: { type: 'integer' },
              store: {
                type: 'object',
                properties: {
                  dialect: { type: 'string' },
                  location: { type: 'string' },
                  ok: { type: 'boolean' },
                  error: { type: 'string' },
                  since: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
    async () => {
      const h = gh.health();
      let policyEpoch: number | undefined;
      try {
        policyEpoch = await gh.currentPolicyEpoch();
      } catch {
        // The store is unreachable: the answer is "degraded", not a 500 (a load balancer reads this route).
        policyEpoch = undefined;
      }
      return {
        status: policyEpoch === undefined ? 'degraded' : h.status,
        ...(policyEpoch !== undefined ? { policyEpoch } : {}),
        auditSeq: gh.audit.head()?.seq ?? 0,
        store: h.store,
      };
    },
  );
}
