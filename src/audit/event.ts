import type { AuditEventInput } from '../core/audit.js';

/** What a caller records. The log adds seq, ts, prev and hash. */
export type { AuditEventInput };

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
