import type { ActionInput } from '../core/action.js';
import { canonicalize } from '../core/canonical.js';
import type { Decision, Reason } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';
import { Redactor } from '../redact/redact.js';
import { type StreamOptions, StreamRedactor } from '../redact/stream.js';
import type { SandboxResult } from '../sandbox/runner.js';
import { type ApprovalOutcome, type Approver, waitForApproval } from './approvers.js';
import { GuardDeniedError } from './errors.js';
import type { GuardHost } from './host.js';

/** A command to run in the sandbox profile the catalogue names for the tool. */
export interface SandboxCommand {
  argv: readonly string[];
  stdin?: string;
  /** Values may carry `{{secret:NAME}}` handles; resolved just before the run. */
  env?: Record<string, string>;
  workspace?: string;
  timeout?: number;
}

export interface GuardOptions<A> {
  agent: string;
  session?: string;
  /** How a `review` decision is put to a human; default: wait for an out-of-band decision (CLI, dashboard, API). */
  approver?: Approver;
  /** How long to wait for an approval before the call is refused. Default 5 minutes. */
  approvalTimeoutMs?: number;
  /**
   * For tools the catalogue runs in a sandbox: the command the (approved, credential-resolved) arguments map to.
   * A sandboxed tool without one is refused, never run unsandboxed.
   */
  command?: (args: A) => SandboxCommand;
}

/** Every step of one guarded call, for callers (and adapters) that want to show what happened. */
export interface GuardTrace {
  call: Decision;
  approval?: { id: string; outcome: ApprovalOutcome };
  /** The decision after approval, which consumed it. */
  approved?: Decision;
  result?: Decision;
}

export interface Guarded<A extends Record<string, unknown>, R> {
  (args: A): Promise<R | string>;
  readonly tool: string;
  /** Like calling the guard, and also returns the decisions taken. */
  run(args: A): Promise<{ value: R | string; trace: GuardTrace }>;
}

const DEFAULT_APPROVAL_TIMEOUT = 300_000;

/**
 * Wraps a tool so every call is decided first and its result screened after:
 * decide `tool_call` → (review: ask the approver, then decide again, consuming the approval) → refuse if the
 * decision changed the arguments → resolve `{{secret:NAME}}` handles → run (in the sandbox where the catalogue
 * says so) → decide `tool_result` (screens injected instructions, labels the session, redacts) → return the
 * filtered result. Every decision is audited by `decide`. A refusal throws `GuardDeniedError`.
 *
 * @example
 * const send = createGuard(gh, 'email.send', (a: { to: string }) => mailer.send(a), { agent: 'bot', session: 's1' });
 * await send({ to: 'ops@example.com' }); // throws GuardDeniedError { code: 'guard.denied', reasons } when denied
 */
