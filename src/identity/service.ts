import { generateKeyPairSync } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { IdentityConfig } from '../config/sections/identity.js';
import type { Action } from '../core/action.js';
import type { AuditSink } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { Principal } from '../core/decision.js';
import type { MasterKey } from '../core/masterkey.js';
import type { Credentials } from '../core/pipeline.js';
import type { Keyring } from '../store/keyring.js';
import type { Store } from '../store/store.js';
import {
  type Actor,
  type AgentRecord,
  AgentRegistry,
  type AgentStatus,
  type RegisterInput,
  type RegisterResult,
} from './agents.js';
import { CertificateAuthority, type IssuedCertificate } from './ca.js';
import { ChallengeService, popMethod } from './challenge.js';
import { IdentityCodes, IdentityError } from './errors.js';
import { ChangeFeed } from './feed.js';
import type { KeyAlg } from './keys.js';
import { RevocationList } from './revocation.js';
import { IDENTITY_MIGRATIONS } from './schema.js';
import { assertActive } from './status.js';
import { type TokenResponse, TokenService } from './tokens.js';

export interface IdentityDeps {
  /** The whole configuration or just its `identity` section. */
  config: Config | IdentityConfig;
  store: Store;
  keyring: Keyring;
  master: MasterKey;
  audit: AuditSink;
  clock: Clock;
}

/** A token request as the token endpoint receives it (RFC 6749 names). */
export interface TokenRequest {
  grant_type: string;
  client_assertion_type?: string;
  client_assertion?: string;
  refresh_token?: string;
  /** Proof-of-possession grant: the agent and its proof over a nonce from the challenge endpoint. */
  agent?: string;
  proof?: string;
  /** Bind the access token to this session id. */
  session?: string;
}

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const POP_GRANT = 'urn:gatehouse:params:grant-type:proof-of-possession';

/**
 * Agent identity: the registry, keys, CA and certificates, tokens, revocation and proof of possession,
 * behind one object that the authenticate stage and the CLI and HTTP surfaces use.
 *
 * @example
 * const identity = await Identity.open({ config, store, keyring, master, audit, clock });
 * const { privateKeyPem } = await identity.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
 * const tokens = await identity.issueToken('mailer', { actor: 'host' });
 * const principal = await identity.authenticate({ kind: 'bearer', token: tokens.access_token }, action);
 */
export class Identity {
  readonly config: IdentityConfig;
  readonly registry: AgentRegistry;
  readonly revocations: RevocationList;
  readonly tokens: TokenService;
  readonly ca: CertificateAuthority;
  readonly challenges: ChallengeService;
  readonly issuer: string;
  private readonly feed: ChangeFeed;

  private constructor(deps: IdentityDeps, c: IdentityConfig) {
    this.config = c;
    this.issuer = c.issuer ?? `spiffe://${c.trust_domain}`;
    this.feed = new ChangeFeed(deps.store, c.sync_interval);
    this.registry = new AgentRegistry(deps.store, deps.master, deps.clock, deps.audit, this.feed, c.agent_key_rotation);
    this.revocations = new RevocationList(deps.store, deps.clock, this.feed, c.clock_skew);
    this.ca = new CertificateAuthority(deps.store, deps.keyring, deps.clock, deps.audit, this.feed, {
      trustDomain: c.trust_domain,
      keyAlgorithm: c.ca.key_algorithm,
      rootLifetimeMs: c.ca.root_lifetime,
      intermediateLifetimeMs: c.ca.intermediate_lifetime,
      leafLifetimeMs: c.ca.leaf_lifetime,
      crlLifetimeMs: c.ca.crl_lifetime,
    });
    this.tokens = new TokenService(deps.store, deps.keyring, deps.clock, deps.audit, this.registry, this.revocations, {
      issuer: this.issuer,
      audience: c.audience,
      trustDomain: c.trust_domain,
      accessTtlMs: c.access_token_ttl,
      refreshTtlMs: c.refresh_token_ttl,
      refreshFamilyTtlMs: c.refresh_family_ttl,
      skewMs: c.clock_skew,
      algorithms: c.token_algorithms,
      signingKeyAlgorithm: c.signing_key_algorithm,
      rotationMs: c.signing_key_rotation,
      overlapMs: c.signing_key_overlap,
      cacheSize: c.token_cache_size,
      refreshReuse: c.refresh_reuse,
      assertionMaxAgeMs: c.assertion_max_age,
    });
    this.challenges = new ChallengeService(deps.store, this.registry, deps.clock, {
      ttlMs: c.nonce_ttl,
      skewMs: c.clock_skew,
      maxPerAgent: c.max_nonces_per_agent,
      audience: c.audience,
    });
  }

