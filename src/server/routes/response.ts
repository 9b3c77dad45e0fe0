import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Gatehouse } from '../../gatehouse.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const Agent = z.string().min(1).max(256);
const QuarantineBody = z.strictObject({ agent: Agent, reason: z.string().min(1).max(1000) });
const RestoreBody = z.strictObject({ agent: Agent, reason: z.string().min(1).max(1000).optional() });

/** Operator routes: monitoring baselines, quarantine and restore. */
export default async function responseRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const preHandler = requireOperator(opts.operators);
  app.get('/v1/monitor/baselines', { preHandler }, async () => ({ baselines: await gh.monitor.baselineSnapshot() }));
  app.get('/v1/response/quarantine', { preHandler }, async () => ({ quarantined: await gh.responder.list() }));
  app.post('/v1/response/quarantine', { preHandler, schema: { body: jsonSchema(QuarantineBody) } }, async (req) => {
    const { agent, reason } = read(QuarantineBody, req.body, 'body');
    return gh.responder.quarantine(agent, reason, `operator:${req.operator!.name}`);
  });
  app.post('/v1/response/restore', { preHandler, schema: { body: jsonSchema(RestoreBody) } }, async (req) => {
    const { agent, reason } = read(RestoreBody, req.body, 'body');
    const by = `operator:${req.operator!.name}`;
    await gh.responder.restore(agent, by);
    // Responder.restore takes no reason; the operator's is recorded right after it.
    if (reason)
      await gh.audit.append({ type: 'operator.note', agent, actor: by, data: { about: 'response.restored', reason } });
    return { agent, restored: true };
  });
}
