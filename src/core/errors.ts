/**
 * Typed errors with stable codes. Callers branch on `code`, humans read `message`.
 * Messages never carry secret values.
 */
export class GatehouseError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration file failed to parse or validate; names file, line and key path. */
export class ConfigError extends GatehouseError {
  readonly file: string;
  readonly line: number | undefined;
  readonly path: string;
  constructor(file: string, line: number | undefined, path: string, message: string) {
    super('config.invalid', `${file}${line !== undefined ? `:${line}` : ''}: ${path ? `${path}: ` : ''}${message}`);
    this.file = file;
    this.line = line;
    this.path = path;
  }
}

/** External input (an action, a request body, a CLI argument) is malformed. */
export class InputError extends GatehouseError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('input.invalid', path ? `${path}: ${message}` : message);
    this.path = path;
  }
}

/** The embedded store failed or holds data that does not match its schema. */
export class StoreError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'store.error', message, options);
  }
}

/**
 * The shared store cannot be reached (PostgreSQL down, connection refused, timed out). Decisions that need it
 * deny with this code, `store.unavailable`, and the gateway reports itself degraded until a query succeeds.
 */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'store.unavailable' });
  }
}

/** The audit log could not be written or read. */
export class AuditError extends GatehouseError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A key could not be unsealed or the master key is missing or wrong. */
export class KeyError extends GatehouseError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Something was asked for that does not exist. */
export class NotFoundError extends GatehouseError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

/** A human-readable one-line description of any thrown value, without a stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
