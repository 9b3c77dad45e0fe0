import { Environment } from '@marcbachmann/cel-js';
import { GatehouseError } from '../core/errors.js';

/**
 * CEL conditions (`@marcbachmann/cel-js`), compiled and type-checked when the policy loads.
 *
 * Variables a condition sees:
 * - `principal`: `{agent, roles}` (roles include inherited ones)
 * - `action`: `{tool, kind, args}`
 * - `resource`: the resource the action addresses (`workspace/docs/a.md`), `""` when none
 * - `context`: the action's context plus `hour`, `minute`, `weekday` (0 = Sunday), `day` from the injected clock,
 *   which override any caller-supplied keys of those names
 * - `session`: `{id, labels}`
 * - `now`: the injected clock as a timestamp
 *
 * Whole numbers are CEL `int`s, so `context.hour + 1 < 20` type-checks and runs.
 */
export class ConditionError extends GatehouseError {
  constructor(message: string) {
    super('policy.condition_invalid', message);
  }
}

const ENV = new Environment({
  unlistedVariablesAreDyn: false,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 400, maxDepth: 40, maxListElements: 200, maxMapEntries: 100, maxCallArguments: 16 },
})
  .registerVariable('principal', 'map')
  .registerVariable('action', 'map')
  .registerVariable('resource', 'string')
  .registerVariable('context', 'map')
  .registerVariable('session', 'map')
  .registerVariable('now', 'google.protobuf.Timestamp');

export interface ConditionInput {
  principal: { agent: string; roles: readonly string[] };
  action: { tool: string; kind: string; args: Record<string, unknown> };
  resource: string;
  context: Record<string, unknown>;
  session: { id: string; labels: readonly string[] };
  now: number;
}

export type ConditionResult = { ok: true; value: boolean } | { ok: false; error: string };

export interface CompiledCondition {
  readonly source: string;
  evaluate(activation: Record<string, unknown>): ConditionResult;
}

/** Parses and type-checks `source`; throws ConditionError naming `where` on a syntax or type error. */
export function compileCondition(source: string, where: string): CompiledCondition {
  let fn: ReturnType<typeof ENV.parse>;
  try {
    fn = ENV.parse(source);
  } catch (err) {
    throw new ConditionError(`${where}: invalid CEL condition: ${firstLine(err)}`);
  }
  const checked = fn.check();
  if (!checked.valid) {
    throw new ConditionError(`${where}: CEL condition does not type-check: ${firstLine(checked.error)}`);
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new ConditionError(`${where}: CEL condition must be a bool, it is ${checked.type}`);
  }
  return {
    source,
    evaluate(activation) {
      // A failing condition is an expected outcome, not a bug: skip capturing stack traces for its error.
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        const v: unknown = fn(activation);
        if (typeof v !== 'boolean') return { ok: false, error: `condition returned ${typeof v}, not a bool` };
        return { ok: true, value: v };
      } catch (err) {
        return { ok: false, error: firstLine(err) };
      } finally {
        Error.stackTraceLimit = limit;
      }
    },
  };
}

/** Builds the CEL activation once per request; integers become CEL ints. */
export function activation(input: ConditionInput): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  for (const k of Object.keys(input.context)) if (k !== '__proto__') context[k] = toCel(input.context[k]);
  const d = new Date(input.now);
  context.hour = BigInt(d.getUTCHours());
  context.minute = BigInt(d.getUTCMinutes());
  context.weekday = BigInt(d.getUTCDay());
  context.day = BigInt(d.getUTCDate());
  let args: unknown = input.action.args;
  for (const _ in input.action.args) {
    args = toCel(input.action.args);
    break;
  }
  return {
    principal: { agent: input.principal.agent, roles: input.principal.roles },
    action: { tool: input.action.tool, kind: input.action.kind, args },
    resource: input.resource,
    context,
    session: { id: input.session.id, labels: input.session.labels },
    now: d,
  };
}

function toCel(v: unknown, depth = 0): unknown {
  if (depth > 32) return null;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => toCel(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== '__proto__') out[k] = toCel(x, depth + 1);
    return out;
  }
  return v;
}

function firstLine(err: unknown): string {
  const msg =
    err instanceof Error
      ? err.message
      : typeof err === 'object' && err && 'message' in err
        ? String(err.message)
        : String(err);
  return msg.split('\n')[0] ?? msg;
}
