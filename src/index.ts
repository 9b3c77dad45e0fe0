/**
 * Gatehouse's public API. Everything not exported here is internal and may change without notice.
 *
 * @example
 * import { Gatehouse } from 'gatehouse-agent';
 * const gh = await Gatehouse.open({ config: 'gatehouse.yaml', data: '.gatehouse' });
 * const d = await gh.decide({ kind: 'tool_call', agent: 'demo', session: 's1', tool: 'fs.read', args: { path: 'README.md' } });
 * console.log(d.effect, d.reasons);
 * await gh.close();
 */

export { type ApprovalRecord, type ApprovalStatus, Approvals, type DryRunner } from './approvals/store.js';
export { verifyWebhook } from './approvals/webhook.js';
export type { AuditEvent, AuditEventInput } from './audit/event.js';
// Audit.
export { AuditLog, type AuditReceipt } from './audit/log.js';
export { inclusionProof, leafHash, rootOf, verifyInclusion } from './audit/merkle.js';
export { openNote } from './audit/note.js';
export { toOcsf } from './audit/ocsf.js';
export { type AuditQuery, queryLog } from './audit/query.js';
export { buildReport, type ComplianceReport, type Framework } from './audit/report.js';
export { type VerifyResult, verifyLog } from './audit/verify.js';
export { EXAMPLE_CONFIG } from './config/example.js';
// Configuration.
export { loadConfigFile, parseConfig, validateConfig } from './config/load.js';
export { type Config, type ConfigInput, ConfigSchema } from './config/schema.js';
export { type Action, type ActionInput, type ActionKind, ActionSchema, bindingHash } from './core/action.js';
export { type Clock, ManualClock, systemClock } from './core/clock.js';
export type {
  ActionPatch,
  ApprovalRef,
  Decision,
  Effect,
  Facts,
  Principal,
  Reason,
  Tier,
  Verdict,
} from './core/decision.js';
export {
  AuditError,
  ConfigError,
  GatehouseError,
  InputError,
  KeyError,
  NotFoundError,
  StoreError,
} from './core/errors.js';
export { KnownSecrets } from './core/known-secrets.js';
export type { Credentials, Stage, StageContext } from './core/pipeline.js';
export type { SessionState, TrustLabel } from './core/session.js';
export type { CredentialBackend } from './credentials/backend.js';
export { CredentialBroker } from './credentials/broker.js';
export { EnvBackend } from './credentials/env.js';
export { LocalVault } from './credentials/vault.js';
// The decision pipeline and its types.
export { type DecideOptions, Gatehouse, type OpenOptions, parseAction } from './gatehouse.js';
export type { AgentRecord, AgentStatus } from './identity/agents.js';
export { popMethod } from './identity/challenge.js';
export { createClientAssertion, createProof } from './identity/client.js';
export { IdentityCodes, IdentityError } from './identity/errors.js';
// Identity.
export { Identity, initIdentity, type TokenRequest } from './identity/service.js';
export type { TokenResponse, VerifiedToken } from './identity/tokens.js';
export { McpHttpProxy, McpSessions } from './mcp/http.js';
export { type ProxyIdentity, resolveProxyIdentity } from './mcp/identity.js';
export { ToolPins } from './mcp/pinning.js';
// MCP proxy.
export { McpProxy, type McpProxyOptions, type TextScreener } from './mcp/proxy.js';
// Monitoring and response.
export { Monitor } from './monitor/monitor.js';
// Authorization and approvals.
export { type Explanation, PolicyEngine } from './policy/stage.js';
// Output filtering and credentials.
export {
  type Finding as RedactionFinding,
  type RedactionMode,
  type RedactionResult,
  Redactor,
} from './redact/redact.js';
export { createSecretScrubber } from './redact/scrub.js';
export { createFilterStage, redactorFromConfig } from './redact/stage.js';
export { StreamRedactor } from './redact/stream.js';
export { Responder } from './response/playbooks.js';
export { SandboxRunError, SandboxUnavailableError } from './sandbox/errors.js';
// Sandbox.
export { createSandbox, type RunOptions, Sandbox, type SandboxResult } from './sandbox/runner.js';
export { createSandboxStage } from './sandbox/stage.js';
export { runSandboxedTool, type ToolRunRequest } from './sandbox/tools.js';
export type { Finding as ScreenFinding, ScreenResult } from './screen/index.js';
// Screening.
export { createScreenStage, Screener, type ScreenOptions, screenText, spotlight } from './screen/index.js';

// The HTTP gateway.
export { buildServer, type ServerOptions } from './server/app.js';
export { OperatorDirectory, requireOperator } from './server/operators.js';
