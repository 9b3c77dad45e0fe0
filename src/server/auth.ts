import type { FastifyRequest } from 'fastify';
import type { Credentials } from '../core/pipeline.js';

/**
 * What an HTTP caller presents: `Authorization: Bearer <token>` (with an optional `Gatehouse-PoP` proof).
 * No credentials at all is undefined: the route answers 401, it never falls back to host authority.
 */
export function credentialsFrom(req: FastifyRequest): Credentials | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/.exec(h.trim());
  if (!m) return undefined;
  const proof = req.headers['gatehouse-pop'];
  return { kind: 'bearer', token: m[1]!, ...(typeof proof === 'string' ? { proof } : {}) };
}
