import type { AgentRecord, AgentStatus } from './agents.js';
import { type IdentityCode, IdentityCodes, IdentityError } from './errors.js';

const STATUS_CODES: Record<Exclude<AgentStatus, 'active'>, IdentityCode> = {
  suspended: IdentityCodes.agentSuspended,
  revoked: IdentityCodes.agentRevoked,
  quarantined: IdentityCodes.agentQuarantined,
  compromised: IdentityCodes.agentCompromised,
  expired: IdentityCodes.agentExpired,
};

/** Throws the status's own reason code unless the agent is active. */
export function assertActive(agent: AgentRecord, status: AgentStatus): void {
  if (status === 'active') return;
  throw new IdentityError(
    STATUS_CODES[status],
    `agent ${agent.id} is ${status}${agent.statusReason ? `: ${agent.statusReason}` : ''}`,
  );
}
