import { readFileSync } from 'node:fs';
import type { AuditEvent } from './event.js';
import { forEachLine, listSegments } from './segments.js';

export interface AuditQuery {
  agent?: string;
  type?: string;
  session?: string;
  /** ISO time or epoch ms, inclusive. */
  since?: number;
  until?: number;
  limit?: number;
}

/** Events matching the query, oldest first. `type` matches exactly or as a dotted prefix (`identity` matches `identity.token_issued`). */
export function queryLog(dir: string, q: AuditQuery = {}): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const seg of listSegments(dir)) {
    const buf = readFileSync(seg.file);
    forEachLine(buf, (a, b, terminated) => {
      if (!terminated) return false;
      let ev: AuditEvent;
      try {
        ev = JSON.parse(buf.toString('utf8', a, b)) as AuditEvent;
      } catch {
        return true;
      }
      if (matches(ev, q)) out.push(ev);
      return true;
    });
  }
  return q.limit !== undefined ? out.slice(-q.limit) : out;
}

/** The last `n` events. */
export function tailLog(dir: string, n: number): AuditEvent[] {
  return queryLog(dir, { limit: n });
}

function matches(ev: AuditEvent, q: AuditQuery): boolean {
  if (q.agent !== undefined && ev.agent !== q.agent) return false;
  if (q.session !== undefined && ev.session !== q.session) return false;
  if (q.type !== undefined && ev.type !== q.type && !ev.type.startsWith(`${q.type}.`)) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = Date.parse(ev.ts);
    if (q.since !== undefined && t < q.since) return false;
    if (q.until !== undefined && t > q.until) return false;
  }
  return true;
}
