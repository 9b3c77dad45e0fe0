import type { Effect, Reason, Tier } from './decision.js';

/** An event as a component hands it to the audit log; the log adds seq, time and the hash chain. */
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

/**
 * The one port through which every component records security events. `AuditLog` implements it; components
 * depend on this interface, never on the log, so a stage cannot reach into the audit module.
 * `durable: true` resolves only once the event is on disk.
 */
export interface AuditSink {
  append(event: AuditEventInput, opts?: { durable?: boolean }): Promise<unknown>;
}
