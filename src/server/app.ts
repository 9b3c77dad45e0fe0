import { Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import { describeError } from '../core/errors.js';
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
import { enforceClientCertificates, type GatewayTls } from './tls.js';

export interface ServerOptions {
  /** Override of the config's body limit, in bytes. */
  bodyLimit?: number;
  logger?: boolean;
  /** HTTPS (see gatewayTls in ./tls.js); absent: plain HTTP. */
  tls?: GatewayTls;
}

/**
 * The HTTP gateway. Every route has a JSON schema; bad JSON, wrong types and oversized bodies are answered
 * 400/413 naming the field, before any handler runs.
 */
export async function buildServer(gatehouse: Gatehouse, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const common = {
    bodyLimit: opts.bodyLimit ?? gatehouse.config.server.body_limit,
    logger: opts.logger ?? false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  };
  // The routes only read the request; an HTTPS instance differs from an HTTP one in its raw server type alone.
  const app = opts.tls
    ? (Fastify({ ...common, https: opts.tls.options }) as unknown as FastifyInstance)
    : Fastify(common);
  if (opts.tls) secure(app, gatehouse, opts.tls);
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

const MAX_TIMER = 2 ** 31 - 1;

/** Client-certificate enforcement and, for a Gatehouse-issued certificate, renewal at half-life. */
function secure(app: FastifyInstance, gatehouse: Gatehouse, tls: GatewayTls): void {
  const server: unknown = app.server;
  if (!(server instanceof TlsServer)) throw new Error('fastify did not create a TLS server for the https option');
  if (tls.clientCerts === 'required') enforceClientCertificates(server, gatehouse);
  let timer: NodeJS.Timeout | undefined;
  const wait = (ms: number, then: () => void) => {
    timer = setTimeout(then, ms);
    timer.unref();
  };
  // setTimeout overflows past ~24.8 days, so a long wait is taken in steps.
  const renewAt = (current: GatewayTls, at: number): void => {
    const left = at - gatehouse.clock.now();
    if (left > MAX_TIMER) {
      wait(MAX_TIMER, () => renewAt(current, at));
      return;
    }
    wait(Math.max(0, left), () => {
      const renew = current.renew;
      if (!renew) return;
      renew()
        .then((next) => {
          server.setSecureContext(next.options);
          atHalfLife(next);
        })
        .catch((err: unknown) => {
          // Logged even without a logger: the certificate in use runs out if this keeps failing.
          process.emitWarning(
            `renewing the gateway TLS certificate failed, retrying in a minute: ${describeError(err)}`,
            {
              code: 'GATEHOUSE_TLS_RENEWAL',
            },
          );
          renewAt(current, gatehouse.clock.now() + 60_000);
        });
    });
  };
  const atHalfLife = (current: GatewayTls) => {
    if (current.renew) renewAt(current, gatehouse.clock.now() + (current.notAfter - gatehouse.clock.now()) / 2);
  };
  atHalfLife(tls);
  app.addHook('onClose', async () => clearTimeout(timer));
}
