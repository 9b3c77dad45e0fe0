import type { LimitsConfig } from '../config/sections/policy.js';
import type { Decision } from '../core/decision.js';

/**
 * The HTTP status of a decision, so that proxies, SDK retry logic and dashboards can tell "who are you?" from
 * "not you, not now" from "slow down" from "no":
 * - 401: the credential itself failed (missing, malformed, expired, revoked token or certificate, bad proof);
 * - 403: a valid credential of an agent whose state forbids acting (revoked, suspended, quarantined, compromised);
 * - 429: a rate limit (`limits.rate.*`), with `Retry-After` in seconds;
 * - 200: every other decision, policy denies included: the body is the Decision either way.
 */
export interface DecisionStatus {
  status: 200 | 401 | 403 | 429;
  headers: Record<string, string>;
}

/** Agent states that deny a caller whose credential verified. */
const AGENT_STATE = new Set([
  'identity.agent_revoked',
  'identity.agent_suspended',
  'identity.agent_quarantined',
  'identity.agent_compromised',
  'identity.agent_expired',
  'response.agent_quarantined',
]);
/** A valid credential presented for another agent or session: an authorization deny, not an authentication one. */
const MISMATCH = new Set(['identity.token_subject_mismatch', 'identity.token_session_mismatch']);

export function decisionStatus(d: Decision, limits: LimitsConfig | undefined): DecisionStatus {
  if (d.effect !== 'deny') return { status: 200, headers: {} };
  const auth = d.verdicts.find((v) => v.stage === 'authenticate' && v.effect === 'deny');
  const codes = d.reasons.map((r) => r.code);
  if (codes.some((c) => AGENT_STATE.has(c))) return { status: 403, headers: {} };
  if (auth && !auth.reasons.some((r) => MISMATCH.has(r.code))) {
    return { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } };
  }
  const rate = codes.filter((c) => c.startsWith('limits.rate.'));
  if (rate.length > 0) return { status: 429, headers: { 'retry-after': String(retryAfter(rate, limits)) } };
  return { status: 200, headers: {} };
}

/** Seconds until a token bucket of the slowest exceeded rate refills one call. */
function retryAfter(codes: string[], limits: LimitsConfig | undefined): number {
  const perMinute: number[] = [];
  if (codes.includes('limits.rate.agent') && limits?.per_agent?.tool_calls_per_minute) {
    perMinute.push(limits.per_agent.tool_calls_per_minute);
  }
  if (codes.includes('limits.rate.tool')) {
    for (const r of Object.values(limits?.per_tool ?? {})) if (r.calls_per_minute) perMinute.push(r.calls_per_minute);
  }
  return perMinute.length === 0 ? 60 : Math.max(1, Math.ceil(60 / Math.min(...perMinute)));
}
