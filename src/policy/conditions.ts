import { Environment } from '@marcbachmann/cel-js';
import { GatehouseError } from '../core/errors.js';
import { normalizeArgs } from './normalize.js';

/**
 * CEL conditions (`@marcbachmann/cel-js`), compiled and type-checked when the policy loads against the shapes
 * the evaluator passes (see `activation`): a field that does not exist is a load error, not a runtime one.
 *
 * Variables a condition sees:
 * - `principal`: `{agent, roles, method, proofOfPossession}` (roles include inherited ones; `method` is `host`,
 *   `token`, `certificate`, or `unknown` when the caller did not say; `proofOfPossession` is true only when this
 *   very request carried a valid proof)
 * - `action`: `{tool, kind, args}`; `args` is the caller's map, path and URI arguments normalised (normalize.ts)
 * - `resource`: the resource the action addresses (`workspace/docs/a.md`), `""` when none; with several, each in
 *   turn (a forbid applies when it holds for any, a permit only when it holds for all)
 * - `resources`: every resource the action addresses
 * - `context`: the action's context plus `hour`, `minute`, `weekday` (0 = Sunday), `day` from the injected clock,
 *   which override any caller-supplied keys of those names
 * - `session`: `{id, labels}`
 * - `now`: the injected clock as a timestamp
 *
 * Whole numbers are CEL `int`s, so `context.hour + 1 < 20` type-checks and runs.
 */
export class ConditionError extends GatehouseError {
  /** Offset of the problem in the condition's source, when the checker names one. */
  readonly offset: number | undefined;
  /** What is wrong, without the location prefix. */
  readonly detail: string;
  constructor(message: string, detail = message, offset?: number) {
    super('policy.condition_invalid', message);
    this.detail = detail;
    this.offset = offset;
  }
}

/** The principal as conditions see it. */
export interface ConditionPrincipal {
  agent: string;
  roles: readonly string[];
  method: string;
  proofOfPossession: boolean;
}

export interface ConditionInput {
  principal: ConditionPrincipal;
  action: { tool: string; kind: string; args: Record<string, unknown> };
  resource: string;
  resources: readonly string[];
  context: Record<string, unknown>;
  session: { id: string; labels: readonly string[] };
  now: number;
}

/**
 * CEL declarations of the activation's objects. `satisfies` ties each schema to the keys of ConditionInput, so a
 * field added to the activation without a declaration (or declared but never passed) fails to compile.
 */
type Schema<T> = { [K in keyof Required<T>]: string };
const PRINCIPAL = {
  agent: 'string',
  roles: 'list<string>',
  method: 'string',
  proofOfPossession: 'bool',
} satisfies Schema<ConditionPrincipal>;
const ACTION = { tool: 'string', kind: 'string', args: 'map<string, dyn>' } satisfies Schema<ConditionInput['action']>;
const SESSION = { id: 'string', labels: 'list<string>' } satisfies Schema<ConditionInput['session']>;

/** The declared shape of every variable (for tests and `policy validate`). */
export const CONDITION_SCHEMA = {
  principal: PRINCIPAL,
  action: ACTION,
  resource: 'string',
  resources: 'list<string>',
  context: 'map<string, dyn>',
  session: SESSION,
  now: 'google.protobuf.Timestamp',
} as const satisfies Record<keyof ConditionInput, unknown>;

const ENV = new Environment({
  unlistedVariablesAreDyn: false,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 400, maxDepth: 40, maxListElements: 200, maxMapEntries: 100, maxCallArguments: 16 },
})
  .registerVariable({ name: 'principal', schema: PRINCIPAL })
  .registerVariable({ name: 'action', schema: ACTION })
  .registerVariable('resource', CONDITION_SCHEMA.resource)
  .registerVariable('resources', CONDITION_SCHEMA.resources)
  .registerVariable('context', CONDITION_SCHEMA.context)
  .registerVariable({ name: 'session', schema: SESSION })
  .registerVariable('now', CONDITION_SCHEMA.now);

export type ConditionResult = { ok: true; value: boolean } | { ok: false; error: string };

export interface CompiledCondition {
  readonly source: string;
  /** True when the condition reads `resource`: it is evaluated once per addressed resource. */
  readonly perResource: boolean;
  evaluate(activation: Record<string, unknown>): ConditionResult;
}

/**
 * Parses and type-checks `source`; throws ConditionError naming `where`, with the offset of the problem in
 * `source`, on a syntax or type error.
 */
export function compileCondition(source: string, where: string): CompiledCondition {
  let fn: ReturnType<typeof ENV.parse>;
  try {
    fn = ENV.parse(source);
  } catch (err) {
    const { detail, offset } = describe(err);
    throw new ConditionError(`${where}: invalid CEL condition: ${detail}`, `invalid CEL: ${detail}`, offset);
  }
  const checked = fn.check();
  if (!checked.valid) {
    const { detail: raw, offset } = describe(checked.error);
    const detail = explainMissingField(raw, source, offset);
    throw new ConditionError(
      `${where}: CEL condition does not type-check: ${detail}`,
      `CEL condition does not type-check: ${detail}`,
      offset,
    );
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    const detail = `CEL condition must be a bool, it is ${checked.type}`;
    throw new ConditionError(`${where}: ${detail}`, detail, 0);
  }
  return {
    source,
    perResource: /\bresource\b/.test(source),
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

/** Builds the CEL activation once per request; integers become CEL ints, path and URI arguments are normalised. */
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
    args = toCel(normalizeArgs(input.action.args));
    break;
  }
  const p = input.principal;
  return {
    principal: { agent: p.agent, roles: p.roles, method: p.method, proofOfPossession: p.proofOfPossession },
    action: { tool: input.action.tool, kind: input.action.kind, args },
    resource: input.resource,
    resources: input.resources,
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

/** `No such key: x` becomes what was found and the fields the variable has. */
function explainMissingField(detail: string, source: string, offset: number | undefined): string {
  const key = /^No such key: ([A-Za-z_][A-Za-z0-9_]*)$/.exec(detail)?.[1];
  if (!key || offset === undefined) return detail;
  const owner = /([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*$/.exec(source.slice(Math.max(0, offset - 64), offset))?.[1];
  const schema = owner ? (CONDITION_SCHEMA as Record<string, unknown>)[owner] : undefined;
  if (!schema || typeof schema !== 'object') return `found field ${key}, which does not exist`;
  return `found ${owner}.${key}, expected one of the fields of ${owner}: ${Object.keys(schema).join(', ')}`;
}

/** The checker's one-line summary and the offset it points at. */
function describe(err: unknown): { detail: string; offset: number | undefined } {
  const e = err as { summary?: unknown; range?: { start?: unknown } } | undefined;
  const detail = typeof e?.summary === 'string' ? e.summary : firstLine(err);
  const start = e?.range?.start;
  return { detail, offset: typeof start === 'number' ? start : undefined };
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
