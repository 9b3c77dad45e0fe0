import { join } from 'node:path';
import { Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { describeError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';
import { createLogger, type Logger, type LogLevel, requestId } from '../observability/logger.js';
import { type Tracing, tracingFrom } from '../observability/tracing.js';
import { Console } from './console.js';
import { errorHandler } from './errors.js';
import { OpenApiCollector } from './openapi.js';
import { isOperatorGuard, OperatorDirectory } from './operators.js';
import approvalsRoutes from './routes/approvals.js';
import auditRoutes from './routes/audit.js';
import consoleRoutes from './routes/console.js';
import dashboardRoutes from './routes/dashboard.js';
import decideRoutes from './routes/decide.js';
import eventRoutes from './routes/events.js';
import healthRoutes from './routes/health.js';
import identityRoutes from './routes/identity.js';
import mcpRoutes from './routes/mcp.js';
import metricsRoutes from './routes/metrics.js';
import policyRoutes from './routes/policy.js';
import redactRoutes from './routes/redact.js';
import responseRoutes from './routes/response.js';
import scanRoutes from './routes/scan.js';
import { AuditTail } from './tail.js';
import { enforceClientCertificates, type GatewayTls } from './tls.js';

export interface ServerOptions {
  /** Override of the config's body limit, in bytes. */
  bodyLimit?: number;
  /** JSON logs (pino) at this level, or a logger of your own; absent or false: no request logs. */
  logger?: boolean | LogLevel | Logger;
  /** OpenTelemetry tracing; absent: from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, or none (no span work at all). */
  tracing?: Tracing;
  /** Environment for alert channel secrets and OTLP settings (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** HTTPS (see gatewayTls in ./tls.js); absent: plain HTTP. */
  tls?: GatewayTls;
}

/**
 * The HTTP gateway. Every route has a JSON schema; bad JSON, wrong types and oversized bodies are answered
 * 400/413 naming the field, before any handler runs.
 */
export async function buildServer(gatehouse: Gatehouse, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const log = loggerOf(opts.logger);
  const common = {
    bodyLimit: opts.bodyLimit ?? gatehouse.config.server.body_limit,
    ...(log ? { loggerInstance: log } : { logger: false }),
    genReqId: requestId,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  };
  // The routes only read the request; an HTTPS instance differs from an HTTP one in its raw server type alone.
  // A pino logger instance types the instance with pino's logger; the routes use only the base logger interface.
  const app = (opts.tls
    ? Fastify({ ...common, https: opts.tls.options })
    : Fastify(common)) as unknown as FastifyInstance;
  if (opts.tls) secure(app, gatehouse, opts.tls);
  app.setErrorHandler(errorHandler);
  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  const openapi = new OpenApiCollector();
  openapi.collect(app, (r: RouteOptions) => isOperatorGuard(r.preHandler));
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` });
  });
  // Route plugins get the Gatehouse and the operator directory; operator-only routes use
  // `{ preHandler: requireOperator(opts.operators) }` from ./operators.js.
  const operators = await OperatorDirectory.open(gatehouse.store, () => gatehouse.clock.now());
  const tracing = opts.tracing ?? tracingFrom({}, opts.env ?? process.env);
  const tail = new AuditTail(join(gatehouse.dataDir, 'audit'));
  const live = await Console.open(gatehouse, tail, log, opts.env ?? process.env);
  await live.start();
  app.addHook('onClose', async () => {
    await live.stop();
    await tracing?.shutdown();
  });
  await app.register(healthRoutes, { gatehouse });
  await app.register(decideRoutes, { gatehouse, ...(tracing ? { tracing } : {}) });
  await app.register(redactRoutes, { gatehouse });
  await app.register(scanRoutes, { gatehouse });
  await app.register(identityRoutes, { gatehouse, operators });
  await app.register(metricsRoutes, { gatehouse, operators });
  await app.register(auditRoutes, { gatehouse, operators });
  await app.register(approvalsRoutes, { gatehouse, operators });
  await app.register(policyRoutes, { gatehouse, operators });
  await app.register(responseRoutes, { gatehouse, operators });
  await app.register(mcpRoutes, { gatehouse });
  await app.register(eventRoutes, { gatehouse, operators, tail });
  await app.register(consoleRoutes, { gatehouse, operators, console: live });
  await app.register(dashboardRoutes);
  const doc = openapi.document(String(gatehouse.config.version));
  app.get('/openapi.json', async () => doc);
  return app;
}

function loggerOf(l: ServerOptions['logger']): Logger | undefined {
  if (l === undefined || l === false) return undefined;
  if (l === true) return createLogger('info');
  if (typeof l === 'string') return createLogger(l);
  return l;
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