export function createGuard<A extends Record<string, unknown>, R>(
  host: GuardHost,
  tool: string,
  fn: (args: A) => R | Promise<R>,
  options: GuardOptions<A>,
): Guarded<A, R> {
  const session = options.session ?? 'default';
  const approver = options.approver ?? waitForApproval();
  const timeoutMs = options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT;

  const run = async (args: A): Promise<{ value: R | string; trace: GuardTrace }> => {
    const action: ActionInput = { kind: 'tool_call', agent: options.agent, session, tool, args };
    const call = await decideOrDeny(host, action, tool);
    const trace: GuardTrace = { call };
    let allowed = call;
    if (call.effect === 'review') {
      const id = call.approvalRequest;
      if (!id) throw denied('guard.denied', `${tool} needs an approval and none could be requested`, call, tool);
      const outcome = await askApproval(host, approver, timeoutMs, {
        id,
        agent: options.agent,
        session,
        tool,
        args,
        tier: call.tier,
        reasons: call.reasons,
      });
      trace.approval = { id, outcome };
      if (outcome !== 'approved') {
        throw new GuardDeniedError(`guard.approval_${outcome}`, `${tool} was not approved: ${outcome}`, {
          reasons: call.reasons,
          tool,
          decisionId: call.id,
          approvalRequest: id,
        });
      }
      allowed = await decideOrDeny(host, action, tool);
      trace.approved = allowed;
    }
    if (allowed.effect !== 'allow') throw denied('guard.denied', `${tool} was not allowed`, allowed, tool);
    // The tool runs with exactly the approved arguments: a decision that rewrote them (a redacted argument) is a
    // different call than the one approved, so it is refused, not run changed.
    if (canonicalize(allowed.action.args ?? {}) !== canonicalize(args)) {
      throw new GuardDeniedError('guard.args_changed', `${tool}: the decision changed the arguments; not run`, {
        reasons: allowed.reasons.filter((r) => r.code.startsWith('redact') || r.code.startsWith('filter')),
        tool,
        decisionId: allowed.id,
      });
    }
    const resolved = await resolveHandles(host, args, { agent: options.agent, tool, session });
    const profile = sandboxProfile(allowed);
    let raw: unknown;
    if (profile) {
      if (!options.command || !host.sandbox) {
        throw new GuardDeniedError(
          'guard.not_sandboxed',
          `${tool} runs in sandbox profile ${profile}; give options.command (and an in-process Gatehouse)`,
          { tool, decisionId: allowed.id },
        );
      }
      raw = summarizeRun(await runSandboxed(host, options.command(resolved), profile, options.agent, session, tool));
    } else {
      raw = await fn(resolved);
    }
    const content = typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? 'null');
    const result = await decideOrDeny(
      host,
      { kind: 'tool_result', agent: options.agent, session, tool, content, source: `tool:${tool}` },
      tool,
    );
    trace.result = result;
    if (result.effect !== 'allow') {
      throw denied('guard.result_denied', `the result of ${tool} was withheld`, result, tool);
    }
    const filtered = result.action.content ?? '';
    if (typeof raw === 'string') return { value: filtered, trace };
    try {
      return { value: JSON.parse(filtered) as R, trace };
    } catch {
      return { value: filtered, trace };
    }
  };
  const guarded = (async (args: A) => (await run(args)).value) as Guarded<A, R>;
  Object.defineProperty(guarded, 'tool', { value: tool });
  Object.defineProperty(guarded, 'run', { value: run });
  return guarded;
}

/** A conversation: guards, input screening and output filtering under one agent and session. */
export interface GuardSession {
  readonly id: string;
  readonly agent: string;
  guard<A extends Record<string, unknown>, R>(
    tool: string,
    fn: (args: A) => R | Promise<R>,
    options?: Omit<GuardOptions<A>, 'agent' | 'session'>,
  ): Guarded<A, R>;
  /** Screens user (or other) input; throws `guard.input_denied` on deny, returns the redacted text. */
  screenInput(text: string, source?: 'user' | 'public' | 'web' | 'owner'): Promise<string>;
  /** Filters model output (secrets, PII, exfiltration links); throws `guard.output_denied` on deny. */
  filterOutput(text: string): Promise<string>;
  /** A streaming redactor for chunked model output: a secret split across chunks is still redacted. */
  stream(opts?: StreamOptions): StreamRedactor;
}

/**
 * Scopes guards and filters to one conversation.
 *
 * @example
 * const s = guardSession(gh, 'chat-42', { agent: 'bot' });
 * const read = s.guard('fs.read', readFile);
 * const safe = await s.filterOutput(modelText);
 */
export function guardSession(
  host: GuardHost,
  id: string,
  opts: { agent: string; approver?: Approver; approvalTimeoutMs?: number },
): GuardSession {
  const redactor = host.redactor ?? new Redactor();
  return {
    id,
    agent: opts.agent,
    guard: (tool, fn, o = {}) =>
      createGuard(host, tool, fn, {
        ...(opts.approver ? { approver: opts.approver } : {}),
        ...(opts.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: opts.approvalTimeoutMs } : {}),
        ...o,
        agent: opts.agent,
        session: id,
      }),
    async screenInput(text, source = 'user') {
      const d = await decideOrDeny(host, { kind: 'input', agent: opts.agent, session: id, content: text, source });
      if (d.effect !== 'allow') throw denied('guard.input_denied', 'the input was refused', d);
      return d.action.content ?? '';
    },
    async filterOutput(text) {
      const d = await decideOrDeny(host, { kind: 'output', agent: opts.agent, session: id, content: text });
      if (d.effect !== 'allow') throw denied('guard.output_denied', 'the output was withheld', d);
      return d.action.content ?? '';
    },
    stream: (o = {}) => new StreamRedactor(redactor, o),
  };
}

