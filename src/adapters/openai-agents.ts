import type {
  Agent,
  AgentOutputType,
  FunctionTool,
  InputGuardrail,
  OutputGuardrail,
  RunContext,
  Tool,
} from '@openai/agents';
import { type Approver, callbackApprover } from '../guard/approvers.js';
import { GuardDeniedError } from '../guard/errors.js';
import { createGuard, guardSession } from '../guard/guard.js';
import type { GuardHost } from '../guard/host.js';

export interface AgentsOptions {
  agent: string;
  session?: string;
  /** How Gatehouse asks for a `review` decision; default: wait for an out-of-band approval. */
  approver?: Approver;
  approvalTimeoutMs?: number;
  /**
   * `sdk`: a call Gatehouse would send for approval becomes the SDK's human-in-the-loop interruption
   * (`result.interruptions`, `state.approve(item)`, run again); the answer is recorded in Gatehouse as approver
   * `openai-agents:<approverName>`. Default `gatehouse`: the approver above decides inside the tool call.
   */
  approval?: 'gatehouse' | 'sdk';
  approverName?: string;
  /** Catalogue name of each tool; default: the tool's own name. */
  names?: Record<string, string>;
}

/**
 * Wraps a function tool: each invocation is decided, approved where needed, run with exactly the approved
 * arguments, and its result screened and redacted. A refusal is returned to the model as the tool's output
 * (`Gatehouse refused: <codes>`), so the run goes on and the model can explain; other tool kinds pass unchanged.
 *
 * @example
 * const agent = new Agent({ name: 'bot', tools: [gatehouseTool(gh, readFile, { agent: 'bot' })] });
 */
export function gatehouseTool<C, R>(
  host: GuardHost,
  t: FunctionTool<C, never, R>,
  opts: AgentsOptions,
): FunctionTool<C, never, R | string> {
  const name = opts.names?.[t.name] ?? t.name;
  const session = opts.session ?? 'default';
  const sdk = opts.approval === 'sdk';
  const approver = sdk
    ? callbackApprover(() => true, { approver: `openai-agents:${opts.approverName ?? 'user'}` })
    : opts.approver;
  const invoke: FunctionTool<C, never, R | string>['invoke'] = async (ctx, input, details) => {
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(input || '{}');
      args = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return 'Gatehouse refused: the tool arguments are not a JSON object';
    }
    const guarded = createGuard(host, name, (a: Record<string, unknown>) => t.invoke(ctx, JSON.stringify(a), details), {
      agent: opts.agent,
      session,
      ...(approver ? { approver } : {}),
      ...(opts.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: opts.approvalTimeoutMs } : {}),
    });
    try {
      return (await guarded(args)) as R | string;
    } catch (err) {
      if (err instanceof GuardDeniedError) return `Gatehouse refused ${name}: ${err.code} (${err.codes.join(', ')})`;
      throw err;
    }
  };
  return {
    ...t,
    invoke,
    ...(sdk
      ? {
          needsApproval: async (_ctx: RunContext, input: unknown) => {
            const d = await host.decide({
              kind: 'tool_call',
              agent: opts.agent,
              session,
              tool: name,
              args: (input ?? {}) as Record<string, unknown>,
            });
            return d.effect === 'review';
          },
        }
      : {}),
  } as FunctionTool<C, never, R | string>;
}

/** Input guardrail: a prompt Gatehouse denies (injection, policy) trips the wire before the model runs. */
export function gatehouseInputGuardrail(host: GuardHost, opts: { agent: string; session?: string }): InputGuardrail {
  const s = guardSession(host, opts.session ?? 'default', { agent: opts.agent });
  return {
    name: 'gatehouse.input',
    runInParallel: false,
    execute: async ({ input }) => {
      const text = typeof input === 'string' ? input : textOfItems(input);
      try {
        await s.screenInput(text);
        return { tripwireTriggered: false, outputInfo: { codes: [] } };
      } catch (err) {
        if (!(err instanceof GuardDeniedError)) throw err;
        return { tripwireTriggered: true, outputInfo: { code: err.code, codes: err.codes } };
      }
    },
  };
}

/**
 * Output guardrail: a final answer Gatehouse would deny or redact (a secret, PII, an exfiltration link) trips the
 * wire, so it never reaches the user as it stands. `outputInfo.redacted` holds the filtered text.
 */
export function gatehouseOutputGuardrail(host: GuardHost, opts: { agent: string; session?: string }): OutputGuardrail {
  const s = guardSession(host, opts.session ?? 'default', { agent: opts.agent });
  return {
    name: 'gatehouse.output',
    execute: async ({ agentOutput }) => {
      const text = typeof agentOutput === 'string' ? agentOutput : JSON.stringify(agentOutput);
      try {
        const redacted = await s.filterOutput(text);
        return { tripwireTriggered: redacted !== text, outputInfo: { redacted } };
      } catch (err) {
        if (!(err instanceof GuardDeniedError)) throw err;
        return { tripwireTriggered: true, outputInfo: { code: err.code, codes: err.codes } };
      }
    },
  };
}

/**
 * One line: a copy of the agent with every function tool guarded and Gatehouse input and output guardrails added.
 *
 * @example
 * const result = await run(withGatehouse(gh, agent, { agent: 'bot', session: 's1' }), 'hello');
 */
export function withGatehouse<C, O extends AgentOutputType>(
  host: GuardHost,
  agent: Agent<C, O>,
  opts: AgentsOptions,
): Agent<C, O> {
  const tools = agent.tools.map((t: Tool<C>) =>
    t.type === 'function' ? (gatehouseTool(host, t as FunctionTool<C, never>, opts) as Tool<C>) : t,
  );
  return agent.clone({
    tools,
    inputGuardrails: [...agent.inputGuardrails, gatehouseInputGuardrail(host, opts)],
    outputGuardrails: [...agent.outputGuardrails, gatehouseOutputGuardrail(host, opts) as never],
  });
}

function textOfItems(items: readonly unknown[]): string {
  const out: string[] = [];
  for (const it of items) {
    if (!it || typeof it !== 'object') continue;
    const item = it as { role?: unknown; content?: unknown };
    if (item.role !== 'user') continue;
    if (typeof item.content === 'string') out.push(item.content);
    else if (Array.isArray(item.content))
      for (const c of item.content as { type?: unknown; text?: unknown }[])
        if (typeof c?.text === 'string') out.push(c.text);
  }
  return out.join('\n');
}

export { GuardDeniedError };
