import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Gatehouse } from '../../gatehouse.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const Agent = z.string().min(1).max(256);
const QuarantineBody = z.strictObject({ agent: Agent, reason: z.string().min(1).max(1000) });
const RestoreBody = z.strictObject({ agent: Agent });

/** Operator routes: monitoring baselines, quarantine and restore. */
export default async function responseRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const preHandler = requireOperator(opts.operators);
  app.get('/v1/monitor/baselines', { preHandler }, async () => ({ baselines: gh.monitor.baselineSnapshot() }));
  app.get('/v1/response/quarantine', { preHandler }, async () => ({ quarantined: gh.responder.list() }));
  app.post('/v1/response/quarantine', { preHandler, schema: { body: jsonSchema(QuarantineBody) } }, async (req) => {
    const { agent, reason } = read(QuarantineBody, req.body, 'body');
    return gh.responder.quarantine(agent, reason, `operator:${req.operator!.name}`);
  });
  app.post('/v1/response/restore', { preHandler, schema: { body: jsonSchema(RestoreBody) } }, async (req) => {
    const { agent } = read(RestoreBody, req.body, 'body');
    await gh.responder.restore(agent, `operator:${req.operator!.name}`);
    return { agent, restored: true };
  });
}
