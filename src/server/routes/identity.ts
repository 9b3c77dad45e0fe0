import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../core/decision.js';
import { InputError, NotFoundError } from '../../core/errors.js';
import type { Gatehouse } from '../../gatehouse.js';
import { AGENT_STATUSES, type AgentRecord } from '../../identity/agents.js';
import { IdentityCodes, IdentityError } from '../../identity/errors.js';
import { KEY_ALGS } from '../../identity/keys.js';
import { type Identity, JWT_BEARER_ASSERTION, POP_GRANT, type TokenRequest } from '../../identity/service.js';
import { clientCertificate, credentialOptions, credentialsFrom } from '../auth.js';
import type { OperatorDirectory } from '../operators.js';
import { jsonSchema, read } from '../schema.js';

const AgentId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const PemOrJwk = z.string().min(1).max(16384);
const KeyAlg = z.enum(KEY_ALGS);
const IdParams = z.strictObject({ id: AgentId });

const TokenBody = z.strictObject({
  grant_type: z.string().max(128),
  client_assertion_type: z.string().max(128).optional(),
  client_assertion: z.string().max(8192).optional(),
  refresh_token: z.string().max(256).optional(),
  agent: AgentId.optional(),
  proof: z.string().max(8192).optional(),
  session: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z0-9_.:@/-]+$/)
    .optional(),
  client_id: z.string().max(256).optional(),
  scope: z.string().max(1024).optional(),
});
const RefreshBody = z.strictObject({ refresh_token: z.string().max(256) });
const RevokeBody = z.strictObject({
  token: z.string().min(1).max(8192),
  token_type_hint: z.enum(['access_token', 'refresh_token']).optional(),
});
const ChallengeBody = z.strictObject({ agent: AgentId.optional() });
const RegisterBody = z.strictObject({
  id: AgentId,
  roles: z.array(z.string().min(1).max(128)).max(64).optional(),
  description: z.string().max(500).optional(),
  public_key: PemOrJwk.optional(),
  generate_key: KeyAlg.optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
});
const StatusBody = z.strictObject({ status: z.enum(AGENT_STATUSES), reason: z.string().max(500).optional() });
const RotateBody = z.strictObject({ public_key: PemOrJwk.optional(), generate_key: KeyAlg.optional() });
const CertificateBody = z.strictObject({ renew: z.boolean().optional() });
const idParams = jsonSchema(IdParams);

