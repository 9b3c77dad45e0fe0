import Fastify, { type FastifyInstance } from 'fastify';
import type { Gatehouse } from '../gatehouse.js';
import { errorHandler } from './errors.js';
import { OperatorDirectory } from './operators.js';
import decideRoutes from './routes/decide.js';
import healthRoutes from './routes/health.js';
import metricsRoutes from './routes/metrics.js';

export interface ServerOptions {
  /** Override of the config's body limit, in bytes. */
  bodyLimit?: number;
  logger?: boolean;
}

/**
 * The HTTP gateway. Every route has a JSON schema; bad JSON, wrong types and oversized bodies are answered
 * 400/413 naming the field, before any handler runs.
 */
export async function buildServer(gatehouse: Gatehouse, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? gatehouse.config.server.body_limit,
    logger: opts.logger ?? false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` });
  });
  // Route plugins get the Gatehouse and the operator directory; operator-only routes use
  // `{ preHandler: requireOperator(opts.operators) }` from ./operators.js.
  const operators = new OperatorDirectory(gatehouse.store, () => gatehouse.clock.now());
  await app.register(healthRoutes, { gatehouse });
  await app.register(decideRoutes, { gatehouse });
  await app.register(metricsRoutes, { gatehouse, operators });
  return app;
}
