import { GatehouseError } from '../core/errors.js';

/**
 * The sandbox cannot be guaranteed on this host, so nothing runs. `check` names the protection that is
 * missing (`bwrap.missing`, `cgroup.not_writable`, `seccomp.inactive`, …) and `hint` says how to fix it.
 */
export class SandboxUnavailableError extends GatehouseError {
  readonly check: string;
  readonly hint: string;
  constructor(check: string, message: string, hint: string, options?: { cause?: unknown }) {
    super('sandbox.unavailable', `sandbox unavailable (${check}): ${message}. Fix: ${hint}`, options);
    this.check = check;
    this.hint = hint;
  }
}

/** A single run failed for a reason that is not the command's own (bad workspace, setup failure, unknown profile). */
export class SandboxRunError extends GatehouseError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
