import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ActionSchema } from '../../core/action.js';
import { InputError } from '../../core/errors.js';
import { type Gatehouse, parseAction } from '../../gatehouse.js';
import { grantView } from '../../policy/grants.js';
import { credentialOptions, credentialsFrom } from '../auth.js';
import { type Operator, OperatorDirectory, requireOperator } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const actionJsonSchema = jsonSchema(ActionSchema);
const Agent = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.:@/-]+$/);
/** What a grant or a delegation may carry besides who gets it. */
const Scope = {
  resources: z.array(z.string().min(1).max(1024)).min(1).max(64).optional(),
  when: z.string().min(1).max(4096).optional(),
  ttl_ms: z
    .number()
    .int()
    .min(1000)
    .max(366 * 86_400_000)
    .optional(),
  delegable: z.boolean().optional(),
  max_depth: z.number().int().min(0).max(16).optional(),
  reason: z.string().max(1000).optional(),
};
const Tools = z
  .array(z.string().regex(/^[A-Za-z0-9_.:/*-]{1,128}$/))
  .min(1)
  .max(64);
const GrantParams = z.strictObject({ id: z.string().regex(/^g-[0-9a-f]{16}$/) });
const ParentParams = z.strictObject({ id: z.string().regex(/^(g-[0-9a-f]{16}|rule:[A-Za-z0-9_.:@/#-]{1,256})$/) });
const AgentParams = z.strictObject({ agent: Agent });
const GrantsQuery = z.strictObject({ agent: Agent.optional(), all: z.enum(['true', 'false']).optional() });
const GrantBody = z.strictObject({ agent: Agent, tools: Tools, ...Scope });
const DelegateBody = z.strictObject({ to: Agent, from: Agent.optional(), tools: Tools.optional(), ...Scope });
const RevokeQuery = z.strictObject({ reason: z.string().max(1000).optional() });

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
  const certOpts = credentialOptions(gh.config.identity);
  const operators = opts.operators ?? (await OperatorDirectory.open(gh.store, () => gh.clock.now()));
  const preHandler = requireOperator(operators);

  app.get('/v1/policy', { preHandler }, async () => {
    const p = await gh.policy.compiled();
    return {
      policyEpoch: await gh.currentPolicyEpoch(),
      rules: p.rules.length,
      roles: [...p.roles.values()].map((r) => ({ name: r.name, closure: r.closure })),
      tools: Object.keys(gh.config.tools),
    };
  });

  app.post('/v1/policy/explain', { preHandler, schema: { body: actionJsonSchema } }, async (req) => {
    const act = parseAction(req.body);
    const roles = gh.identity.registry.get(act.agent)?.roles ?? [];
    // The policy engine's detail (rules, arguments, limits), and the whole pipeline's judgement with commit off:
    // the same stages and fold as `decide`, so `decision` is what a real call would get (nothing is charged).
    const detail = await gh.policy.evaluate(act, { agent: act.agent, roles: [...roles] }, []);
    return { ...detail, decision: await gh.explain(act) };
  });

  app.get(
    '/v1/policy/tools/:agent',
    {
      preHandler,
      schema: {
        params: jsonSchema(AgentParams),
      },
    },
    async (req) => {
      const { agent } = read(AgentParams, req.params, 'params');
      const roles = gh.identity.registry.get(agent)?.roles ?? [];
      return {
        agent,
        tools: await gh.policy.visibleTools(agent, [...roles]),
        policyEpoch: await gh.currentPolicyEpoch(),
      };
    },
  );

  app.get(
    '/v1/grants',
    {
      preHandler,
      schema: {
        querystring: jsonSchema(GrantsQuery),
      },
    },
    async (req) => {
      const q = read(GrantsQuery, req.query, 'query');
      const list = await gh.policy.grants.list({
        ...(q.agent ? { agent: q.agent } : {}),
        ...(q.all === 'true' ? { all: true } : {}),
      });
      return { grants: list.map(grantView), policyEpoch: await gh.currentPolicyEpoch() };
    },
  );

  app.post(
    '/v1/grants',
    {
      preHandler,
      schema: {
        body: jsonSchema(GrantBody),
      },
    },
    async (req, reply) => {
      const b = read(GrantBody, req.body, 'body');
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
      return reply.code(201).send({ ...grantView(g), policyEpoch: await gh.currentPolicyEpoch() });
    },
  );

  app.post(
    '/v1/grants/:id/delegate',
    {
      schema: {
        params: jsonSchema(ParentParams),
        body: jsonSchema(DelegateBody),
      },
    },
    async (req, reply) => {
      const caller = await callerOf(req, reply);
      if (!caller) return reply;
      const { id } = read(ParentParams, req.params, 'params');
      const b = read(DelegateBody, req.body, 'body');
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
      return reply.code(201).send({ ...grantView(g), policyEpoch: await gh.currentPolicyEpoch() });
    },
  );

  app.delete(
    '/v1/grants/:id',
    {
      preHandler,
      schema: {
        params: jsonSchema(GrantParams),
        querystring: jsonSchema(RevokeQuery),
      },
    },
    async (req) => {
      const { id } = read(GrantParams, req.params, 'params');
      const { reason } = read(RevokeQuery, req.query, 'query');
      const revoked = await gh.policy.grants.revoke(id, `operator:${req.operator!.name}`, reason);
      return { revoked, policyEpoch: await gh.currentPolicyEpoch() };
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
      const op: Operator | undefined = await operators.authenticate(m[1]!);
      if (op) return { actor: `operator:${op.name}` };
    }
    const credentials = credentialsFrom(req, certOpts);
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
