import { GatehouseError } from '../core/errors.js';

/**
 * Stable reason codes of every identity failure. Each adversarial case has its own code so that an
 * operator (and a test) can tell a tampered token from an expired one in the audit log.
 */
export const IdentityCodes = {
  noCredentials: 'identity.no_credentials',
  agentUnknown: 'identity.agent_unknown',
  agentSuspended: 'identity.agent_suspended',
  agentRevoked: 'identity.agent_revoked',
  agentQuarantined: 'identity.agent_quarantined',
  agentCompromised: 'identity.agent_compromised',
  agentExpired: 'identity.agent_expired',
  agentNoKey: 'identity.agent_no_key',
  agentExists: 'identity.agent_exists',
  agentStatus: 'identity.agent_status',
  forbidden: 'identity.forbidden',
  keyInvalid: 'identity.key_invalid',
  tokenMalformed: 'identity.token_malformed',
  tokenAlgNotAllowed: 'identity.token_alg_not_allowed',
  tokenType: 'identity.token_type',
  tokenUnknownKey: 'identity.token_unknown_key',
  tokenBadSignature: 'identity.token_bad_signature',
  tokenExpired: 'identity.token_expired',
  tokenNotYetValid: 'identity.token_not_yet_valid',
  tokenAudience: 'identity.token_audience',
  tokenIssuer: 'identity.token_issuer',
  tokenClaims: 'identity.token_claims',
  tokenRevoked: 'identity.token_revoked',
  tokenGeneration: 'identity.token_generation',
  tokenSubjectMismatch: 'identity.token_subject_mismatch',
  tokenSessionMismatch: 'identity.token_session_mismatch',
  tokenKeyMismatch: 'identity.token_key_mismatch',
  refreshInvalid: 'identity.refresh_invalid',
  refreshReused: 'identity.refresh_reused',
  refreshExpired: 'identity.refresh_expired',
  refreshRevoked: 'identity.refresh_revoked',
  assertionInvalid: 'identity.assertion_invalid',
  assertionBadSignature: 'identity.assertion_bad_signature',
  assertionExpired: 'identity.assertion_expired',
  assertionAudience: 'identity.assertion_audience',
  assertionReplayed: 'identity.assertion_replayed',
  popMalformed: 'identity.pop_malformed',
  popNonceUnknown: 'identity.pop_nonce_unknown',
  popNonceReplayed: 'identity.pop_nonce_replayed',
  popNonceExpired: 'identity.pop_nonce_expired',
  popBadSignature: 'identity.pop_bad_signature',
  popAudience: 'identity.pop_audience',
  popMethod: 'identity.pop_method',
  popStale: 'identity.pop_stale',
  popTokenMismatch: 'identity.pop_token_mismatch',
  popAgentMismatch: 'identity.pop_agent_mismatch',
  popRateLimited: 'identity.pop_rate_limited',
  certMalformed: 'identity.cert_malformed',
  certUntrusted: 'identity.cert_untrusted',
  certExpired: 'identity.cert_expired',
  certNotYetValid: 'identity.cert_not_yet_valid',
  certRevoked: 'identity.cert_revoked',
  certUsage: 'identity.cert_usage',
  certIdentity: 'identity.cert_identity',
  caMissing: 'identity.ca_missing',
} as const;

export type IdentityCode = (typeof IdentityCodes)[keyof typeof IdentityCodes];

/**
 * An identity check failed or an identity operation was refused. `code` is one of `IdentityCodes` and is
 * used verbatim as the deny reason code; the message never contains a token, key or nonce.
 */
export class IdentityError extends GatehouseError {
  override readonly code: IdentityCode;
  /** HTTP status the gateway answers with. */
  readonly status: number;
  /** Set once the failure is in the audit log, so an outer handler does not record it twice. */
  audited = false;
  constructor(code: IdentityCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.code = code;
    this.status = statusFor(code);
  }
}

function statusFor(code: IdentityCode): number {
  switch (code) {
    case IdentityCodes.agentExists:
    case IdentityCodes.agentStatus:
      return 409;
    case IdentityCodes.keyInvalid:
    case IdentityCodes.agentNoKey:
      return 400;
    case IdentityCodes.popRateLimited:
      return 429;
    case IdentityCodes.caMissing:
      return 503;
    case IdentityCodes.forbidden:
    case IdentityCodes.agentSuspended:
    case IdentityCodes.agentRevoked:
    case IdentityCodes.agentQuarantined:
    case IdentityCodes.agentCompromised:
    case IdentityCodes.agentExpired:
      return 403;
    default:
      return 401;
  }
}
