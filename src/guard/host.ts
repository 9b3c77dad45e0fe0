import type { ActionInput } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import type { ResolveContext } from '../credentials/broker.js';
import type { Redactor } from '../redact/redact.js';
import type { RunOptions, SandboxResult } from '../sandbox/runner.js';

/** The part of an approval record a guard looks at (in process: `ApprovalRecord`; over HTTP: the approval view). */
export interface ApprovalState {
  id: string;
  status: 'pending' | 'approved' | 'denied' | 'used' | 'expired';
  approver?: string | null;
}

/**
 * What a guard needs from Gatehouse. A `Gatehouse` instance satisfies it in process; a `GatehouseClient`
 * satisfies it against a separate gateway (no credentials or sandbox there: those stay with the gateway, so a
 * guarded call that needs them is refused).
 */
export interface GuardHost {
  decide(input: ActionInput): Promise<Decision>;
  approvals: {
    get(id: string): ApprovalState | Promise<ApprovalState>;
    wait(id: string, opts?: { timeoutMs?: number }): Promise<ApprovalState>;
    approve(id: string, approver: string, reason?: string): Promise<unknown>;
    deny(id: string, approver: string, reason?: string): Promise<unknown>;
  };
  credentials?: {
    resolve<T>(value: T, ctx: ResolveContext): Promise<{ value: T; used: string[] }>;
  };
  sandbox?: { run(cmd: readonly string[], opts?: RunOptions): Promise<SandboxResult> };
  redactor?: Redactor;
}
