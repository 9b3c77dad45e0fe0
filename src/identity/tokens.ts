import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors, exportJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { AuditSink } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { KeyPairRecord, Keyring } from '../store/keyring.js';
import type { Store } from '../store/store.js';
import type { AgentRecord, AgentRegistry } from './agents.js';
import { type IdentityCode, IdentityCodes, IdentityError } from './errors.js';
import { verifyCompactJws } from './jws.js';
import { jwsAlgorithmsFor } from './keys.js';
import type { RevocationList } from './revocation.js';
import { assertActive } from './status.js';

const SIGNING_PURPOSE = 'token-signing';
const MAX_TOKEN_LENGTH = 8192;
/** Compact JWS: three base64url parts. Character classes exclude '.', so matching is linear. */
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,2048}$/;
const REFRESH_PREFIX = 'ghr_';
const REFRESH_RE = /^ghr_[A-Za-z0-9_-]{43}$/;

export interface TokenOptions {
  issuer: string;
  audience: string;
  trustDomain: string;
  accessTtlMs: number;
  refreshTtlMs: number;
  refreshFamilyTtlMs: number;
  skewMs: number;
  algorithms: readonly ('EdDSA' | 'ES384')[];
  signingKeyAlgorithm: 'Ed25519' | 'P-384';
  rotationMs: number;
  overlapMs: number;
  cacheSize: number;
  refreshReuse: 'compromise' | 'revoke_family';
  assertionMaxAgeMs: number;
}

/** How the agent proved who it is when it got the token. */
export type IssueMethod = 'assertion' | 'certificate' | 'pop' | 'host' | 'refresh';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  refresh_token?: string;
  jti: string;
  /** Milliseconds since the epoch. */
  expires_at: number;
}

/** What a valid access token establishes. */
export interface VerifiedToken {
  jti: string;
  agent: string;
  generation: number;
  /** Seconds since the epoch, as in the token. */
  exp: number;
  iat: number;
  /** RFC 7638 thumbprint of the key the token is bound to. */
  jkt: string;
  /** Session the token is bound to, if any. */
  session: string | undefined;
  kid: string;
}

interface CacheEntry {
  token: VerifiedToken;
  /** exp in ms plus the tolerated skew. */
  deadline: number;
}

interface RefreshRow {
  hash: string;
  family: string;
  expires_at: number;
  used_at: number | null;
  agent: string;
  session: string | null;
  jkt: string | null;
  family_expires_at: number;
  revoked_at: number | null;
}

/**
 * Access and refresh tokens. Access tokens are RFC 9068 `at+jwt` JWTs signed with the rotating token key
 * (EdDSA by default) and bound to the agent's key (`cnf.jkt`); refresh tokens are opaque 256-bit values
 * stored only as SHA-256, single use, rotated on every refresh, and a reused one revokes its whole family.
 *
 * Validation order: cache of verified tokens (keyed by SHA-256 of the token) → signature, algorithm
 * allowlist, `typ`, `iss`, `aud`, `exp`/`nbf` with bounded skew → agent exists and is active → `jti`
 * deny-list → generation. Every failure throws an IdentityError with its own reason code.
 */
