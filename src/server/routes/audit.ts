import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type AuditQuery, queryLog } from '../../audit/query.js';
import { verifyLog } from '../../audit/verify.js';
import { InputError } from '../../core/errors.js';
import type { Gatehouse } from '../../gatehouse.js';
import { publicKeysOf } from '../../store/keyring.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const Query = z.strictObject({
  agent: z.string().max(256).optional(),
  type: z.string().max(128).optional(),
  session: z.string().max(256).optional(),
  tool: z.string().max(256).optional(),
  /** A reason code, exactly or as a dotted prefix (`limits` matches `limits.rate.agent`). */
  reason: z.string().max(128).optional(),
  since: z.string().max(64).optional(),
  until: z.string().max(64).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,6}$/)
    .optional(),
});

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

  app.get('/v1/audit/events', { preHandler, schema: { querystring: jsonSchema(Query) } }, async (req) => {
    const query = read(Query, req.query, 'query');
    const limit = Math.min(Number(query.limit ?? '100'), 5000);
    const filtered = query.tool !== undefined || query.reason !== undefined;
    const q: AuditQuery = filtered ? {} : { limit };
    if (query.agent) q.agent = query.agent;
    if (query.type) q.type = query.type;
    if (query.session) q.session = query.session;
    const since = time(query.since, 'since');
    const until = time(query.until, 'until');
    if (since !== undefined) q.since = since;
    if (until !== undefined) q.until = until;
    await gh.audit.flush();
    let events = queryLog(dir, q);
    if (filtered) {
      const { tool, reason } = query;
      events = events
        .filter(
          (e) =>
            (tool === undefined || e.action?.tool === tool) &&
            (reason === undefined ||
              (e.reasons ?? []).some((r) => r.code === reason || r.code.startsWith(`${reason}.`))),
        )
        .slice(-limit);
    }
    return { events };
  });

  app.get('/v1/audit/verify', { preHandler }, async () => {
    await gh.audit.flush();
    const keys = await publicKeysOf(gh.store, 'audit');
    return verifyLog(dir, { keyFor: (kid) => keys.get(kid) });
  });
}
