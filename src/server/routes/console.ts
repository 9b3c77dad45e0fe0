import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { inclusionProof, leafHash, rootOf } from '../../audit/merkle.js';
import { checkpointBody, signNote } from '../../audit/note.js';
import { queryLog } from '../../audit/query.js';
import { buildReport, FRAMEWORKS, type Framework } from '../../audit/report.js';
import { InputError, NotFoundError } from '../../core/errors.js';
import type { Gatehouse } from '../../gatehouse.js';
import { buildDigest, digestMarkdown } from '../../monitor/digest.js';
import type { Console } from '../console.js';
import { INCIDENT_STATES, incidentMarkdown } from '../incidents.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const IncidentParams = z.strictObject({ id: z.string().regex(/^inc-[0-9a-f]{16}$/) });
const IncidentQuery = z.strictObject({ state: z.enum(INCIDENT_STATES).optional() });
const IncidentPatch = z.strictObject({
  state: z.enum(INCIDENT_STATES).optional(),
  owner: z.string().min(1).max(128).optional(),
  note: z.string().min(1).max(2000).optional(),
});
const DeliveryQuery = z.strictObject({ status: z.enum(['pending', 'delivered', 'dead']).optional() });
const DeliveryParams = z.strictObject({ id: z.string().min(1).max(300) });
const ApprovalParams = z.strictObject({ id: z.string().regex(/^apr-[0-9a-f]{16}$/) });
const SeqParams = z.strictObject({ seq: z.string().regex(/^[1-9][0-9]{0,11}$/) });
const ComplianceQuery = z.strictObject({ framework: z.enum(FRAMEWORKS as [Framework, ...Framework[]]) });
const DigestQuery = z.strictObject({
  since: z
    .string()
    .regex(/^[1-9][0-9]{0,2}d$/)
    .optional(),
  format: z.enum(['json', 'md']).optional(),
});