/** Fail closed: a decision that cannot be made is a refusal, with the cause kept. */
async function decideOrDeny(host: GuardHost, action: ActionInput, tool?: string): Promise<Decision> {
  try {
    return await host.decide(action);
  } catch (err) {
    const code = err instanceof GatehouseError ? err.code : 'internal';
    throw new GuardDeniedError(
      'guard.error',
      `no decision could be made: ${err instanceof Error ? err.message : String(err)}`,
      { reasons: [{ code, message: 'the decision failed' }], ...(tool ? { tool } : {}) },
      { cause: err },
    );
  }
}

function denied(code: string, message: string, d: Decision, tool?: string): GuardDeniedError {
  const decisive: Reason[] = d.verdicts.filter((v) => v.effect === d.effect).flatMap((v) => v.reasons);
  return new GuardDeniedError(code, message, {
    reasons: decisive.length > 0 ? decisive : d.reasons,
    ...(tool ? { tool } : {}),
    decisionId: d.id,
    ...(d.approvalRequest ? { approvalRequest: d.approvalRequest } : {}),
  });
}

async function askApproval(
  host: GuardHost,
  approver: Approver,
  timeoutMs: number,
  prompt: Parameters<Approver['request']>[0],
): Promise<ApprovalOutcome> {
  const stop = new AbortController();
  const ctx = { host, timeoutMs, signal: stop.signal };
  const waits = [approver.request(prompt, ctx)];
  if (approver.name !== 'out-of-band') waits.push(waitForApproval().request(prompt, ctx));
  try {
    return await Promise.race(waits);
  } catch (err) {
    throw new GuardDeniedError(
      'guard.approval_failed',
      `asking for approval ${prompt.id} failed: ${err instanceof Error ? err.message : String(err)}`,
      { tool: prompt.tool, approvalRequest: prompt.id },
      { cause: err },
    );
  } finally {
    stop.abort();
  }
}

async function resolveHandles<A>(host: GuardHost, args: A, ctx: { agent: string; tool: string; session: string }) {
  if (!host.credentials) {
    if (/\{\{\s*secret:/.test(JSON.stringify(args) ?? '')) {
      throw new GuardDeniedError(
        'guard.no_credentials',
        `${ctx.tool}: credential handles need an in-process Gatehouse`,
        {
          tool: ctx.tool,
        },
      );
    }
    return args;
  }
  try {
    return (await host.credentials.resolve(args, { ...ctx, target: 'args' })).value;
  } catch (err) {
    const code = err instanceof GatehouseError ? err.code : 'credentials.error';
    throw new GuardDeniedError(
      'guard.credentials',
      `${ctx.tool}: a credential could not be resolved`,
      { reasons: [{ code, message: err instanceof Error ? err.message : String(err) }], tool: ctx.tool },
      { cause: err },
    );
  }
}

function sandboxProfile(d: Decision): string | undefined {
  for (const v of d.verdicts) if (v.facts?.sandboxProfile) return v.facts.sandboxProfile;
  return undefined;
}

async function runSandboxed(
  host: GuardHost,
  cmd: SandboxCommand,
  profile: string,
  agent: string,
  session: string,
  tool: string,
): Promise<SandboxResult> {
  const env = cmd.env ? await resolveEnv(host, cmd.env, { agent, tool, session }) : undefined;
  return host.sandbox!.run(cmd.argv, {
    profile,
    agent,
    session,
    tool,
    ...(cmd.stdin !== undefined ? { stdin: cmd.stdin } : {}),
    ...(cmd.workspace ? { workspace: cmd.workspace } : {}),
    ...(cmd.timeout !== undefined ? { timeout: cmd.timeout } : {}),
    ...(env ? { env } : {}),
  });
}

async function resolveEnv(
  host: GuardHost,
  env: Record<string, string>,
  ctx: { agent: string; tool: string; session: string },
): Promise<Record<string, string>> {
  if (!host.credentials) return env;
  return (await host.credentials.resolve(env, { ...ctx, target: 'env' })).value;
}

function summarizeRun(r: SandboxResult): { exitCode: number; stdout: string; stderr: string; timedOut: boolean } {
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
}
