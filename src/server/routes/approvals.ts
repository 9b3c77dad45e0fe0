import type { FastifyInstance } from 'fastify';
import type { ApprovalStatus } from '../../approvals/store.js';
import { approvalView } from '../../approvals/view.js';
import type { Gatehouse } from '../../gatehouse.js';
import { OperatorDirectory, requireOperator } from '../operators.js';

const ID = { type: 'string', pattern: '^apr-[0-9a-f]{16}$' } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: ID }, additionalProperties: false } as const;
const decisionBody = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 1000 } },
  additionalProperties: false,
} as const;

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
  const operators = opts.operators ?? new OperatorDirectory(gh.store, () => gh.clock.now());
  const preHandler = requireOperator(operators);

  app.get(
    '/v1/approvals',
    {
      preHandler,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['pending', 'approved', 'denied', 'used', 'expired'] },
            agent: { type: 'string', minLength: 1, maxLength: 256 },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
          },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const q = req.query as { status?: ApprovalStatus; agent?: string; limit?: string };
      const list = gh.approvals.list({
        ...(q.status ? { status: q.status } : {}),
        ...(q.agent ? { agent: q.agent } : {}),
        limit: q.limit ? Number(q.limit) : 100,
      });
      return { approvals: list.map(approvalView) };
    },
  );

  app.get('/v1/approvals/:id', { preHandler, schema: { params: idParams } }, async (req) => {
    return approvalView(gh.approvals.get((req.params as { id: string }).id));
  });

  for (const verb of ['approve', 'deny'] as const) {
    app.post(
      `/v1/approvals/:id/${verb}`,
      { preHandler, schema: { params: idParams, body: decisionBody } },
      async (req) => {
        const { id } = req.params as { id: string };
        const reason = (req.body as { reason?: string } | undefined)?.reason;
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
        body: {
          type: 'object',
          properties: { result: {}, error: { type: 'string', maxLength: 2000 } },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const body = req.body as { result?: unknown; error?: string };
      return approvalView(gh.approvals.attachDryRun((req.params as { id: string }).id, body));
    },
  );

  app.post(
    '/v1/approvals/:id/wait',
    {
      preHandler,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          properties: { timeout_ms: { type: 'integer', minimum: 1, maximum: 60_000 } },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const body = (req.body ?? {}) as { timeout_ms?: number };
      const id = (req.params as { id: string }).id;
      try {
        return approvalView(await gh.approvals.wait(id, { timeoutMs: body.timeout_ms ?? 30_000 }));
      } catch (err) {
        if ((err as { code?: string }).code === 'approval.wait_timeout') return approvalView(gh.approvals.get(id));
        throw err;
      }
    },
  );
}