  /**
   * Migrates the identity tables, loads the registry and brings in the agents the configuration declares, and
   * starts following other processes' changes (`close` stops it).
   * Does not create keys: `init` (or `initIdentity`) does, so opening a store never writes key material.
   */
  static async open(deps: IdentityDeps): Promise<Identity> {
    const c = 'identity' in deps.config ? deps.config.identity : deps.config;
    await deps.store.migrate('identity', IDENTITY_MIGRATIONS);
    const identity = new Identity(deps, c);
    await identity.feed.sync();
    identity.feed.start();
    try {
      await identity.registry.syncConfigured(identity.config.agents);
    } catch (err) {
      await identity.close();
      throw err;
    }
    return identity;
  }

  /**
   * Catches up with every identity change committed so far (by any process). Reads between syncs see changes
   * of other processes within `identity.sync_interval`.
   */
  sync(): Promise<void> {
    return this.feed.sync();
  }

  /** Whether the in-memory identity state is caught up; hot reads fail closed while it is not. */
  health(): { ok: boolean; error?: string } {
    return this.feed.health();
  }

  /** Stops following other processes' changes. */
  close(): Promise<void> {
    return this.feed.stop();
  }

  /**
   * Creates the token signing key and the CA (root and intermediate), and renews the intermediate once it is
   * past half its life. Idempotent: `gatehouse init` runs it, and so may every start.
   */
  async init(
    actor: Actor = 'host',
  ): Promise<{ signingKid: string; createdRoot: boolean; createdIntermediate: boolean }> {
    const signing = await this.tokens.ensureSigningKey();
    const ca = await this.ca.init(actor);
    return { signingKid: signing.kid, ...ca };
  }

  get audience(): string {
    return this.config.audience;
  }

  register(input: RegisterInput, actor: Actor): Promise<RegisterResult> {
    return this.registry.register(input, actor);
  }

  /**
   * Changes an agent's status. Leaving `active` kills its tokens (generation bump) and refresh families;
   * `revoked` and `compromised` also revoke its certificates.
   */
  async setStatus(id: string, status: AgentStatus, opts: { actor: Actor; reason?: string }): Promise<AgentRecord> {
    const agent = await this.registry.setStatus(id, status, opts);
    if (status !== 'active') await this.tokens.revokeAgentFamilies(id, `agent_${status}`, opts.actor);
    if (status === 'revoked' || status === 'compromised') await this.ca.revokeAgent(id, `agent_${status}`, opts.actor);
    return agent;
  }

  /** Gives the agent a new key (its own public key, or a generated pair returned once) and retires the old one. */
  async rotate(
    id: string,
    input: { publicKey?: string; generateKey?: KeyAlg },
    actor: Actor,
  ): Promise<RegisterResult & { previousJkt: string | undefined }> {
    const r = await this.registry.rotateKey(id, input, actor);
    await this.tokens.revokeAgentFamilies(id, 'key_rotated', actor);
    await this.ca.revokeAgent(id, 'superseded', actor);
    return r;
  }

  /** The agent's current certificate, issuing a new one if there is none or the current one is past half-life. */
  async certificate(id: string, actor: Actor, opts: { renew?: boolean } = {}): Promise<IssuedCertificate> {
    const agent = this.registry.require(id);
    assertActive(agent, this.registry.effectiveStatus(agent));
    if (!opts.renew) {
      const current = await this.ca.currentLeaf(agent);
      if (current) return current;
    }
    return this.ca.issue(agent, this.registry.publicKey(agent)!, actor);
  }

