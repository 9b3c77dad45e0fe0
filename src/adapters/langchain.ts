import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { BaseMessage } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import { DynamicStructuredTool, type StructuredToolInterface, type ToolRunnableConfig } from '@langchain/core/tools';
import type { Approver } from '../guard/approvers.js';
import { GuardDeniedError } from '../guard/errors.js';
import { createGuard, guardSession } from '../guard/guard.js';
import type { GuardHost } from '../guard/host.js';

export interface LangChainOptions {
  agent: string;
  session?: string;
  /** How Gatehouse asks for a `review` decision; default: wait for an out-of-band approval. */
  approver?: Approver;
  approvalTimeoutMs?: number;
  /** Catalogue name of each tool; default: the tool's own name. */
  names?: Record<string, string>;
}

/**
 * Wraps a LangChain tool: same name, description and schema; each call is decided, approved where needed, run
 * with exactly the approved arguments, and its result screened and redacted. A refusal throws `GuardDeniedError`
 * (LangGraph's ToolNode turns it into an error ToolMessage for the model).
 *
 * @example
 * const tools = [readFile, sendEmail].map((t) => gatehouseTool(gh, t, { agent: 'bot', session: 's1' }));
 */
export function gatehouseTool(
  host: GuardHost,
  t: StructuredToolInterface,
  opts: LangChainOptions,
): DynamicStructuredTool {
  const name = opts.names?.[t.name] ?? t.name;
  return new DynamicStructuredTool({
    name: t.name,
    description: t.description,
    schema: t.schema,
    func: async (input: unknown, _run, config) => {
      // Without the outer call's toolCall the inner tool returns its plain output, not a second ToolMessage.
      const { toolCall: _outer, ...inner } = (config ?? {}) as ToolRunnableConfig;
      const guarded = createGuard(host, name, (a: Record<string, unknown>) => t.invoke(a, inner), {
        agent: opts.agent,
        session: opts.session ?? 'default',
        ...(opts.approver ? { approver: opts.approver } : {}),
        ...(opts.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: opts.approvalTimeoutMs } : {}),
      });
      const out = await guarded((input ?? {}) as Record<string, unknown>);
      return typeof out === 'string' ? out : JSON.stringify(out);
    },
  });
}

/**
 * A callback handler that screens the newest human message before a chat model runs (a deny throws
 * `GuardDeniedError` and the model is not called) and checks each completion: a completion Gatehouse would deny or
 * redact throws, so a secret or exfiltration link never leaves the chain as it stands. Awaited, and its errors
 * raised, by design.
 *
 * @example
 * await model.invoke(messages, { callbacks: [new GatehouseCallbackHandler(gh, { agent: 'bot' })] });
 */
export class GatehouseCallbackHandler extends BaseCallbackHandler {
  name = 'gatehouse';
  override raiseError = true;
  override awaitHandlers = true;
  private readonly s: ReturnType<typeof guardSession>;

  constructor(host: GuardHost, opts: { agent: string; session?: string }) {
    super();
    this.s = guardSession(host, opts.session ?? 'default', { agent: opts.agent });
  }

  override async handleChatModelStart(_llm: unknown, messages: BaseMessage[][]): Promise<void> {
    const last = messages
      .at(-1)
      ?.filter((m) => m.getType() === 'human')
      .at(-1);
    if (last) await this.s.screenInput(last.text);
  }

  override async handleLLMEnd(output: LLMResult): Promise<void> {
    for (const gens of output.generations) {
      for (const g of gens) {
        // Chat generations carry their text on the message.
        const text = g.text || ('message' in g && isMessage(g.message) ? g.message.text : '');
        if (!text) continue;
        const filtered = await this.s.filterOutput(text);
        if (filtered !== text) {
          throw new GuardDeniedError('guard.output_denied', 'the model output carries content Gatehouse redacts', {
            reasons: [{ code: 'redact.output', message: 'a secret, PII or exfiltration carrier in the completion' }],
          });
        }
      }
    }
  }
}

/**
 * Redacts a streamed completion (`for await (const chunk of model.stream(...))`): a secret split across chunks
 * is still caught.
 */
export async function* redactStream(
  host: GuardHost,
  stream: AsyncIterable<{ text: string } | string>,
  opts: { agent: string; session?: string },
): AsyncGenerator<string> {
  const r = guardSession(host, opts.session ?? 'default', { agent: opts.agent }).stream();
  for await (const chunk of stream) {
    const out = r.push(typeof chunk === 'string' ? chunk : chunk.text);
    if (out) yield out;
  }
  const tail = r.end();
  if (tail) yield tail;
}

function isMessage(m: unknown): m is BaseMessage {
  return typeof m === 'object' && m !== null && typeof (m as { text?: unknown }).text === 'string';
}

export { GuardDeniedError };
