import Fastify, { type FastifyInstance } from 'fastify';
import type { Gatehouse } from '../gatehouse.js';
import { errorHandler } from './errors.js';
import { OperatorDirectory } from './operators.js';
import approvalsRoutes from './routes/approvals.js';
import auditRoutes from './routes/audit.js';
import dashboardRoutes from './routes/dashboard.js';
import decideRoutes from './routes/decide.js';
import healthRoutes from './routes/health.js';
import identityRoutes from './routes/identity.js';
import mcpRoutes from './routes/mcp.js';
import metricsRoutes from './routes/metrics.js';
import policyRoutes from './routes/policy.js';
import redactRoutes from './routes/redact.js';
import responseRoutes from './routes/response.js';
import scanRoutes from './routes/scan.js';

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
  await app.register(redactRoutes, { gatehouse });
  await app.register(scanRoutes, { gatehouse });
  await app.register(identityRoutes, { gatehouse, operators });
  await app.register(metricsRoutes, { gatehouse, operators });
  await app.register(auditRoutes, { gatehouse, operators });
  await app.register(approvalsRoutes, { gatehouse, operators });
  await app.register(policyRoutes, { gatehouse, operators });
  await app.register(responseRoutes, { gatehouse, operators });
  await app.register(mcpRoutes, { gatehouse });
  await app.register(dashboardRoutes);
  return app;
}
