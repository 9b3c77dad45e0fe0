import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { AgentRecord, AgentRegistry } from './agents.js';
import { IdentityCodes, IdentityError } from './errors.js';
import { verifyCompactJws } from './jws.js';
import { jwsAlgorithmsFor } from './keys.js';

/** `typ` of a proof-of-possession JWS. */
export const POP_TYPE = 'gh-pop+jwt';
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,2048}\.[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{0,2048}$/;
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/;

interface NonceEntry {
  agent: string;
  exp: number;
  used: boolean;
  /** The allowance it counts against: `<agent>` for authenticated requests, `?<agent>` for anonymous ones. */
  pool: string;
  /** Set when the nonce ran out unused (so it no longer counts against the agent). */
  expired?: boolean;
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
 * Nonces are kept in this process's memory: the gateway that issues them is the one that checks them.
 */
export class ChallengeService {
  private readonly nonces = new Map<string, NonceEntry>();
  /** Nonces in issue order; with one TTL for all, the oldest expire first, so purging is a queue pop. */
  private readonly order: string[] = [];
  private orderHead = 0;
  private releaseHead = 0;
  private readonly perAgent = new Map<string, number>();

  constructor(
    private readonly registry: AgentRegistry,
    private readonly clock: Clock,
    private readonly opts: ChallengeOptions,
  ) {}

  /**
   * A fresh nonce for `agent`. Refused when the agent has too many outstanding. Requests that name an agent
   * without authenticating (`anonymous`, as for the proof-of-possession grant) have an allowance of their own,
   * so a stranger exhausting it cannot starve the agent's authenticated requests.
   */
  issue(agent: string, opts: { anonymous?: boolean } = {}): { nonce: string; expiresAt: number; audience: string } {
    this.purge();
    const pool = opts.anonymous ? `?${agent}` : agent;
    const outstanding = this.perAgent.get(pool) ?? 0;
    if (outstanding >= this.opts.maxPerAgent) {
      throw new IdentityError(IdentityCodes.popRateLimited, `agent ${agent} has too many outstanding nonces`);
    }
    const nonce = randomBytes(32).toString('base64url');
    const exp = this.clock.now() + this.opts.ttlMs;
    this.nonces.set(nonce, { agent, exp, used: false, pool });
    this.order.push(nonce);
    this.perAgent.set(pool, outstanding + 1);
    return { nonce, expiresAt: exp, audience: this.opts.audience };
  }

  get outstanding(): number {
    return this.nonces.size;
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
    const entry = this.nonces.get(nonce);
    if (!entry)
      throw new IdentityError(
        IdentityCodes.popNonceUnknown,
        'proof nonce was not issued by this gateway or is long gone',
      );
    if (entry.agent !== agent.id)
      throw new IdentityError(IdentityCodes.popAgentMismatch, 'proof nonce was issued to another agent');
    if (now >= entry.exp || entry.expired)
      throw new IdentityError(IdentityCodes.popNonceExpired, 'proof nonce has expired');
    if (entry.used) throw new IdentityError(IdentityCodes.popNonceReplayed, 'proof nonce was already used');
    // Spent by any correctly signed attempt, even one that fails below: one nonce, one try.
    entry.used = true;
    this.release(entry.pool);
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

  private release(pool: string): void {
    const n = (this.perAgent.get(pool) ?? 1) - 1;
    if (n <= 0) this.perAgent.delete(pool);
    else this.perAgent.set(pool, n);
  }

  /**
   * Expired nonces stop counting against their agent's allowance at once; they are forgotten a TTL later
   * (kept that long so a late replay is named as such rather than as unknown).
   */
  private purge(): void {
    const now = this.clock.now();
    while (this.releaseHead < this.order.length) {
      const e = this.nonces.get(this.order[this.releaseHead]!);
      if (e && e.exp > now) break;
      if (e && !e.used) {
        e.used = true;
        e.expired = true;
        this.release(e.pool);
      }
      this.releaseHead++;
    }
    const cutoff = now - this.opts.ttlMs;
    while (this.orderHead < this.releaseHead) {
      const n = this.order[this.orderHead]!;
      const e = this.nonces.get(n);
      if (e && e.exp > cutoff) break;
      this.nonces.delete(n);
      this.orderHead++;
    }
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.releaseHead -= this.orderHead;
      this.orderHead = 0;
    }
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