/** Operator routes behind the security console views (overview, incidents, deliveries, compliance, digest). */
export default async function consoleRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory; console: Console },
): Promise<void> {
  const gh = opts.gatehouse;
  const con = opts.console;
  const dir = join(gh.dataDir, 'audit');
  const preHandler = requireOperator(opts.operators);
  const actor = (req: { operator?: { name: string } }) => `operator:${req.operator!.name}`;

  app.get('/v1/console/overview', { preHandler }, async () => con.overview());

  app.get('/v1/console/agents', { preHandler }, async () => {
    const reg = gh.identity.registry;
    const last = new Map<string, string>();
    for (const e of queryLog(dir, { type: 'decision', limit: 5000 })) if (e.agent) last.set(e.agent, e.ts);
    const agents = [];
    for (const a of await reg.list()) {
      const cert = (await gh.identity.ca.certificatesOf(a.id)).find((c) => c.revokedAt === undefined);
      agents.push({
        id: a.id,
        status: reg.effectiveStatus(a),
        statusReason: a.statusReason ?? null,
        roles: a.roles,
        key: a.key ? { alg: a.key.alg, origin: a.key.origin } : null,
        nextRotationAt: a.nextRotationAt === undefined ? null : new Date(a.nextRotationAt).toISOString(),
        expiresAt: a.expiresAt === undefined ? null : new Date(a.expiresAt).toISOString(),
        certificateNotAfter: cert ? new Date(cert.notAfter).toISOString() : null,
        quarantined: (await gh.responder.quarantined(a.id)) !== undefined,
        lastActivity: last.get(a.id) ?? null,
      });
    }
    return { agents };
  });

  /** What a reviewer needs beyond the request: the last approved call of the same tool, and the session's labels. */
  app.get(
    '/v1/console/approvals/:id/context',
    { preHandler, schema: { params: jsonSchema(ApprovalParams) } },
    async (req) => {
      const a = await gh.approvals.get(read(ApprovalParams, req.params, 'params').id);
      const previous = [
        ...(await gh.approvals.list({ status: 'used', agent: a.agent, limit: 200 })),
        ...(await gh.approvals.list({ status: 'approved', agent: a.agent, limit: 200 })),
      ]
        .filter((p) => p.id !== a.id && p.tool === a.tool && p.createdAt < a.createdAt)
        .sort((x, y) => y.createdAt - x.createdAt)[0];
      const session = await gh.sessions.peek(a.agent, a.session);
      return {
        sessionLabels: session ? [...session.labels] : [],
        previous: previous
          ? { id: previous.id, createdAt: new Date(previous.createdAt).toISOString(), approver: previous.approver }
          : null,
        changes: previous ? diffArgs(previous.action.args ?? {}, a.action.args ?? {}) : null,
      };
    },
  );

  app.get('/v1/incidents', { preHandler, schema: { querystring: jsonSchema(IncidentQuery) } }, async (req) => {
    const q = read(IncidentQuery, req.query, 'query');
    return { incidents: await con.incidents.list(q.state ? { state: q.state } : {}) };
  });

  app.get('/v1/incidents/:id', { preHandler, schema: { params: jsonSchema(IncidentParams) } }, async (req) => {
    const inc = await con.incidents.get(read(IncidentParams, req.params, 'params').id);
    return { incident: inc, timeline: timelineOf(inc.agent, inc.createdAt) };
  });

  app.get(
    '/v1/incidents/:id/markdown',
    { preHandler, schema: { params: jsonSchema(IncidentParams) } },
    async (req, reply) => {
      const inc = await con.incidents.get(read(IncidentParams, req.params, 'params').id);
      return reply
        .type('text/markdown; charset=utf-8')
        .header('content-disposition', `attachment; filename="${inc.id}.md"`)
        .send(incidentMarkdown(inc, timelineOf(inc.agent, inc.createdAt)));
    },
  );

  app.post(
    '/v1/incidents/:id',
    { preHandler, schema: { params: jsonSchema(IncidentParams), body: jsonSchema(IncidentPatch) } },
    async (req) => {
      const { id } = read(IncidentParams, req.params, 'params');
      const change = read(IncidentPatch, req.body, 'body');
      const inc = await con.incidents.update(id, actor(req), change);
      await gh.audit.append({
        type: 'incident.updated',
        agent: inc.agent,
        actor: actor(req),
        data: {
          incident: id,
          ...(change.state ? { state: change.state } : {}),
          ...(change.owner ? { owner: change.owner } : {}),
          ...(change.note ? { note: true } : {}),
        },
      });
      return { incident: inc };
    },
  );

  app.get('/v1/alerts/deliveries', { preHandler, schema: { querystring: jsonSchema(DeliveryQuery) } }, async (req) => {
    const q = read(DeliveryQuery, req.query, 'query');
    return { deliveries: await con.dispatcher.list(q.status) };
  });

  app.post(
    '/v1/alerts/deliveries/:id/retry',
    { preHandler, schema: { params: jsonSchema(DeliveryParams) } },
    async (req) => {
      const { id } = read(DeliveryParams, req.params, 'params');
      if (!(await con.dispatcher.retry(id))) throw new NotFoundError(`dead-lettered delivery ${id}`);
      await gh.audit.append({ type: 'alert.delivery_retried', actor: actor(req), data: { delivery: id } });
      return { retried: true };
    },
  );

  app.get('/v1/audit/proof/:seq', { preHandler, schema: { params: jsonSchema(SeqParams) } }, async (req, reply) => {
    const seq = Number(read(SeqParams, req.params, 'params').seq);
    const v = await con.integrity();
    if (!v.result.ok)
      throw new InputError('audit log', `cannot prove inclusion in a log that does not verify: ${v.result.message}`);
    const events = queryLog(dir);
    const event = events[seq - 1];
    if (!event || event.seq !== seq) throw new NotFoundError(`event ${seq}`);
    const leaves = events.map((e) => leafHash(e.hash));
    const root = rootOf(leaves);
    const key = await gh.keyring.ensure('audit');
    const note = signNote(
      checkpointBody(leaves.length, root),
      'gatehouse',
      await gh.keyring.privateKey(key.kid),
      key.publicKey,
    );
    return reply.header('content-disposition', `attachment; filename="gatehouse-proof-${seq}.json"`).send({
      seq,
      eventHash: event.hash,
      leafIndex: seq - 1,
      treeSize: leaves.length,
      leafHash: leaves[seq - 1]!.toString('hex'),
      rootHash: root.toString('hex'),
      proof: inclusionProof(leaves, seq - 1).map((p) => p.toString('hex')),
      checkpoint: note,
    });
  });

  app.get(
    '/v1/console/compliance',
    { preHandler, schema: { querystring: jsonSchema(ComplianceQuery) } },
    async (req) => {
      const { framework } = read(ComplianceQuery, req.query, 'query');
      const v = await con.integrity();
      return buildReport(framework, queryLog(dir), v.result, {}, new Date(gh.clock.now()));
    },
  );

  app.get(
    '/v1/console/digest',
    { preHandler, schema: { querystring: jsonSchema(DigestQuery) } },
    async (req, reply) => {
      const q = read(DigestQuery, req.query, 'query');
      const until = gh.clock.now();
      const since = until - Number((q.since ?? '7d').slice(0, -1)) * 86_400_000;
      await gh.audit.flush();
      const d = buildDigest(queryLog(dir, { since, until }), { since, until });
      return q.format === 'md' ? reply.type('text/markdown; charset=utf-8').send(digestMarkdown(d)) : d;
    },
  );

  function timelineOf(agent: string, at: number) {
    // The hour before the incident and everything after it, for that agent.
    return queryLog(dir, { agent, since: at - 3_600_000, limit: 500 });
  }
}

/** Top-level argument changes between two calls: added, removed, changed keys (values as JSON). */
export function diffArgs(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Array<{ key: string; change: 'added' | 'removed' | 'changed'; before?: string; after?: string }> {
  const out: Array<{ key: string; change: 'added' | 'removed' | 'changed'; before?: string; after?: string }> = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of [...keys].sort()) {
    const b = key in before ? JSON.stringify(before[key]) : undefined;
    const a = key in after ? JSON.stringify(after[key]) : undefined;
    if (b === a) continue;
    if (b === undefined) out.push({ key, change: 'added', after: a! });
    else if (a === undefined) out.push({ key, change: 'removed', before: b });
    else out.push({ key, change: 'changed', before: b, after: a });
  }
  return out;
}
