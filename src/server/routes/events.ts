import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditEvent } from '../../audit/event.js';
import { queryLog } from '../../audit/query.js';
import { InputError } from '../../core/errors.js';
import type { Gatehouse } from '../../gatehouse.js';
import { type OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';
import { AuditTail } from '../tail.js';

export const StreamQuery = z.strictObject({
  /** Event type, exactly or as a dotted prefix; several comma-separated. */
  type: z.string().max(512).optional(),
  agent: z.string().max(256).optional(),
  /** Replay from here: an audit seq (exclusive), an ISO time or epoch ms (inclusive). */
  since: z.string().max(64).optional(),
});

/** What the console groups an audit event under: the SSE `event:` name. */
export function category(type: string): 'decision' | 'approval' | 'alert' | 'agent' | 'audit' {
  if (type === 'decision') return 'decision';
  if (type.startsWith('approval.')) return 'approval';
  if (type === 'monitor.alert') return 'alert';
  if (type.startsWith('identity.agent_') || type.startsWith('response.')) return 'agent';
  return 'audit';
}

const REPLAY_MAX = 1000;
const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/events/stream` (operator): Server-Sent Events of the audit log as it grows, whichever process wrote
 * it. Each message is `id: <seq>`, `event: <category>`, `data: <audit event JSON>`; `Last-Event-ID` resumes.
 * Events carry what the audit log holds (secret-free summaries), nothing more.
 */
export default async function eventRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators: OperatorDirectory; tail?: AuditTail },
): Promise<void> {
  const gh = opts.gatehouse;
  const dir = join(gh.dataDir, 'audit');
  const tail = opts.tail ?? new AuditTail(dir);
  const preHandler = requireOperator(opts.operators);

  app.get('/v1/events/stream', { preHandler, schema: { querystring: jsonSchema(StreamQuery) } }, async (req, reply) => {
    const q = read(StreamQuery, req.query, 'query');
    const types = q.type ? q.type.split(',').filter((t) => t.length > 0) : [];
    const wanted = (ev: AuditEvent) =>
      (q.agent === undefined || ev.agent === q.agent) &&
      (types.length === 0 || types.some((t) => ev.type === t || ev.type.startsWith(`${t}.`)));
    const lastId = req.headers['last-event-id'];
    const since = parseSince(typeof lastId === 'string' && /^\d{1,15}$/.test(lastId) ? lastId : q.since);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    let sent = 0;
    const send = (ev: AuditEvent) => {
      if (ev.seq <= sent || !wanted(ev)) return;
      sent = ev.seq;
      res.write(`id: ${ev.seq}\nevent: ${category(ev.type)}\ndata: ${JSON.stringify(ev)}\n\n`);
    };
    // Subscribe before replaying, so nothing falls in the gap; `sent` drops what both deliver.
    const live: AuditEvent[] = [];
    let replaying = true;
    const unsubscribe = tail.subscribe((ev) => (replaying ? live.push(ev) : send(ev)));
    if (since) {
      await gh.audit.flush();
      const replay = queryLog(dir, since.time !== undefined ? { since: since.time } : {}).filter(
        (e) => since.seq === undefined || e.seq > since.seq,
      );
      for (const ev of replay.slice(-REPLAY_MAX)) send(ev);
    }
    replaying = false;
    for (const ev of live) send(ev);
    res.write(': ready\n\n');
    const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    beat.unref();
    req.raw.on('close', () => {
      clearInterval(beat);
      unsubscribe();
    });
  });
}

function parseSince(v: string | undefined): { seq?: number; time?: number } | undefined {
  if (v === undefined) return undefined;
  if (/^\d{1,9}$/.test(v)) return { seq: Number(v) };
  const t = /^\d{10,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t))
    throw new InputError('querystring.since', `expected an audit seq, ISO time or epoch ms, got "${v}"`);
  return { time: t };
}
