import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, InputError, NotFoundError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/**
 * Operators are the humans who administer Gatehouse over HTTP and the dashboard (approve requests, register agents,
 * read the audit log). Each has a random 256-bit bearer token `ghop_…`, shown once and stored only as its SHA-256.
 * Agents can never act as operators: agent tokens are JWTs and never start with `ghop_`.
 */
export interface Operator {
  name: string;
  createdAt: number;
}

const PREFIX = 'ghop_';
const NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

export class OperatorDirectory {
  /** The operators kept in `store`, whose table is migrated here. */
  static async open(store: Store, now: () => number): Promise<OperatorDirectory> {
    await store.migrate('operators', [
      {
        version: 1,
        name: 'operators',
        sql: `CREATE TABLE operators (
          name TEXT PRIMARY KEY,
          token_hash TEXT NOT NULL UNIQUE,
          created_at INTEGER NOT NULL,
          revoked_at INTEGER
        )`,
      },
    ]);
    return new OperatorDirectory(store, now);
  }

  private constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** Creates an operator and returns its token: the only time the token exists in clear. */
  async add(name: string): Promise<{ operator: Operator; token: string }> {
    if (!NAME_RE.test(name)) throw new InputError('name', 'operator names use 1-64 letters, digits and _ . @ -');
    if (await this.store.get('SELECT name FROM operators WHERE name = ? AND revoked_at IS NULL', [name])) {
      throw new GatehouseError('operator.exists', `operator ${name} exists; revoke it first to issue a new token`);
    }
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const createdAt = this.now();
    await this.store.run(
      `INSERT INTO operators (name, token_hash, created_at, revoked_at) VALUES (?, ?, ?, NULL)
       ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at, revoked_at = NULL`,
      [name, hashToken(token), createdAt],
    );
    return { operator: { name, createdAt }, token };
  }

  async list(): Promise<(Operator & { revoked: boolean })[]> {
    const rows = await this.store.all<{ name: string; created_at: number; revoked_at: number | null }>(
      'SELECT name, created_at, revoked_at FROM operators ORDER BY name',
    );
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at, revoked: r.revoked_at !== null }));
  }

  async revoke(name: string): Promise<void> {
    const r = await this.store.run('UPDATE operators SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL', [
      this.now(),
      name,
    ]);
    if (r.changes === 0) throw new NotFoundError(`active operator ${name}`);
  }

  /** The operator a token belongs to, or undefined. Constant-time on the hash comparison. */
  async authenticate(token: string): Promise<Operator | undefined> {
    if (!token.startsWith(PREFIX) || token.length > 128) return undefined;
    const h = hashToken(token);
    const row = await this.store.get<{ name: string; token_hash: string; created_at: number }>(
      'SELECT name, token_hash, created_at FROM operators WHERE token_hash = ? AND revoked_at IS NULL',
      [h],
    );
    if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(h))) return undefined;
    return { name: row.name, createdAt: row.created_at };
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

declare module 'fastify' {
  interface FastifyRequest {
    operator?: Operator;
  }
}

/**
 * A fastify preHandler for operator-only routes: 401 without a valid operator token. Use as
 * `app.get('/v1/x', { preHandler: requireOperator(directory) }, handler)`; the handler reads `req.operator`.
 */
export function requireOperator(directory: OperatorDirectory) {
  const guard = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer (\S+)$/.exec(h.trim()) : null;
    const op = m ? await directory.authenticate(m[1]!) : undefined;
    if (!op) {
      await reply.code(401).header('www-authenticate', 'Bearer realm="gatehouse-operator"').send({
        error: 'auth.operator_required',
        message: 'this route needs an operator token (gatehouse operators add NAME)',
      });
      return;
    }
    req.operator = op;
  };
  GUARDS.add(guard);
  return guard;
}

const GUARDS = new WeakSet<object>();

/** Whether a route's preHandler(s) include an operator guard: the OpenAPI document marks those routes. */
export function isOperatorGuard(preHandler: unknown): boolean {
  const list = Array.isArray(preHandler) ? preHandler : [preHandler];
  return list.some((h) => typeof h === 'function' && GUARDS.has(h));
}
