import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { AgentRecord, AgentRegistry } from './agents.js';
import { IdentityCodes, IdentityError } from './errors.js';
import { verifyCompactJws } from './jws.js';
import { jwsAlgorithmsFor } from './keys.js';

/** `typ` of a proof-of-possession JWS. */
export const POP_TYPE = 'gh-pop+jwt';
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,2048}\.[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{0,2048}$/;
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/;

interface NonceRow {
  agent: string;
  exp: number;
  used: number;
}

export interface ChallengeOptions {
  ttlMs: number;
  skewMs: number;
  maxPerAgent: number;
  audience: string;
}

/** What a proof must be about. */
export interface ProofExpectation {
  agent: AgentRecord;
  /** What the agent asks to do: `token` for issuance, or `popMethod(action)` for an action. */
  method: string;
  /** When the proof accompanies an access token, it must carry `ath` = SHA-256 of that token. */
  accessToken?: string;
}

/**
 * Proof of possession: Gatehouse hands out single-use nonces that live 60 s; the agent signs a small JWS
 * (`typ: gh-pop+jwt`) over `{nonce, aud, htm, iat[, ath]}` with its own key. A proof is accepted once, only
 * for the agent the nonce was issued to, only within the nonce's life, and only if signed by the agent's
 * registered key. Policy can require it for high-risk tools through `principal.proofOfPossession`.
 *
 * Nonces live in the store, so a nonce issued by one gateway can be used on any gateway of the store, and only
 * once across all of them: spending it is one conditional update, which exactly one caller wins.
 */
export class ChallengeService {
  private purgedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly registry: AgentRegistry,
    private readonly clock: Clock,
    private readonly opts: ChallengeOptions,
  ) {}

  /**
   * A fresh nonce for `agent`. Refused when the agent has too many outstanding. Requests that name an agent
   * without authenticating (`anonymous`, as for the proof-of-possession grant) have an allowance of their own,
   * so a stranger exhausting it cannot starve the agent's authenticated requests. Across gateways the allowance
   * is checked and taken in one statement; concurrent requests on several gateways may pass it by a few.
   */
  async issue(
    agent: string,
    opts: { anonymous?: boolean } = {},
  ): Promise<{ nonce: string; expiresAt: number; audience: string }> {
    const now = this.clock.now();
    await this.purge(now);
    const pool = opts.anonymous ? `?${agent}` : agent;
    const nonce = randomBytes(32).toString('base64url');
    const exp = now + this.opts.ttlMs;
    const r = await this.store.run(
      `INSERT INTO identity_pop_nonces (nonce, agent, pool, exp, used)
       SELECT ?, ?, ?, ?, 0 WHERE (SELECT COUNT(*) FROM identity_pop_nonces WHERE pool = ? AND used = 0 AND exp > ?) < ?`,
      [nonce, agent, pool, exp, pool, now, this.opts.maxPerAgent],
    );
    if (r.changes !== 1) {
      throw new IdentityError(IdentityCodes.popRateLimited, `agent ${agent} has too many outstanding nonces`);
    }
    return { nonce, expiresAt: exp, audience: this.opts.audience };
  }

  /** Nonces issued and neither used nor expired, over every gateway of the store. */
  async outstanding(): Promise<number> {
    const row = await this.store.get<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM identity_pop_nonces WHERE used = 0 AND exp > ?',
      [this.clock.now()],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Verifies a proof and spends its nonce. Throws an IdentityError whose code names the failure:
   * malformed, bad signature (another key), unknown, replayed or expired nonce, wrong audience or method, stale.
   */
  async verify(proof: string, expect: ProofExpectation): Promise<void> {
    const { agent } = expect;
    if (typeof proof !== 'string' || !COMPACT_JWS.test(proof)) {
      throw new IdentityError(IdentityCodes.popMalformed, 'proof is not a compact JWS');
    }
    if (!agent.key) throw new IdentityError(IdentityCodes.agentNoKey, `agent ${agent.id} has no registered key`);
    const { payload: claims } = verifyCompactJws(proof, {
      algorithms: jwsAlgorithmsFor(agent.key.alg),
      codes: { malformed: IdentityCodes.popMalformed, badSignature: IdentityCodes.popBadSignature },
      keyFor: (header) => {
        if (header.typ !== POP_TYPE)
          throw new IdentityError(IdentityCodes.popMalformed, `proof typ must be ${POP_TYPE}`);
        return this.registry.publicKey(agent)!;
      },
    });
    const { nonce, aud, htm, iat, ath } = claims;
    if (typeof nonce !== 'string' || !NONCE_RE.test(nonce) || typeof iat !== 'number') {
      throw new IdentityError(IdentityCodes.popMalformed, 'proof lacks nonce or iat');
    }
    const now = this.clock.now();
    const entry = await this.store.get<NonceRow>('SELECT agent, exp, used FROM identity_pop_nonces WHERE nonce = ?', [
      nonce,
    ]);
    if (!entry)
      throw new IdentityError(IdentityCodes.popNonceUnknown, 'proof nonce was not issued by Gatehouse or is long gone');
    if (entry.agent !== agent.id)
      throw new IdentityError(IdentityCodes.popAgentMismatch, 'proof nonce was issued to another agent');
    if (now >= entry.exp) throw new IdentityError(IdentityCodes.popNonceExpired, 'proof nonce has expired');
    // Spent by any correctly signed attempt, even one that fails below: one nonce, one try. The conditional
    // update is what makes it single-use across gateways (the read above only names the failure).
    const spent = await this.store.run('UPDATE identity_pop_nonces SET used = 1 WHERE nonce = ? AND used = 0', [nonce]);
    if (spent.changes !== 1) throw new IdentityError(IdentityCodes.popNonceReplayed, 'proof nonce was already used');
    if (aud !== this.opts.audience) throw new IdentityError(IdentityCodes.popAudience, 'proof audience is wrong');
    if (htm !== expect.method)
      throw new IdentityError(
        IdentityCodes.popMethod,
        `proof is for ${String(htm).slice(0, 80)}, not ${expect.method}`,
      );
    if (Math.abs(now - iat * 1000) > this.opts.ttlMs + this.opts.skewMs) {
      throw new IdentityError(IdentityCodes.popStale, 'proof time is too far from now');
    }
    if (expect.accessToken !== undefined && ath !== accessTokenHash(expect.accessToken)) {
      throw new IdentityError(IdentityCodes.popTokenMismatch, 'proof is not bound to the presented access token');
    }
  }

  /**
   * Forgets nonces a TTL after they expired (kept that long so a late replay is named as such rather than as
   * unknown); expired ones stop counting against the allowance at once by the `exp > now` of `issue`.
   */
  private async purge(now: number): Promise<void> {
    if (now - this.purgedAt < 10_000) return;
    this.purgedAt = now;
    await this.store.run('DELETE FROM identity_pop_nonces WHERE exp < ?', [now - this.opts.ttlMs]);
  }
}

/** `ath`: base64url SHA-256 of the access token (as in RFC 9449 DPoP). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The `htm` a proof for this action must carry: the action kind, and the tool for tool calls. */
export function popMethod(action: { kind: string; tool?: string | undefined }): string {
  return action.tool ? `${action.kind}:${action.tool}` : action.kind;
}
