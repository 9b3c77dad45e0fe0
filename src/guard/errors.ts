import type { Reason } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';

/**
 * A guarded call did not run (or its result was withheld). `code` is stable, `reasons` carry the decision's
 * reason codes, `decisionId` points at the audit event. Messages name codes, never argument values.
 *
 * Codes: `guard.denied` (the call was denied), `guard.approval_denied` / `guard.approval_timeout` /
 * `guard.approval_expired` (a human said no or nobody answered), `guard.args_changed` (the decision changed the
 * arguments, e.g. redacted one: the changed call is refused rather than run), `guard.result_denied` (the
 * tool's result was blocked), `guard.output_denied` (model output was blocked), `guard.not_sandboxed` (the
 * catalogue puts the tool in a sandbox and no command was given), `guard.error` (fail closed on an internal error).
 */
export class GuardDeniedError extends GatehouseError {
  readonly reasons: readonly Reason[];
  readonly tool: string | undefined;
  readonly decisionId: string | undefined;
  readonly approvalRequest: string | undefined;

  constructor(
    code: string,
    message: string,
    detail: { reasons?: readonly Reason[]; tool?: string; decisionId?: string; approvalRequest?: string } = {},
    options?: { cause?: unknown },
  ) {
    const codes = (detail.reasons ?? []).map((r) => r.code);
    super(code, codes.length > 0 ? `${message} (${[...new Set(codes)].join(', ')})` : message, options);
    this.reasons = detail.reasons ?? [];
    this.tool = detail.tool;
    this.decisionId = detail.decisionId;
    this.approvalRequest = detail.approvalRequest;
  }

  /** The reason codes, for branching and for tool-error messages shown to a model. */
  get codes(): string[] {
    return this.reasons.map((r) => r.code);
  }
}
