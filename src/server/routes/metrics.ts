import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../gatehouse.js';

export default async function metricsRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', gh.metrics.contentType);
    return gh.metrics.text();
  });
}