export class TokenService {
  private readonly cache = new Map<string, CacheEntry>();
  private verifyKeys = new Map<string, KeyObject>();
  private keysLoadedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
    private readonly clock: Clock,
    private readonly audit: AuditSink,
    private readonly registry: AgentRegistry,
    private readonly revocations: RevocationList,
    private readonly opts: TokenOptions,
  ) {}

  get options(): Readonly<TokenOptions> {
    return this.opts;
  }

  /** Creates the signing key if there is none (idempotent). */
  ensureSigningKey(): Promise<KeyPairRecord> {
    return this.keyring.ensure(SIGNING_PURPOSE, this.opts.signingKeyAlgorithm);
  }

  /** Rotates the signing key; the old key keeps verifying (and stays in the JWKS) for the overlap. */
  async rotateSigningKey(actor: string): Promise<KeyPairRecord> {
    const old = await this.keyring.active(SIGNING_PURPOSE);
    const rec = await this.keyring.rotate(SIGNING_PURPOSE, this.opts.signingKeyAlgorithm);
    this.keysLoadedAt = Number.NEGATIVE_INFINITY;
    await this.audit.append(
      { type: 'identity.signing_key_rotated', actor, data: { kid: rec.kid, previous: old?.kid ?? null } },
      { durable: true },
    );
    return rec;
  }

  /** Public keys that verify Gatehouse tokens, as a JWKS (RFC 7517). */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys = await this.keyring.verificationKeys(SIGNING_PURPOSE, this.opts.overlapMs);
    return {
      keys: await Promise.all(
        keys.map(async (k) => ({
          ...(await exportJWK(k.publicKey)),
          kid: k.kid,
          use: 'sig',
          alg: k.alg === 'Ed25519' ? 'EdDSA' : 'ES384',
        })),
      ),
    };
  }

  /**
   * Issues an access token (and by default a new refresh family) to an active agent with a key. The caller
   * has already established who the agent is (assertion, certificate, proof of possession, or host authority).
   */
  async issue(
    agent: AgentRecord,
    opts: { method: IssueMethod; actor: string; session?: string; refresh?: boolean },
  ): Promise<TokenResponse> {
    assertActive(agent, this.registry.effectiveStatus(agent));
    if (!agent.key)
      throw new IdentityError(IdentityCodes.agentNoKey, `agent ${agent.id} has no key to bind a token to`);
    const now = this.clock.now();
    let refreshToken: string | undefined;
    let family: string | undefined;
    if (opts.refresh ?? true) {
      const fam = randomBytes(16).toString('base64url');
      const token = newRefreshToken();
      const famExp = now + this.opts.refreshFamilyTtlMs;
      const jkt = agent.key.jkt;
      await this.store.transaction(async () => {
        await this.store.run(
          'INSERT INTO identity_refresh_families (family, agent, session, jkt, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
          [fam, agent.id, opts.session ?? null, jkt, now, famExp],
        );
        await this.store.run(
          'INSERT INTO identity_refresh_tokens (hash, family, created_at, expires_at) VALUES (?, ?, ?, ?)',
          [hashRefresh(token), fam, now, Math.min(now + this.opts.refreshTtlMs, famExp)],
        );
      });
      family = fam;
      refreshToken = token;
    }
    const access = await this.signAccess(agent, opts.method, opts.session, family);
    await this.audit.append(
      {
        type: 'identity.token_issued',
        agent: agent.id,
        actor: opts.actor,
        ...(opts.session ? { session: opts.session } : {}),
        data: {
          jti: access.jti,
          method: opts.method,
          exp: access.expiresAt,
          generation: agent.generation,
          family: family ?? null,
        },
      },
      { durable: true },
    );
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: Math.round(this.opts.accessTtlMs / 1000),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      jti: access.jti,
      expires_at: access.expiresAt,
    };
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token. The presented one is spent.
   * Presenting a spent one again is treated as theft: the family dies, its access tokens are deny-listed, and
   * (by default) the agent is marked compromised.
   */
  async refresh(refreshToken: string, actor: string): Promise<TokenResponse> {
    if (typeof refreshToken !== 'string' || !REFRESH_RE.test(refreshToken)) {
      await this.fail(IdentityCodes.refreshInvalid, 'refresh token is malformed', undefined, actor);
    }
    const hash = hashRefresh(refreshToken);
    const row = await this.store.get<RefreshRow>(
      `SELECT t.hash, t.family, t.expires_at, t.used_at, f.agent, f.session, f.jkt, f.expires_at AS family_expires_at, f.revoked_at
       FROM identity_refresh_tokens t JOIN identity_refresh_families f ON f.family = t.family WHERE t.hash = ?`,
      [hash],
    );
    if (!row) return this.fail(IdentityCodes.refreshInvalid, 'refresh token is not known', undefined, actor);
    const now = this.clock.now();
    if (row.revoked_at !== null) {
      return this.fail(IdentityCodes.refreshRevoked, 'refresh token family is revoked', row.agent, actor, {
        family: row.family,
      });
    }
    if (row.used_at !== null) {
      await this.handleReuse(row, actor);
      return this.fail(
        IdentityCodes.refreshReused,
        'refresh token was already used; its family is revoked',
        row.agent,
        actor,
        {
          family: row.family,
        },
      );
    }
    if (row.expires_at <= now || row.family_expires_at <= now) {
      return this.fail(IdentityCodes.refreshExpired, 'refresh token has expired', row.agent, actor, {
        family: row.family,
      });
    }
    const agent = this.registry.get(row.agent);
    if (!agent) return this.fail(IdentityCodes.agentUnknown, `agent ${row.agent} is not registered`, row.agent, actor);
    try {
      assertActive(agent, this.registry.effectiveStatus(agent));
    } catch (err) {
      if (err instanceof IdentityError)
        return this.fail(err.code, err.message, agent.id, actor, { family: row.family });
      throw err;
    }
    if (!agent.key || agent.key.jkt !== row.jkt) {
      await this.revokeFamily(row.family, 'key_rotated', actor);
      return this.fail(
        IdentityCodes.refreshRevoked,
        'the agent key changed since this refresh token was issued',
        agent.id,
        actor,
      );
    }
    const next = newRefreshToken();
    const spent = await this.store.transaction(async () => {
      const r = await this.store.run(
        'UPDATE identity_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL',
        [now, hash],
      );
      if (r.changes !== 1) return false;
      await this.store.run(
        'INSERT INTO identity_refresh_tokens (hash, family, created_at, expires_at) VALUES (?, ?, ?, ?)',
        [hashRefresh(next), row.family, now, Math.min(now + this.opts.refreshTtlMs, row.family_expires_at)],
      );
      return true;
    });
    if (!spent) {
      // Lost a race with a concurrent use of the same token: that is reuse too.
      await this.handleReuse(row, actor);
      return this.fail(
        IdentityCodes.refreshReused,
        'refresh token was already used; its family is revoked',
        row.agent,
        actor,
      );
    }
    const access = await this.signAccess(agent, 'refresh', row.session ?? undefined, row.family);
    await this.audit.append(
      {
        type: 'identity.token_refreshed',
        agent: agent.id,
        actor,
        ...(row.session ? { session: row.session } : {}),
        data: { jti: access.jti, family: row.family, exp: access.expiresAt, generation: agent.generation },
      },
      { durable: true },
    );
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: Math.round(this.opts.accessTtlMs / 1000),
      refresh_token: next,
      jti: access.jti,
      expires_at: access.expiresAt,
    };
  }

  /** Deny-lists one access token until its expiry. Unknown jtis are deny-listed for the longest possible token life. */
  async revokeAccess(jti: string, reason: string, actor: string): Promise<boolean> {
    const row = await this.store.get<{ agent: string; exp: number }>(
      'SELECT agent, exp FROM identity_access_tokens WHERE jti = ?',
      [jti],
    );
    const exp = row?.exp ?? this.clock.now() + this.opts.accessTtlMs + this.opts.skewMs;
    const added = (await this.revocations.add([{ jti, agent: row?.agent, exp, reason }])) > 0;
    await this.audit.append(
      {
        type: 'identity.token_revoked',
        ...(row ? { agent: row.agent } : {}),
        actor,
        data: { jti, reason, known: row !== undefined },
      },
      { durable: true },
    );
    return added;
  }

  /** Revokes the family of a refresh token (RFC 7009 revocation of a refresh token). */
  async revokeRefresh(refreshToken: string, reason: string, actor: string): Promise<boolean> {
    if (!REFRESH_RE.test(refreshToken)) return false;
    const row = await this.store.get<{ family: string }>('SELECT family FROM identity_refresh_tokens WHERE hash = ?', [
      hashRefresh(refreshToken),
    ]);
    if (!row) return false;
    return this.revokeFamily(row.family, reason, actor);
  }

  /** Revokes a refresh family and deny-lists every live access token issued from it. */
  async revokeFamily(family: string, reason: string, actor: string): Promise<boolean> {
    const now = this.clock.now();
    const fam = await this.store.get<{ agent: string; revoked_at: number | null }>(
      'SELECT agent, revoked_at FROM identity_refresh_families WHERE family = ?',
      [family],
    );
    if (!fam || fam.revoked_at !== null) return false;
    const denied = await this.store.transaction(async () => {
      await this.store.run('UPDATE identity_refresh_families SET revoked_at = ?, revoked_reason = ? WHERE family = ?', [
        now,
        reason,
        family,
      ]);
      const live = await this.store.all<{ jti: string; exp: number }>(
        'SELECT jti, exp FROM identity_access_tokens WHERE family = ? AND exp > ?',
        [family, now - this.opts.skewMs],
      );
      const entries = live.map((t) => ({ jti: t.jti, agent: fam.agent, exp: t.exp, reason: `family:${reason}` }));
      await this.revocations.record(entries);
      return entries;
    });
    this.revocations.remember(denied);
    await this.audit.append(
      { type: 'identity.token_family_revoked', agent: fam.agent, actor, data: { family, reason } },
      { durable: true },
    );
    return true;
  }

  /** Revokes every refresh family of an agent (status change, key rotation). Access tokens die by generation. */
  async revokeAgentFamilies(agent: string, reason: string, actor: string): Promise<number> {
    const fams = await this.store.all<{ family: string }>(
      'SELECT family FROM identity_refresh_families WHERE agent = ? AND revoked_at IS NULL AND expires_at > ?',
      [agent, this.clock.now()],
    );
    for (const f of fams) await this.revokeFamily(f.family, reason, actor);
    return fams.length;
  }

  /**
   * Validates an access token. Cached tokens cost a hash and three map reads; uncached ones a signature check.
   * Throws IdentityError (reason code per failure); never returns a token it could not fully check.
   */
  async verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new IdentityError(IdentityCodes.tokenMalformed, 'token is not a compact JWS');
    }
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit) {
      if (now >= hit.deadline) {
        this.cache.delete(key);
        throw new IdentityError(IdentityCodes.tokenExpired, 'token has expired');
      }
      this.checkLive(hit.token);
      return hit.token;
    }
    const verified = await this.verifySignatureAndClaims(token, now);
    this.checkLive(verified);
    if (this.opts.cacheSize > 0) {
      if (this.cache.size >= this.opts.cacheSize) this.evict(now);
      this.cache.set(key, { token: verified, deadline: verified.exp * 1000 + this.opts.skewMs });
    }
    return verified;
  }

  /** Checks a RFC 7523 client assertion (`private_key_jwt`) and returns the agent it authenticates. */
  async verifyAssertion(assertion: string, actor: string): Promise<AgentRecord> {
    try {
      return await this.checkAssertion(assertion);
    } catch (err) {
      if (err instanceof IdentityError) {
        let agent: string | undefined;
        try {
          const sub = decodeJwt(assertion).sub;
          agent = typeof sub === 'string' && sub.length <= 64 ? sub : undefined;
        } catch {
          agent = undefined;
        }
        await this.fail(err.code, err.message, agent, actor);
      }
      throw err;
    }
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  private async checkAssertion(assertion: string): Promise<AgentRecord> {
    if (typeof assertion !== 'string' || assertion.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(assertion)) {
      throw new IdentityError(IdentityCodes.assertionInvalid, 'client assertion is not a compact JWS');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch (err) {
      throw new IdentityError(IdentityCodes.assertionInvalid, 'client assertion cannot be decoded', { cause: err });
    }
    if (typeof claims.sub !== 'string' || claims.iss !== claims.sub) {
      throw new IdentityError(IdentityCodes.assertionInvalid, 'client assertion must have iss = sub = the agent id');
    }
    const agent = this.registry.get(claims.sub);
    if (!agent)
      throw new IdentityError(IdentityCodes.agentUnknown, `agent ${claims.sub.slice(0, 64)} is not registered`);
    if (!agent.key) throw new IdentityError(IdentityCodes.agentNoKey, `agent ${agent.id} has no registered key`);
    const algs = jwsAlgorithmsFor(agent.key.alg);
    if (typeof header.alg !== 'string' || !algs.includes(header.alg)) {
      throw new IdentityError(
        IdentityCodes.tokenAlgNotAllowed,
        `client assertion algorithm ${String(header.alg)} is not allowed`,
      );
    }
    const now = this.clock.now();
    try {
      await jwtVerify(assertion, this.registry.publicKey(agent)!, {
        algorithms: [...algs],
        issuer: agent.id,
        subject: agent.id,
        audience: [this.opts.audience, this.opts.issuer],
        clockTolerance: Math.ceil(this.opts.skewMs / 1000),
        maxTokenAge: Math.ceil(this.opts.assertionMaxAgeMs / 1000),
        requiredClaims: ['jti', 'exp', 'iat'],
        currentDate: new Date(now),
      });
    } catch (err) {
      throw mapJoseError(err, 'assertion');
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 > now + this.opts.assertionMaxAgeMs + this.opts.skewMs) {
      throw new IdentityError(IdentityCodes.assertionInvalid, 'client assertion lives longer than assertion_max_age');
    }
    assertActive(agent, this.registry.effectiveStatus(agent));
    const jtiHash = createHash('sha256')
      .update(`${agent.id}\u0000${String(claims.jti)}`)
      .digest('hex');
    const r = await this.store.run(
      'INSERT INTO identity_assertions (jti_hash, agent, exp) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [jtiHash, agent.id, claims.exp * 1000 + this.opts.skewMs],
    );
    if (r.changes !== 1) throw new IdentityError(IdentityCodes.assertionReplayed, 'client assertion was already used');
    return agent;
  }

  private checkLive(t: VerifiedToken): void {
    const agent = this.registry.get(t.agent);
    if (!agent) throw new IdentityError(IdentityCodes.agentUnknown, `agent ${t.agent} is not registered`);
    assertActive(agent, this.registry.effectiveStatus(agent));
    if (this.revocations.isRevoked(t.jti))
      throw new IdentityError(IdentityCodes.tokenRevoked, 'token has been revoked');
    if (t.generation < agent.generation) {
      throw new IdentityError(IdentityCodes.tokenGeneration, 'token predates the agent’s current generation');
    }
    if (!agent.key || agent.key.jkt !== t.jkt) {
      throw new IdentityError(IdentityCodes.tokenKeyMismatch, 'token is bound to a key the agent no longer has');
    }
  }

  private async verifySignatureAndClaims(token: string, now: number): Promise<VerifiedToken> {
    if (now - this.keysLoadedAt > 60_000) await this.loadVerificationKeys(now);
    try {
      return this.checkSignatureAndClaims(token, now);
    } catch (err) {
      // Reload for an unknown kid (another process may have rotated), at most once a second so junk kids cost nothing.
      if (
        !(err instanceof IdentityError && err.code === IdentityCodes.tokenUnknownKey) ||
        now - this.keysLoadedAt <= 1000
      )
        throw err;
      await this.loadVerificationKeys(now);
      return this.checkSignatureAndClaims(token, now);
    }
  }

  private checkSignatureAndClaims(token: string, now: number): VerifiedToken {
    let kid = '';
    const { payload } = verifyCompactJws(token, {
      algorithms: this.opts.algorithms,
      codes: { malformed: IdentityCodes.tokenMalformed, badSignature: IdentityCodes.tokenBadSignature },
      keyFor: (header) => {
        if (header.typ !== 'at+jwt' && header.typ !== 'application/at+jwt') {
          throw new IdentityError(IdentityCodes.tokenType, 'token is not an at+jwt access token');
        }
        kid = typeof header.kid === 'string' ? header.kid : '';
        const key = this.verifyKeys.get(kid);
        if (!key) throw new IdentityError(IdentityCodes.tokenUnknownKey, 'token is signed with an unknown key');
        return key;
      },
    });
    const { iss, aud, sub, jti, gen, cnf, sid, exp, iat, nbf } = payload;
    const skew = this.opts.skewMs;
    if (typeof exp !== 'number' || typeof iat !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) {
      throw new IdentityError(IdentityCodes.tokenClaims, 'token lacks numeric exp and iat');
    }
    if (now >= exp * 1000 + skew) throw new IdentityError(IdentityCodes.tokenExpired, 'token has expired');
    if (((nbf as number | undefined) ?? iat) * 1000 > now + skew || iat * 1000 > now + skew) {
      throw new IdentityError(IdentityCodes.tokenNotYetValid, 'token is not yet valid');
    }
    if (iss !== this.opts.issuer) throw new IdentityError(IdentityCodes.tokenIssuer, 'token issuer is wrong');
    if (!(aud === this.opts.audience || (Array.isArray(aud) && aud.includes(this.opts.audience)))) {
      throw new IdentityError(IdentityCodes.tokenAudience, 'token audience is wrong');
    }
    const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
    if (
      typeof sub !== 'string' ||
      typeof jti !== 'string' ||
      typeof gen !== 'number' ||
      !Number.isInteger(gen) ||
      gen < 1 ||
      typeof jkt !== 'string' ||
      (sid !== undefined && typeof sid !== 'string')
    ) {
      throw new IdentityError(
        IdentityCodes.tokenClaims,
        'token lacks sub, jti, gen or cnf.jkt, or has them in the wrong type',
      );
    }
    return { jti, agent: sub, generation: gen, exp, iat, jkt, session: sid as string | undefined, kid };
  }

  private async loadVerificationKeys(now: number): Promise<void> {
    this.keysLoadedAt = now;
    const keys = await this.keyring.verificationKeys(SIGNING_PURPOSE, this.opts.overlapMs);
    this.verifyKeys = new Map(keys.map((k) => [k.kid, k.publicKey]));
  }

  private async signingKey(): Promise<KeyPairRecord> {
    const active = await this.ensureSigningKey();
    if (this.clock.now() - active.createdAt >= this.opts.rotationMs) return this.rotateSigningKey('gatehouse');
    return active;
  }

  private async signAccess(
    agent: AgentRecord,
    method: IssueMethod,
    session: string | undefined,
    family: string | undefined,
  ): Promise<{ token: string; jti: string; expiresAt: number }> {
    const signing = await this.signingKey();
    const now = this.clock.now();
    const iat = Math.floor(now / 1000);
    const exp = iat + Math.round(this.opts.accessTtlMs / 1000);
    // Hex, so a jti never starts with '-' and reads as an option on a command line.
    const jti = randomBytes(16).toString('hex');
    const claims: Record<string, unknown> = {
      gen: agent.generation,
      cnf: { jkt: agent.key!.jkt },
      client_id: `spiffe://${this.opts.trustDomain}/agent/${agent.id}`,
    };
    if (session) claims.sid = session;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: signing.alg === 'Ed25519' ? 'EdDSA' : 'ES384', typ: 'at+jwt', kid: signing.kid })
      .setIssuer(this.opts.issuer)
      .setSubject(agent.id)
      .setAudience(this.opts.audience)
      .setJti(jti)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(await this.keyring.privateKey(signing.kid));
    await this.store.run(
      'INSERT INTO identity_access_tokens (jti, agent, family, session, method, issued_at, exp) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [jti, agent.id, family ?? null, session ?? null, method, now, exp * 1000],
    );
    await this.revocations.purge();
    return { token, jti, expiresAt: exp * 1000 };
  }

  private async handleReuse(row: RefreshRow, actor: string): Promise<void> {
    await this.revokeFamily(row.family, 'refresh_reuse', actor);
    await this.audit.append(
      {
        type: 'identity.refresh_reuse_detected',
        agent: row.agent,
        actor,
        data: { family: row.family, suspected: 'compromise', action: this.opts.refreshReuse },
      },
      { durable: true },
    );
    if (this.opts.refreshReuse === 'compromise') {
      const agent = this.registry.get(row.agent);
      if (agent && agent.status !== 'revoked' && agent.status !== 'compromised') {
        await this.registry.setStatus(row.agent, 'compromised', { actor: 'gatehouse', reason: 'refresh token reuse' });
        await this.revokeAgentFamilies(row.agent, 'agent_compromised', 'gatehouse');
      }
    }
  }

  /** Records a failed authentication at the token endpoint (by reason code and agent, never the credential). */
  async recordFailure(err: IdentityError, agent: string | undefined, actor: string): Promise<void> {
    if (err.audited) return;
    await this.audit.append(
      {
        type: 'identity.authentication_failed',
        ...(agent ? { agent } : {}),
        actor,
        reasons: [{ code: err.code, message: err.message }],
      },
      { durable: true },
    );
    err.audited = true;
  }

  private async fail(
    code: IdentityCode,
    message: string,
    agent: string | undefined,
    actor: string,
    data: Record<string, unknown> = {},
  ): Promise<never> {
    await this.audit.append(
      {
        type: 'identity.authentication_failed',
        ...(agent ? { agent } : {}),
        actor,
        reasons: [{ code, message }],
        data,
      },
      { durable: true },
    );
    const err = new IdentityError(code, message);
    err.audited = true;
    throw err;
  }

  private evict(now: number): void {
    for (const [k, e] of this.cache) if (e.deadline <= now) this.cache.delete(k);
    // Still full: drop the oldest quarter (Map keeps insertion order).
    if (this.cache.size >= this.opts.cacheSize) {
      let drop = Math.max(1, Math.floor(this.opts.cacheSize / 4));
      for (const k of this.cache.keys()) {
        if (drop-- <= 0) break;
        this.cache.delete(k);
      }
    }
  }
}

