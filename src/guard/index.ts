export {
  type ApprovalOutcome,
  type ApprovalPrompt,
  type Approver,
  type ApproverContext,
  callbackApprover,
  cliApprover,
  describePrompt,
  elicitationApprover,
  waitForApproval,
  webhookApprover,
} from './approvers.js';
export { GuardDeniedError } from './errors.js';
export {
  createGuard,
  type Guarded,
  type GuardOptions,
  type GuardSession,
  type GuardTrace,
  guardSession,
  type SandboxCommand,
} from './guard.js';
export type { ApprovalState, GuardHost } from './host.js';
