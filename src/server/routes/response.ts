import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../gatehouse.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';

const agentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['agent'],
  properties: {
    agent: { type: 'string', minLength: 1, maxLength: 256 },
    reason: { type: 'string', minLength: 1, maxLength: 1000 },
  },
} as const;

/** Operator routes: monitoring baselines, quarantine and restore. */
export default async function responseRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const preHandler = requireOperator(opts.operators);
  app.get('/v1/monitor/baselines', { preHandler }, async () => ({ baselines: gh.monitor.baselineSnapshot() }));
  app.get('/v1/response/quarantine', { preHandler }, async () => ({ quarantined: gh.responder.list() }));
  app.post<{ Body: { agent: string; reason?: string } }>(
    '/v1/response/quarantine',
    { preHandler, schema: { body: { ...agentBody, required: ['agent', 'reason'] } } },
    async (req) => gh.responder.quarantine(req.body.agent, req.body.reason ?? '', `operator:${req.operator!.name}`),
  );
  app.post<{ Body: { agent: string } }>(
    '/v1/response/restore',
    { preHandler, schema: { body: agentBody } },
    async (req) => {
      await gh.responder.restore(req.body.agent, `operator:${req.operator!.name}`);
      return { agent: req.body.agent, restored: true };
    },
  );
}