/** Public view of an agent: never a private key. */
function agentView(identity: Identity, a: AgentRecord): Record<string, unknown> {
  return {
    id: a.id,
    status: identity.registry.effectiveStatus(a),
    statusReason: a.statusReason ?? null,
    roles: a.roles,
    description: a.description ?? null,
    source: a.source,
    spiffeId: identity.ca.spiffeId(a.id),
    key: a.key ? { alg: a.key.alg, jkt: a.key.jkt, origin: a.key.origin, publicKey: a.key.pem } : null,
    generation: a.generation,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
    rotatedAt: iso(a.rotatedAt),
    nextRotationAt: iso(a.nextRotationAt),
    expiresAt: iso(a.expiresAt),
  };
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * Identity endpoints: token issuance (RFC 6749 token endpoint with RFC 7523 `private_key_jwt`, client
 * certificates and proof of possession), refresh, revocation (RFC 7009), JWKS, proof-of-possession nonces,
 * the CA chain and CRL, and agent management (for agents holding the admin role).
 */
export default async function identityRoutes(
  app: FastifyInstance,
  opts: { gatehouse: Gatehouse; operators?: OperatorDirectory },
): Promise<void> {
  const gh = opts.gatehouse;
  const identity = gh.identity;
  const certOpts = credentialOptions(identity.config);

  // OAuth clients send the token endpoint a form; accept it alongside JSON (this plugin's routes only).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      if (k in out) {
        done(new InputError(`body.${k}`, 'parameter given more than once'), undefined);
        return;
      }
      out[k] = v;
    }
    done(null, out);
  });

  async function caller(req: FastifyRequest, method: string): Promise<Principal> {
    const credentials = credentialsFrom(req, certOpts);
    if (!credentials)
      throw new IdentityError(IdentityCodes.noCredentials, 'present an access token or a client certificate');
    return identity.authenticateCaller(credentials, { method });
  }

  /** Who is acting on the registry: an operator (`ghop_` token) or an agent; `admin` is true for operators and admin-role agents. */
  interface Authority {
    actor: string;
    admin: boolean;
    principal: Principal | undefined;
  }

  async function authority(req: FastifyRequest, method: string): Promise<Authority> {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer (ghop_[A-Za-z0-9_-]{1,120})$/.exec(h.trim()) : null;
    if (m) {
      const op = await opts.operators?.authenticate(m[1]!);
      if (!op) throw new IdentityError(IdentityCodes.noCredentials, 'operator token is not valid');
      return { actor: `operator:${op.name}`, admin: true, principal: undefined };
    }
    const p = await caller(req, method);
    return { actor: `agent:${p.agent}`, admin: p.roles.includes(identity.config.admin_role), principal: p };
  }

  function requireAdmin(a: Authority): void {
    if (!a.admin) {
      throw new IdentityError(
        IdentityCodes.forbidden,
        `${a.actor} is neither an operator nor an agent with role ${identity.config.admin_role}`,
      );
    }
  }

  async function admin(req: FastifyRequest, method: string): Promise<Authority> {
    const a = await authority(req, method);
    requireAdmin(a);
    return a;
  }

  function noStore(reply: FastifyReply): FastifyReply {
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  }

  app.get('/.well-known/jwks.json', async (_req, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(await identity.tokens.jwks());
  });

  app.get('/.well-known/oauth-authorization-server', async () => ({
    issuer: identity.issuer,
    token_endpoint: '/v1/token',
    revocation_endpoint: '/v1/token/revoke',
    jwks_uri: '/.well-known/jwks.json',
    grant_types_supported: ['client_credentials', 'refresh_token', POP_GRANT],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'tls_client_auth'],
    token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES384', 'PS256', 'RS256'],
  }));

  app.post('/v1/token', { schema: { body: jsonSchema(TokenBody) } }, async (req, reply) => {
    const body: TokenRequest = read(TokenBody, req.body, 'body');
    if (body.client_assertion !== undefined && body.client_assertion_type === undefined) {
      body.client_assertion_type = JWT_BEARER_ASSERTION;
    }
    const certificate = body.grant_type === 'client_credentials' ? clientCertificate(req, certOpts) : undefined;
    const r = await identity.grant(body, { ...(certificate ? { certificate } : {}), actor: 'gateway' });
    return noStore(reply).send(r);
  });

  app.post(
    '/v1/token/refresh',
    {
      schema: { body: jsonSchema(RefreshBody) },
    },
    async (req, reply) => {
      const { refresh_token } = read(RefreshBody, req.body, 'body');
      return noStore(reply).send(
        await identity.grant({ grant_type: 'refresh_token', refresh_token }, { actor: 'gateway' }),
      );
    },
  );

  app.post(
    '/v1/token/revoke',
    {
      schema: { body: jsonSchema(RevokeBody) },
    },
    async (req, reply) => {
      // RFC 7009: holding the token is the authority to revoke it, and the answer is 200 whether or not it was live.
      const { token } = read(RevokeBody, req.body, 'body');
      let revoked = false;
      if (token.startsWith('ghr_')) {
        revoked = await identity.tokens.revokeRefresh(token, 'revoked_by_holder', 'gateway');
      } else {
        try {
          const t = await identity.tokens.verify(token);
          revoked = await identity.tokens.revokeAccess(t.jti, 'revoked_by_holder', `agent:${t.agent}`);
        } catch (err) {
          if (!(err instanceof IdentityError)) throw err;
        }
      }
      return noStore(reply).send({ revoked });
    },
  );

  app.post(
    '/v1/challenge',
    {
      // A caller with a token needs no body at all.
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
      schema: { body: jsonSchema(ChallengeBody) },
    },
    async (req, reply) => {
      const credentials = credentialsFrom(req, certOpts);
      let agent = read(ChallengeBody, req.body, 'body').agent;
      if (credentials) agent = (await identity.authenticateCaller(credentials, { method: 'challenge' })).agent;
      if (!agent) throw new InputError('body.agent', 'is required without credentials');
      if (!identity.registry.get(agent)) throw new NotFoundError(`agent ${agent}`);
      const c = await identity.challenges.issue(agent, { anonymous: !credentials });
      return noStore(reply).send({ nonce: c.nonce, audience: c.audience, expires_at: c.expiresAt, agent });
    },
  );

  app.get('/v1/ca/chain', async (_req, reply) =>
    reply.type('application/pem-certificate-chain').send(identity.ca.chainPem()),
  );
  app.get('/v1/ca/crl', async (_req, reply) => reply.type('application/pkix-crl').send(await identity.ca.crlPem()));

  app.post(
    '/v1/agents',
    {
      schema: { body: jsonSchema(RegisterBody) },
    },
    async (req, reply) => {
      const p = await admin(req, 'agents:register');
      const b = read(RegisterBody, req.body, 'body');
      const r = await identity.register(
        {
          id: b.id,
          ...(b.roles ? { roles: b.roles } : {}),
          ...(b.description ? { description: b.description } : {}),
          ...(b.public_key ? { publicKey: b.public_key } : {}),
          ...(b.generate_key ? { generateKey: b.generate_key } : {}),
          ...(b.expires_at ? { expiresAt: Date.parse(b.expires_at) } : {}),
        },
        p.actor,
      );
      return noStore(reply)
        .code(201)
        .send({ agent: agentView(identity, r.agent), ...(r.privateKeyPem ? { private_key: r.privateKeyPem } : {}) });
    },
  );

  app.get('/v1/agents', async (req) => {
    await admin(req, 'agents:list');
    return { agents: (await identity.registry.list()).map((a: AgentRecord) => agentView(identity, a)) };
  });

  app.get('/v1/agents/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = read(IdParams, req.params, 'params');
    const p = await authority(req, 'agents:show');
    if (p.principal?.agent !== id) requireAdmin(p);
    const a = identity.registry.get(id);
    if (!a) throw new NotFoundError(`agent ${id}`);
    return { agent: agentView(identity, a), certificates: await identity.ca.certificatesOf(id) };
  });

  app.post(
    '/v1/agents/:id/status',
    {
      schema: {
        params: idParams,
        body: jsonSchema(StatusBody),
      },
    },
    async (req) => {
      const { id } = read(IdParams, req.params, 'params');
      const b = read(StatusBody, req.body, 'body');
      const p = await admin(req, 'agents:status');
      if (!identity.registry.get(id)) throw new NotFoundError(`agent ${id}`);
      const a = await identity.setStatus(id, b.status, { actor: p.actor, ...(b.reason ? { reason: b.reason } : {}) });
      return { agent: agentView(identity, a) };
    },
  );

  app.post(
    '/v1/agents/:id/rotate',
    {
      schema: {
        params: idParams,
        body: jsonSchema(RotateBody),
      },
    },
    async (req, reply) => {
      const { id } = read(IdParams, req.params, 'params');
      const b = read(RotateBody, req.body, 'body');
      const p = await authority(req, 'agents:rotate');
      // An agent may rotate its own key only with a fresh proof signed by its current key: a stolen token is not enough.
      const self = p.principal?.agent === id && p.principal.proofOfPossession === true;
      if (!self) requireAdmin(p);
      if (!identity.registry.get(id)) throw new NotFoundError(`agent ${id}`);
      const r = await identity.rotate(
        id,
        {
          ...(b.public_key ? { publicKey: b.public_key } : {}),
          ...(b.generate_key ? { generateKey: b.generate_key } : {}),
        },
        p.actor,
      );
      return noStore(reply).send({
        agent: agentView(identity, r.agent),
        ...(r.privateKeyPem ? { private_key: r.privateKeyPem } : {}),
      });
    },
  );

  app.post(
    '/v1/agents/:id/certificate',
    {
      schema: {
        params: idParams,
        body: jsonSchema(CertificateBody),
      },
    },
    async (req) => {
      const { id } = read(IdParams, req.params, 'params');
      const p = await authority(req, 'agents:certificate');
      if (p.principal?.agent !== id) requireAdmin(p);
      const renew = read(CertificateBody, req.body, 'body').renew === true;
      const c = await identity.certificate(id, p.actor, { renew });
      return {
        serial: c.serial,
        spiffe_id: c.spiffeId,
        certificate: c.pem,
        chain: c.chainPem,
        not_before: iso(c.notBefore),
        not_after: iso(c.notAfter),
        renew_at: iso(c.renewAt),
      };
    },
  );
}
