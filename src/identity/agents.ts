import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import type { AuditSink } from '../core/audit.js';
import type { Clock } from '../core/clock.js';
import type { MasterKey } from '../core/masterkey.js';
import type { Store } from '../store/store.js';
import { IdentityCodes, IdentityError } from './errors.js';
import type { ChangeFeed } from './feed.js';
import { generateAgentKeyPair, jwkThumbprint, type KeyAlg, parsePublicKey, publicKeyPem } from './keys.js';

export const AGENT_STATUSES = ['active', 'suspended', 'revoked', 'quarantined', 'expired', 'compromised'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

const AGENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The agent's current public key. Gatehouse never holds the private key of an agent that brought its own. */
export interface AgentKey {
  alg: KeyAlg;
  pem: string;
  /** RFC 7638 thumbprint: what `cnf.jkt` of its tokens carries. */
  jkt: string;
  origin: 'agent' | 'generated';
}

/** One registered agent as kept in memory (and in `identity_agents`). */
export interface AgentRecord {
  id: string;
  status: AgentStatus;
  statusReason: string | undefined;
  roles: readonly string[];
  description: string | undefined;
  /** `config`: declared in gatehouse.yaml; `registered`: through `agents register` or the API. */
  source: 'registered' | 'config';
  key: AgentKey | undefined;
  /** Bumped on every status change and key rotation; tokens of an older generation are dead. */
  generation: number;
  createdAt: number;
  updatedAt: number;
  rotatedAt: number | undefined;
  nextRotationAt: number | undefined;
  expiresAt: number | undefined;
}

export interface RegisterInput {
  id: string;
  roles?: readonly string[];
  description?: string;
  /** The agent's own public key (SPKI PEM or JWK): preferred, its private key never leaves it. */
  publicKey?: string;
  /** Generate a key pair of this type instead and return the private key once. */
  generateKey?: KeyAlg;
  /** After this time (ms since epoch) the agent is `expired`. */
  expiresAt?: number;
}

export interface RegisterResult {
  agent: AgentRecord;
  /** PKCS#8 PEM of a generated key. Shown once: Gatehouse keeps only a sealed copy it never hands out again. */
  privateKeyPem?: string;
}

/** Who did it, for the audit log: `host`, `operator:<name>`, `agent:<id>`, `gateway`. */
export type Actor = string;

interface AgentRow {
  id: string;
  status: AgentStatus;
  status_reason: string | null;
  roles: string;
  description: string | null;
  source: 'registered' | 'config';
  key_alg: KeyAlg | null;
  public_pem: string | null;
  jkt: string | null;
  key_origin: 'agent' | 'generated' | null;
  generation: number;
  created_at: number;
  updated_at: number;
  rotated_at: number | null;
  next_rotation_at: number | null;
  expires_at: number | null;
}

/** A row as read back, with the change-feed seq it was stamped with. */
interface StampedRow extends AgentRow {
  seq: number;
}

const COLUMNS =
  'id, status, status_reason, roles, description, source, key_alg, public_pem, jkt, key_origin, generation, created_at, updated_at, rotated_at, next_rotation_at, expires_at';

/**
 * Allowed status changes. `revoked` is final. A `compromised` agent returns to `active` only through a key
 * rotation (its old key is presumed stolen), so it cannot pass through another state that an operator may
 * then resume; every other state can be returned to `active` by an operator.
 */
const TRANSITIONS: Record<AgentStatus, readonly AgentStatus[]> = {
  active: ['suspended', 'revoked', 'quarantined', 'expired', 'compromised'],
  suspended: ['active', 'revoked', 'quarantined', 'compromised'],
  quarantined: ['active', 'suspended', 'revoked', 'compromised'],
  compromised: ['revoked'],
  expired: ['active', 'suspended', 'revoked', 'compromised'],
  revoked: [],
};

export function validateAgentId(id: string): void {
  if (!AGENT_ID_RE.test(id)) {
    throw new IdentityError(
      IdentityCodes.keyInvalid,
      `agent id "${id.slice(0, 80)}" is invalid: 1-64 letters, digits, . _ - starting with a letter or digit`,
    );
  }
}

/**
 * The agent registry: the store is the truth, memory holds every agent for the hot path (a few hundred
 * bytes each) and catches up with other processes through the change feed.
 *
 * @example
 * const { agent, privateKeyPem } = await registry.register({ id: 'mailer', roles: ['assistant'], generateKey: 'Ed25519' }, 'host');
 * await registry.setStatus('mailer', 'suspended', { actor: 'operator:alice', reason: 'investigating' });
 */
export class AgentRegistry {
  private readonly agents = new Map<string, AgentRecord>();
  private readonly keyObjects = new Map<string, KeyObject>();
  /** The seq of the row version each in-memory agent was built from. */
  private readonly stamps = new Map<string, number>();
  private readonly statusListeners: Array<(agent: AgentRecord, from: AgentStatus) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly master: MasterKey,
    private readonly clock: Clock,
    private readonly audit: AuditSink,
    private readonly feed: ChangeFeed,
    private readonly rotationPeriodMs: number,
  ) {
    feed.subscribe((since) => this.loadSince(since));
  }

  /**
   * Calls `fn` when a catch-up brings in a status change another process made (a quarantine ordered on another
   * gateway), after memory holds it. Changes this process makes are not reported: their caller acts on them.
   */
  onStatusLearned(fn: (agent: AgentRecord, from: AgentStatus) => void): void {
    this.statusListeners.push(fn);
  }

  /** The agent, or undefined, from memory (the change feed brings in other processes' changes). */
  get(id: string): AgentRecord | undefined {
    this.feed.check();
    return this.agents.get(id);
  }

  /** Like `get` but throws `not_found` as an identity error. */
  require(id: string): AgentRecord {
    const a = this.get(id);
    if (!a) throw new IdentityError(IdentityCodes.agentUnknown, `agent ${id} is not registered`);
    return a;
  }

  async list(): Promise<AgentRecord[]> {
    await this.feed.sync();
    return [...this.agents.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get size(): number {
    return this.agents.size;
  }

  /** `status`, or `expired` once `expiresAt` has passed. */
  effectiveStatus(a: AgentRecord, now = this.clock.now()): AgentStatus {
    if (a.status === 'active' && a.expiresAt !== undefined && a.expiresAt <= now) return 'expired';
    return a.status;
  }

  /** The agent's public key as a KeyObject (cached per key). */
  publicKey(a: AgentRecord): KeyObject | undefined {
    if (!a.key) return undefined;
    const cacheKey = `${a.id}\u0000${a.key.jkt}`;
    let k = this.keyObjects.get(cacheKey);
    if (!k) {
      k = createPublicKey(a.key.pem);
      this.keyObjects.set(cacheKey, k);
    }
    return k;
  }

  async register(input: RegisterInput, actor: Actor): Promise<RegisterResult> {
    validateAgentId(input.id);
    if (input.publicKey !== undefined && input.generateKey !== undefined) {
      throw new IdentityError(
        IdentityCodes.keyInvalid,
        'give either a public key or ask for a generated key, not both',
      );
    }
    await this.feed.sync();
    const existing = this.agents.get(input.id);
    if (existing && existing.source === 'registered') {
      throw new IdentityError(IdentityCodes.agentExists, `agent ${input.id} is already registered`);
    }
    const now = this.clock.now();
    const material = await this.keyMaterial(input.id, input.publicKey, input.generateKey);
    const roles = dedupe(input.roles ?? existing?.roles ?? []);
    const row: AgentRow = {
      id: input.id,
      status: 'active',
      status_reason: null,
      roles: JSON.stringify(roles),
      description: input.description ?? existing?.description ?? null,
      source: 'registered',
      key_alg: material?.key.alg ?? null,
      public_pem: material?.key.pem ?? null,
      jkt: material?.key.jkt ?? null,
      key_origin: material?.key.origin ?? null,
      generation: (existing?.generation ?? 0) + 1,
      created_at: existing?.createdAt ?? now,
      updated_at: now,
      rotated_at: material ? now : null,
      next_rotation_at: material ? now + this.rotationPeriodMs : null,
      expires_at: input.expiresAt ?? null,
    };
    const seq = await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      await this.store.run(
        `INSERT INTO identity_agents (${COLUMNS}, sealed_private, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, status_reason = NULL, roles = excluded.roles,
           description = excluded.description, source = excluded.source, key_alg = excluded.key_alg,
           public_pem = excluded.public_pem, jkt = excluded.jkt, key_origin = excluded.key_origin,
           sealed_private = excluded.sealed_private, generation = excluded.generation, updated_at = excluded.updated_at,
           rotated_at = excluded.rotated_at, next_rotation_at = excluded.next_rotation_at,
           expires_at = excluded.expires_at, seq = excluded.seq`,
        [
          row.id,
          row.status,
          row.status_reason,
          row.roles,
          row.description,
          row.source,
          row.key_alg,
          row.public_pem,
          row.jkt,
          row.key_origin,
          row.generation,
          row.created_at,
          row.updated_at,
          row.rotated_at,
          row.next_rotation_at,
          row.expires_at,
          material?.sealed ?? null,
          seq,
        ],
      );
      return seq;
    });
    const agent = this.apply({ ...row, seq });
    await this.audit.append(
      {
        type: 'identity.agent_registered',
        agent: agent.id,
        actor,
        data: {
          roles: [...roles],
          keyAlg: agent.key?.alg ?? null,
          keyOrigin: agent.key?.origin ?? null,
          jkt: agent.key?.jkt ?? null,
        },
      },
      { durable: true },
    );
    return material?.privateKeyPem ? { agent, privateKeyPem: material.privateKeyPem } : { agent };
  }

  /**
   * Changes an agent's status and bumps its generation, so every token it holds dies with the change
   * (a resumed agent gets fresh tokens). `revoked` is final.
   */
  async setStatus(id: string, status: AgentStatus, opts: { actor: Actor; reason?: string }): Promise<AgentRecord> {
    await this.feed.sync();
    const a = this.require(id);
    const from = this.effectiveStatus(a);
    if (from === status) return a;
    if (!TRANSITIONS[from].includes(status)) {
      const hint = from === 'compromised' && status === 'active' ? ': rotate its key (agents rotate) to resume it' : '';
      throw new IdentityError(IdentityCodes.agentStatus, `agent ${id} cannot go from ${from} to ${status}${hint}`);
    }
    const now = this.clock.now();
    const resumedExpired = from === 'expired' && status === 'active';
    await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      await this.store.run(
        `UPDATE identity_agents SET status = ?, status_reason = ?, generation = generation + 1, updated_at = ?, seq = ?
         ${resumedExpired ? ', expires_at = NULL' : ''} WHERE id = ?`,
        [status, opts.reason ?? null, now, seq, id],
      );
    });
    const updated = await this.reload(id);
    await this.audit.append(
      {
        type: 'identity.agent_status_changed',
        agent: id,
        actor: opts.actor,
        data: { from, to: status, generation: updated.generation, ...(opts.reason ? { reason: opts.reason } : {}) },
      },
      { durable: true },
    );
    return updated;
  }

  /** Kill switch: every token of the agent issued so far stops validating. */
  async bumpGeneration(id: string, opts: { actor: Actor; reason?: string }): Promise<AgentRecord> {
    this.require(id);
    await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      await this.store.run(
        'UPDATE identity_agents SET generation = generation + 1, updated_at = ?, seq = ? WHERE id = ?',
        [this.clock.now(), seq, id],
      );
    });
    const updated = await this.reload(id);
    await this.audit.append(
      {
        type: 'identity.generation_bumped',
        agent: id,
        actor: opts.actor,
        data: { generation: updated.generation, ...(opts.reason ? { reason: opts.reason } : {}) },
      },
      { durable: true },
    );
    return updated;
  }

  /** Replaces the agent's key (its own public key, or a generated pair) and kills its tokens; a compromised agent becomes active again. */
  async rotateKey(
    id: string,
    input: { publicKey?: string; generateKey?: KeyAlg },
    actor: Actor,
  ): Promise<RegisterResult & { previousJkt: string | undefined }> {
    const a = this.require(id);
    if (a.status === 'revoked') throw new IdentityError(IdentityCodes.agentRevoked, `agent ${id} is revoked`);
    const alg = input.publicKey === undefined ? (input.generateKey ?? a.key?.alg ?? 'Ed25519') : undefined;
    const material = await this.keyMaterial(id, input.publicKey, alg);
    if (!material) throw new IdentityError(IdentityCodes.keyInvalid, 'rotation needs a key');
    const now = this.clock.now();
    await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      await this.store.run(
        `UPDATE identity_agents SET key_alg = ?, public_pem = ?, jkt = ?, key_origin = ?, sealed_private = ?,
           generation = generation + 1, rotated_at = ?, next_rotation_at = ?, updated_at = ?, seq = ?,
           status_reason = CASE WHEN status = 'compromised' THEN NULL ELSE status_reason END,
           status = CASE WHEN status = 'compromised' THEN 'active' ELSE status END
         WHERE id = ?`,
        [
          material.key.alg,
          material.key.pem,
          material.key.jkt,
          material.key.origin,
          material.sealed ?? null,
          now,
          now + this.rotationPeriodMs,
          now,
          seq,
          id,
        ],
      );
    });
    const updated = await this.reload(id);
    await this.audit.append(
      {
        type: 'identity.agent_key_rotated',
        agent: id,
        actor,
        data: {
          keyAlg: material.key.alg,
          keyOrigin: material.key.origin,
          jkt: material.key.jkt,
          previousJkt: a.key?.jkt ?? null,
          generation: updated.generation,
          ...(a.status === 'compromised' ? { resumedFrom: 'compromised' } : {}),
        },
      },
      { durable: true },
    );
    return {
      agent: updated,
      previousJkt: a.key?.jkt,
      ...(material.privateKeyPem ? { privateKeyPem: material.privateKeyPem } : {}),
    };
  }

  async setRoles(id: string, roles: readonly string[], actor: Actor): Promise<AgentRecord> {
    const a = this.require(id);
    const next = dedupe(roles);
    await this.store.transaction(async () => {
      const seq = await this.feed.bump();
      await this.store.run('UPDATE identity_agents SET roles = ?, updated_at = ?, seq = ? WHERE id = ?', [
        JSON.stringify(next),
        this.clock.now(),
        seq,
        id,
      ]);
    });
    const updated = await this.reload(id);
    await this.audit.append(
      { type: 'identity.agent_roles_changed', agent: id, actor, data: { from: [...a.roles], to: [...next] } },
      { durable: true },
    );
    return updated;
  }

  /**
   * Brings agents declared in the configuration into the registry: creates missing ones (active, no key) and
   * keeps their roles in step with the file. Registered agents with the same id keep their own roles.
   */
  async syncConfigured(
    declared: Record<string, { roles: readonly string[]; description?: string | undefined }>,
  ): Promise<void> {
    await this.feed.sync();
    for (const [id, spec] of Object.entries(declared)) {
      const a = this.agents.get(id);
      const roles = dedupe(spec.roles);
      if (!a) {
        const now = this.clock.now();
        // Another process opening the same store at the same moment may have inserted it first.
        const inserted = await this.store.transaction(async () => {
          const seq = await this.feed.bump();
          const r = await this.store.run(
            `INSERT INTO identity_agents (${COLUMNS}, seq) VALUES (?, 'active', NULL, ?, ?, 'config', NULL, NULL, NULL, NULL, 1, ?, ?, NULL, NULL, NULL, ?)
             ON CONFLICT(id) DO NOTHING`,
            [id, JSON.stringify(roles), spec.description ?? null, now, now, seq],
          );
          return r.changes;
        });
        await this.reload(id);
        if (inserted === 0) continue;
        await this.audit.append(
          {
            type: 'identity.agent_registered',
            agent: id,
            actor: 'config',
            data: { roles: [...roles], source: 'config' },
          },
          { durable: true },
        );
      } else if (a.source === 'config' && !sameRoles(a.roles, roles)) {
        await this.setRoles(id, roles, 'config');
      }
    }
  }

  private async keyMaterial(
    id: string,
    publicKey: string | undefined,
    generate: KeyAlg | undefined,
  ): Promise<{ key: AgentKey; sealed?: Buffer; privateKeyPem?: string } | undefined> {
    if (publicKey !== undefined) {
      const { key, alg } = parsePublicKey(publicKey);
      return { key: { alg, pem: publicKeyPem(key), jkt: await jwkThumbprint(key), origin: 'agent' } };
    }
    if (generate === undefined) return undefined;
    const pair = generateAgentKeyPair(generate);
    const jkt = await jwkThumbprint(pair.publicKey);
    const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    const sealed = this.master.seal(der, `agent-key:${id}:${jkt}`);
    der.fill(0);
    return {
      key: { alg: generate, pem: publicKeyPem(pair.publicKey), jkt, origin: 'generated' },
      sealed,
      privateKeyPem: pair.privateKeyPem,
    };
  }

  private async reload(id: string): Promise<AgentRecord> {
    const row = await this.store.get<StampedRow>(`SELECT ${COLUMNS}, seq FROM identity_agents WHERE id = ?`, [id]);
    if (!row) throw new IdentityError(IdentityCodes.agentUnknown, `agent ${id} is not registered`);
    return this.apply(row);
  }

  private async loadSince(since: number): Promise<void> {
    const rows = await this.store.all<StampedRow>(`SELECT ${COLUMNS}, seq FROM identity_agents WHERE seq > ?`, [since]);
    for (const row of rows) {
      const from = this.agents.get(row.id)?.status;
      const rec = this.apply(row);
      if (from !== undefined && rec.status !== from) for (const fn of this.statusListeners) fn(rec, from);
    }
  }

  /**
   * Takes a row into memory unless memory already holds a later version of it: a catch-up that read the row
   * before a write of this process committed must not undo that write.
   */
  private apply(row: StampedRow): AgentRecord {
    const prev = this.agents.get(row.id);
    const stamp = this.stamps.get(row.id);
    if (prev && stamp !== undefined && row.seq < stamp) return prev;
    this.stamps.set(row.id, row.seq);
    const roles = JSON.parse(row.roles) as string[];
    const rec: AgentRecord = {
      id: row.id,
      status: row.status,
      statusReason: row.status_reason ?? undefined,
      roles: prev && sameRoles(prev.roles, roles) ? prev.roles : Object.freeze(roles),
      description: row.description ?? undefined,
      source: row.source,
      key:
        row.key_alg && row.public_pem && row.jkt && row.key_origin
          ? prev?.key && prev.key.jkt === row.jkt
            ? prev.key
            : { alg: row.key_alg, pem: row.public_pem, jkt: row.jkt, origin: row.key_origin }
          : undefined,
      generation: row.generation,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      rotatedAt: row.rotated_at ?? undefined,
      nextRotationAt: row.next_rotation_at ?? undefined,
      expiresAt: row.expires_at ?? undefined,
    };
    if (prev?.key && prev.key.jkt !== rec.key?.jkt) this.keyObjects.delete(`${row.id}\u0000${prev.key.jkt}`);
    this.agents.set(row.id, rec);
    return rec;
  }
}

function dedupe(roles: readonly string[]): string[] {
  return [...new Set(roles)];
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}
