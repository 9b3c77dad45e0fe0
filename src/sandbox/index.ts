export { type EgressEvent, EgressProxy, type EgressProxyOptions } from './egress-proxy.js';
export { SandboxRunError, SandboxUnavailableError } from './errors.js';
export { type ResolvedProfile, resolveProfile } from './profiles.js';
export {
  createSandbox,
  type RunOptions,
  Sandbox,
  type SandboxAudit,
  type SandboxOptions,
  type SandboxResult,
} from './runner.js';
export { seccompFilterBytes, seccompProgram } from './seccomp.js';
export { createSandboxStage } from './stage.js';
export { runSandboxedTool, type ToolRunRequest } from './tools.js';