  /**
   * TLS options for the gateway's HTTPS listener: a fresh in-memory key (never written anywhere) and a server
   * certificate from this CA, and a request for client certificates that Gatehouse then verifies itself (so an
   * agent without one can still use a bearer token).
   *
   * @example
   * const app = Fastify({ https: await gh.identity.serverTls({ dns: ['gatehouse.internal'] }) });
   */
  async serverTls(
    names: { dns?: readonly string[]; ips?: readonly string[] } = {},
    opts: { lifetimeMs?: number; actor?: Actor } = {},
  ): Promise<{
    key: string;
    cert: string;
    ca: string;
    requestCert: true;
    rejectUnauthorized: false;
    notAfter: number;
  }> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const issued = await this.ca.issueServer(
      { dns: names.dns ?? ['localhost'], ips: names.ips ?? ['127.0.0.1', '::1'] },
      publicKey,
      opts.lifetimeMs ?? 7 * 86_400_000,
      opts.actor ?? 'gateway',
    );
    return {
      key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      cert: issued.chainPem,
      ca: this.ca.chainPem(),
      requestCert: true,
      rejectUnauthorized: false,
      notAfter: issued.notAfter,
    };
  }

  /** Host authority: a token for an agent without a proof from the agent (the CLI `token issue`). */
  async issueToken(id: string, opts: { actor: Actor; session?: string; refresh?: boolean }): Promise<TokenResponse> {
    const agent = this.registry.require(id);
    return this.tokens.issue(agent, { method: 'host', ...opts });
  }

  /**
   * The token endpoint: `client_credentials` with a `private_key_jwt` assertion (RFC 7523) or a verified client
   * certificate, the proof-of-possession grant, or `refresh_token`. No static shared secrets exist.
   */
  async grant(req: TokenRequest, opts: { certificate?: string; actor?: Actor } = {}): Promise<TokenResponse> {
    try {
      return await this.grantUnaudited(req, opts);
    } catch (err) {
      if (err instanceof IdentityError) {
        const agent = req.agent && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(req.agent) ? req.agent : undefined;
        await this.tokens.recordFailure(err, agent, opts.actor ?? 'gateway');
      }
      throw err;
    }
  }

  private async grantUnaudited(
    req: TokenRequest,
    opts: { certificate?: string; actor?: Actor },
  ): Promise<TokenResponse> {
    const actor = opts.actor ?? 'gateway';
    const session = req.session;
    switch (req.grant_type) {
      case 'refresh_token': {
        if (!req.refresh_token) throw new IdentityError(IdentityCodes.refreshInvalid, 'refresh_token is required');
        return this.tokens.refresh(req.refresh_token, actor);
      }
      case 'client_credentials': {
        if (req.client_assertion !== undefined) {
          if (req.client_assertion_type !== JWT_BEARER_ASSERTION) {
            throw new IdentityError(
              IdentityCodes.assertionInvalid,
              `client_assertion_type must be ${JWT_BEARER_ASSERTION}`,
            );
          }
          const agent = await this.tokens.verifyAssertion(req.client_assertion, actor);
          return this.tokens.issue(agent, {
            method: 'assertion',
            actor: `agent:${agent.id}`,
            ...(session ? { session } : {}),
          });
        }
        if (opts.certificate !== undefined) {
          const agent = this.verifyCertificate(opts.certificate);
          return this.tokens.issue(agent, {
            method: 'certificate',
            actor: `agent:${agent.id}`,
            ...(session ? { session } : {}),
          });
        }
        throw new IdentityError(
          IdentityCodes.noCredentials,
          'client_credentials needs a client_assertion or a client certificate',
        );
      }
      case POP_GRANT: {
        if (!req.agent || !req.proof)
          throw new IdentityError(IdentityCodes.noCredentials, 'agent and proof are required');
        const agent = this.registry.get(req.agent);
        if (!agent) throw new IdentityError(IdentityCodes.agentUnknown, `agent ${req.agent} is not registered`);
        assertActive(agent, this.registry.effectiveStatus(agent));
        await this.challenges.verify(req.proof, { agent, method: 'token' });
        return this.tokens.issue(agent, { method: 'pop', actor: `agent:${agent.id}`, ...(session ? { session } : {}) });
      }
      default:
        throw new IdentityError(
          IdentityCodes.noCredentials,
          `unsupported grant_type ${String(req.grant_type).slice(0, 80)}`,
        );
    }
  }

  /** Verifies a client certificate and the agent it names (active, and the certificate's key is its current key). */
  verifyCertificate(pem: string): AgentRecord {
    const id = this.ca.verify(pem);
    const agent = this.registry.get(id.agent);
    if (!agent) throw new IdentityError(IdentityCodes.agentUnknown, `agent ${id.agent} is not registered`);
    assertActive(agent, this.registry.effectiveStatus(agent));
    const key = this.registry.publicKey(agent);
    if (!key?.export({ format: 'der', type: 'spki' }).equals(id.spki)) {
      throw new IdentityError(IdentityCodes.certRevoked, 'certificate is for a key the agent no longer has');
    }
    return agent;
  }

  /**
   * Who a remote caller is, from its token or certificate, without an action to match (the identity and admin
   * endpoints). A proof, when present, must be for `method`. Throws an IdentityError with the reason code.
   */
  async authenticateCaller(
    credentials: Credentials,
    opts: { method: string },
  ): Promise<Principal & { session?: string | undefined }> {
    if (credentials.kind === 'bearer') {
      const t = await this.tokens.verify(credentials.token);
      const agent = this.registry.require(t.agent);
      let pop = false;
      if (credentials.proof !== undefined) {
        await this.challenges.verify(credentials.proof, { agent, method: opts.method, accessToken: credentials.token });
        pop = true;
      }
      return {
        agent: agent.id,
        roles: [...agent.roles],
        method: 'token',
        tokenId: t.jti,
        generation: t.generation,
        proofOfPossession: pop,
        session: t.session,
      };
    }
    if (credentials.kind === 'certificate') {
      const agent = this.verifyCertificate(credentials.pem);
      return { agent: agent.id, roles: [...agent.roles], method: 'certificate', generation: agent.generation };
    }
    throw new IdentityError(IdentityCodes.noCredentials, 'present an access token or a client certificate');
  }

  /**
   * Establishes who is acting. Host credentials act for the agent named in the action (which must exist and be
   * active, unless `unregistered_agents: allow`); a token or certificate must name that same agent.
   * Throws an IdentityError with the reason code of the failure.
   */
  async authenticate(credentials: Credentials, action: Action): Promise<Principal> {
    switch (credentials.kind) {
      case 'host': {
        const agent = this.registry.get(action.agent);
        if (!agent) {
          if (this.config.unregistered_agents === 'allow') return { agent: action.agent, roles: [], method: 'host' };
          throw new IdentityError(
            IdentityCodes.agentUnknown,
            `agent ${action.agent} is not registered (register it, or declare it under identity.agents)`,
          );
        }
        assertActive(agent, this.registry.effectiveStatus(agent));
        return { agent: agent.id, roles: [...agent.roles], method: 'host', generation: agent.generation };
      }
      case 'bearer':
      case 'certificate': {
        const p = await this.authenticateCaller(credentials, { method: popMethod(action) });
        if (p.agent !== action.agent) {
          throw new IdentityError(
            IdentityCodes.tokenSubjectMismatch,
            `${credentials.kind === 'bearer' ? 'token' : 'certificate'} is for agent ${p.agent}, not ${action.agent}`,
          );
        }
        if (p.session !== undefined && p.session !== action.session) {
          throw new IdentityError(
            IdentityCodes.tokenSessionMismatch,
            `token is bound to another session than ${action.session}`,
          );
        }
        const { session: _bound, ...principal } = p;
        return principal;
      }
      default:
        throw new IdentityError(IdentityCodes.noCredentials, 'no usable credentials');
    }
  }
}

/**
 * What `gatehouse init` calls: opens the identity component and creates its keys and CA. Idempotent.
 *
 * @example
 * await initIdentity({ config, store, keyring, master, audit, clock });
 */
export async function initIdentity(deps: IdentityDeps): Promise<Identity> {
  const identity = await Identity.open(deps);
  await identity.init('host');
  return identity;
}
