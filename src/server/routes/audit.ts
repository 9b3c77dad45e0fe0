import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type AuditQuery, queryLog } from '../../audit/query.js';
import { verifyLog } from '../../audit/verify.js';
import { InputError } from '../../core/errors.js';
import type { Gatehouse } from '../../gatehouse.js';
import { publicKeyOf } from '../../store/keyring.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';

const querySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agent: { type: 'string', maxLength: 256 },
    type: { type: 'string', maxLength: 128 },
    session: { type: 'string', maxLength: 256 },
    since: { type: 'string', maxLength: 64 },
    until: { type: 'string', maxLength: 64 },
    limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
  },
} as const;

interface QueryString {
  agent?: string;
  type?: string;
  session?: string;
  since?: string;
  until?: string;
  limit?: string;
}

function time(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t))
    throw new InputError(`querystring.${name}`, `expected an ISO time or epoch milliseconds, got "${v}"`);
  return t;
}

/** Operator routes over the audit log: query events and verify the chain. */
export default async function auditRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const dir = join(gh.dataDir, 'audit');
  const preHandler = requireOperator(opts.operators);

  app.get<{ Querystring: QueryString }>(
    '/v1/audit/events',
    { preHandler, schema: { querystring: querySchema } },
    async (req) => {
      const q: AuditQuery = { limit: Math.min(Number(req.query.limit ?? '100'), 5000) };
      if (req.query.agent) q.agent = req.query.agent;
      if (req.query.type) q.type = req.query.type;
      if (req.query.session) q.session = req.query.session;
      const since = time(req.query.since, 'since');
      const until = time(req.query.until, 'until');
      if (since !== undefined) q.since = since;
      if (until !== undefined) q.until = until;
      await gh.audit.flush();
      return { events: queryLog(dir, q) };
    },
  );

  app.get('/v1/audit/verify', { preHandler }, async () => {
    await gh.audit.flush();
    return verifyLog(dir, { keyFor: (kid) => publicKeyOf(gh.store, kid, 'audit') });
  });
}
