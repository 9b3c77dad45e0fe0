import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../gatehouse.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';

export default async function metricsRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  app.get('/metrics', { preHandler: requireOperator(opts.operators) }, async (_req, reply) => {
    void reply.header('content-type', gh.metrics.contentType);
    return gh.metrics.text();
  });
}