function newRefreshToken(): string {
  return `${REFRESH_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function hashRefresh(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Maps a jose failure to our reason codes. Anything unexpected is a bad token, never an accepted one. */
export function mapJoseError(err: unknown, what: 'token' | 'assertion'): IdentityError {
  const a = what === 'assertion';
  if (err instanceof errors.JWTExpired) {
    return new IdentityError(a ? IdentityCodes.assertionExpired : IdentityCodes.tokenExpired, `${what} has expired`, {
      cause: err,
    });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const c = err.claim;
    if (c === 'nbf')
      return new IdentityError(IdentityCodes.tokenNotYetValid, `${what} is not yet valid`, { cause: err });
    if (c === 'aud') {
      return new IdentityError(
        a ? IdentityCodes.assertionAudience : IdentityCodes.tokenAudience,
        `${what} audience is wrong`,
        {
          cause: err,
        },
      );
    }
    if (c === 'iss' && !a) return new IdentityError(IdentityCodes.tokenIssuer, 'token issuer is wrong', { cause: err });
    if (c === 'iat' && a)
      return new IdentityError(IdentityCodes.assertionExpired, 'assertion is too old', { cause: err });
    return new IdentityError(
      a ? IdentityCodes.assertionInvalid : IdentityCodes.tokenClaims,
      `${what} claim ${c} is invalid`,
      {
        cause: err,
      },
    );
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new IdentityError(IdentityCodes.tokenAlgNotAllowed, `${what} algorithm is not allowed`, { cause: err });
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new IdentityError(
      a ? IdentityCodes.assertionBadSignature : IdentityCodes.tokenBadSignature,
      `${what} signature is invalid`,
      {
        cause: err,
      },
    );
  }
  return new IdentityError(a ? IdentityCodes.assertionInvalid : IdentityCodes.tokenMalformed, `${what} is malformed`, {
    cause: err,
  });
}
