import type { Effect, Reason, Tier } from '../core/decision.js';

/** What a caller records. The log adds seq, ts, prev and hash. */
export interface AuditEventInput {
  /** Dotted event type: `decision`, `identity.token_issued`, `approval.granted`, `audit.torn_tail`, … */
  type: string;
  agent?: string;
  session?: string;
  /** Who performed it when not the agent: `host`, `operator:<name>`, `gateway`. */
  actor?: string;
  /** A secret-free summary of the action. */
  action?: Record<string, unknown>;
  decision?: Effect;
  tier?: Tier;
  risk?: number;
  flagged?: boolean;
  reasons?: Reason[];
  epoch?: number;
  data?: Record<string, unknown>;
}

/** One stored event: `hash = SHA-256(prev ‖ JCS(event without hash))`. */
export interface AuditEvent extends AuditEventInput {
  seq: number;
  ts: string;
  prev: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** `,"hash":"<64 hex>"}` closes every line. */
export const HASH_SUFFIX_LENGTH = 75;
