import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ActionSchema } from '../../core/action.js';
import { InputError } from '../../core/errors.js';
import { type Gatehouse, parseAction } from '../../gatehouse.js';
import { grantView } from '../../policy/grants.js';
import { credentialsFrom } from '../auth.js';
import { type Operator, OperatorDirectory, requireOperator } from '../operators.js';

const actionJsonSchema = z.toJSONSchema(ActionSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
const GRANT_ID = { type: 'string', pattern: '^g-[0-9a-f]{16}$' } as const;
const AGENT = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.:@/-]+$' } as const;
const TOOLS = {
  type: 'array',
  minItems: 1,
  maxItems: 64,
  items: { type: 'string', pattern: '^[A-Za-z0-9_.:/*-]{1,128}$' },
} as const;
const RESOURCES = {
  type: 'array',
  minItems: 1,
  maxItems: 64,
  items: { type: 'string', minLength: 1, maxLength: 1024 },
} as const;
const grantParams = {
  type: 'object',
  required: ['id'],
  properties: { id: GRANT_ID },
  additionalProperties: false,
} as const;
const PARENT_ID = { type: 'string', pattern: '^(g-[0-9a-f]{16}|rule:[A-Za-z0-9_.:@/#-]{1,256})$' } as const;
const parentParams = {
  type: 'object',
  required: ['id'],
  properties: { id: PARENT_ID },
  additionalProperties: false,
} as const;
const scope = {
  tools: TOOLS,
  resources: RESOURCES,
  when: { type: 'string', minLength: 1, maxLength: 4096 },
  ttl_ms: { type: 'integer', minimum: 1000, maximum: 366 * 86_400_000 },
  delegable: { type: 'boolean' },
  max_depth: { type: 'integer', minimum: 0, maximum: 16 },
  reason: { type: 'string', maxLength: 1000 },
} as const;

/**
 * Policy over HTTP. Operators: `GET /v1/policy` (epoch, rules), `POST /v1/policy/explain`, `GET /v1/policy/tools/:agent`
 * (the tools an agent may see), `GET|POST /v1/grants`, `DELETE /v1/grants/:id` (cascading). Delegation,
 * `POST /v1/grants/:id/delegate` (`:id` a runtime grant `g-…` or a delegable configuration grant `rule:<id>`), is
 * open to operators and to the agent holding the grant (its own credentials).
 */
