import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { approvalView } from '../../approvals/view.js';
import type { Gatehouse } from '../../gatehouse.js';
import { OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const IdParams = z.strictObject({ id: z.string().regex(/^apr-[0-9a-f]{16}$/) });
const ListQuery = z.strictObject({
  status: z.enum(['pending', 'approved', 'denied', 'used', 'expired']).optional(),
  agent: z.string().min(1).max(256).optional(),
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/)
    .optional(),
});
const DecisionBody = z.strictObject({ reason: z.string().max(1000).optional() });
const DryRunBody = z.strictObject({ result: z.unknown().optional(), error: z.string().max(2000).optional() });
const WaitBody = z.strictObject({ timeout_ms: z.number().int().min(1).max(60_000).optional() });
const idParams = jsonSchema(IdParams);

/**
 * The human gate over HTTP (operator token required):
 * `GET /v1/approvals`, `GET /v1/approvals/:id`, `POST /v1/approvals/:id/approve|deny` with `{reason}`,
 * `POST /v1/approvals/:id/dry-run` to attach a dry-run result, `POST /v1/approvals/:id/wait` to wait for a decision.
 */
export default async function approvalsRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators?: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const operators = opts.operators ?? (await OperatorDirectory.open(gh.store, () => gh.clock.now()));
  const preHandler = requireOperator(operators);

  app.get(
    '/v1/approvals',
    {
      preHandler,
      schema: {
        querystring: jsonSchema(ListQuery),
      },
    },
    async (req) => {
      const q = read(ListQuery, req.query, 'query');
      const list = await gh.approvals.list({
        ...(q.status ? { status: q.status } : {}),
        ...(q.agent ? { agent: q.agent } : {}),
        limit: q.limit ? Number(q.limit) : 100,
      });
      return { approvals: list.map(approvalView) };
    },
  );

  app.get('/v1/approvals/:id', { preHandler, schema: { params: idParams } }, async (req) => {
    return approvalView(await gh.approvals.get(read(IdParams, req.params, 'params').id));
  });

  for (const verb of ['approve', 'deny'] as const) {
    app.post(
      `/v1/approvals/:id/${verb}`,
      { preHandler, schema: { params: idParams, body: jsonSchema(DecisionBody) } },
      async (req) => {
        const { id } = read(IdParams, req.params, 'params');
        const { reason } = read(DecisionBody, req.body, 'body');
        const approver = `operator:${req.operator!.name}`;
        const r =
          verb === 'approve'
            ? await gh.approvals.approve(id, approver, reason)
            : await gh.approvals.deny(id, approver, reason);
        return approvalView(r);
      },
    );
  }

  app.post(
    '/v1/approvals/:id/dry-run',
    {
      preHandler,
      schema: {
        params: idParams,
        body: jsonSchema(DryRunBody),
      },
    },
    async (req) => {
      const body = read(DryRunBody, req.body, 'body');
      return approvalView(await gh.approvals.attachDryRun(read(IdParams, req.params, 'params').id, body));
    },
  );

  app.post(
    '/v1/approvals/:id/wait',
    {
      preHandler,
      schema: {
        params: idParams,
        body: jsonSchema(WaitBody),
      },
    },
    async (req) => {
      const body = read(WaitBody, req.body, 'body');
      const { id } = read(IdParams, req.params, 'params');
      try {
        return approvalView(await gh.approvals.wait(id, { timeoutMs: body.timeout_ms ?? 30_000 }));
      } catch (err) {
        if ((err as { code?: string }).code === 'approval.wait_timeout')
          return approvalView(await gh.approvals.get(id));
        throw err;
      }
    },
  );
}