export default async function policyRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators?: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const operators = opts.operators ?? new OperatorDirectory(gh.store, () => gh.clock.now());
  const preHandler = requireOperator(operators);

  app.get('/v1/policy', { preHandler }, async () => {
    const p = gh.policy.policy;
    return {
      policyEpoch: gh.policyEpoch,
      rules: p.rules.length,
      roles: [...p.roles.values()].map((r) => ({ name: r.name, closure: r.closure })),
      tools: Object.keys(gh.config.tools),
    };
  });

  app.post('/v1/policy/explain', { preHandler, schema: { body: actionJsonSchema } }, async (req) => {
    const act = parseAction(req.body);
    const roles = gh.identity.registry.get(act.agent)?.roles ?? [];
    return gh.policy.evaluate(act, { agent: act.agent, roles: [...roles] }, [], false);
  });

  app.get(
    '/v1/policy/tools/:agent',
    {
      preHandler,
      schema: {
        params: { type: 'object', required: ['agent'], properties: { agent: AGENT }, additionalProperties: false },
      },
    },
    async (req) => {
      const { agent } = req.params as { agent: string };
      const roles = gh.identity.registry.get(agent)?.roles ?? [];
      return { agent, tools: gh.policy.visibleTools(agent, [...roles]), policyEpoch: gh.policyEpoch };
    },
  );

  app.get(
    '/v1/grants',
    {
      preHandler,
      schema: {
        querystring: {
          type: 'object',
          properties: { agent: AGENT, all: { type: 'string', enum: ['true', 'false'] } },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const q = req.query as { agent?: string; all?: string };
      const list = gh.policy.grants.list({
        ...(q.agent ? { agent: q.agent } : {}),
        ...(q.all === 'true' ? { all: true } : {}),
      });
      return { grants: list.map(grantView), policyEpoch: gh.policyEpoch };
    },
  );

  app.post(
    '/v1/grants',
    {
      preHandler,
      schema: {
        body: {
          type: 'object',
          required: ['agent', 'tools'],
          properties: { agent: AGENT, ...scope },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const b = req.body as {
        agent: string;
        tools: string[];
        resources?: string[];
        when?: string;
        ttl_ms?: number;
        delegable?: boolean;
        max_depth?: number;
        reason?: string;
      };
      const g = await gh.policy.grants.grant({
        agent: b.agent,
        tools: b.tools,
        ...(b.resources ? { resources: b.resources } : {}),
        ...(b.when ? { when: b.when } : {}),
        ...(b.ttl_ms ? { expiresAt: gh.clock.now() + b.ttl_ms } : {}),
        ...(b.delegable !== undefined ? { delegable: b.delegable } : {}),
        ...(b.max_depth !== undefined ? { maxDepth: b.max_depth } : {}),
        ...(b.reason ? { reason: b.reason } : {}),
        by: `operator:${req.operator!.name}`,
      });
      return reply.code(201).send({ ...grantView(g), policyEpoch: gh.policyEpoch });
    },
  );

  app.post(
    '/v1/grants/:id/delegate',
    {
      schema: {
        params: parentParams,
        body: {
          type: 'object',
          required: ['to'],
          properties: { to: AGENT, from: AGENT, ...scope },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const caller = await callerOf(req, reply);
      if (!caller) return reply;
      const { id } = req.params as { id: string };
      const b = req.body as {
        to: string;
        from?: string;
        tools?: string[];
        resources?: string[];
        when?: string;
        ttl_ms?: number;
        delegable?: boolean;
        max_depth?: number;
        reason?: string;
      };
      const g = await gh.policy.delegate({
        parent: id,
        to: b.to,
        ...(b.tools ? { tools: b.tools } : {}),
        ...(b.resources ? { resources: b.resources } : {}),
        ...(b.when ? { when: b.when } : {}),
        ...(b.ttl_ms ? { expiresAt: gh.clock.now() + b.ttl_ms } : {}),
        ...(b.delegable !== undefined ? { delegable: b.delegable } : {}),
        ...(b.max_depth !== undefined ? { maxDepth: b.max_depth } : {}),
        ...(b.reason ? { reason: b.reason } : {}),
        by: caller.actor,
        // An agent delegates as itself; an operator names the holder of a configuration grant with `from`.
        ...(caller.agent ? { byAgent: caller.agent } : b.from ? { byAgent: b.from } : {}),
      });
      return reply.code(201).send({ ...grantView(g), policyEpoch: gh.policyEpoch });
    },
  );

  app.delete(
    '/v1/grants/:id',
    {
      preHandler,
      schema: {
        params: grantParams,
        querystring: {
          type: 'object',
          properties: { reason: { type: 'string', maxLength: 1000 } },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const { reason } = req.query as { reason?: string };
      const revoked = await gh.policy.grants.revoke(id, `operator:${req.operator!.name}`, reason);
      return { revoked, policyEpoch: gh.policyEpoch };
    },
  );

  /** An operator token, or an agent's own credentials (then it may delegate only grants it holds). */
  async function callerOf(
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ actor: string; agent?: string } | undefined> {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer (ghop_\S+)$/.exec(h.trim()) : null;
    if (m) {
      const op: Operator | undefined = operators.authenticate(m[1]!);
      if (op) return { actor: `operator:${op.name}` };
    }
    const credentials = credentialsFrom(req, { clientCertHeader: gh.identity.config.client_cert_header });
    if (!credentials) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'auth.missing', message: 'present an operator token or agent credentials' });
      return undefined;
    }
    try {
      const p = await gh.identity.authenticateCaller(credentials, { method: 'POST /v1/grants/delegate' });
      return { actor: `agent:${p.agent}`, agent: p.agent };
    } catch (err) {
      if (err instanceof InputError) throw err;
      await reply
        .code(401)
        .send({ error: (err as { code?: string }).code ?? 'auth.invalid', message: (err as Error).message });
      return undefined;
    }
  }
}
