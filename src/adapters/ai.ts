import type { LanguageModelMiddleware, ToolSet } from 'ai';
import type { Approver } from '../guard/approvers.js';
import { callbackApprover } from '../guard/approvers.js';
import { GuardDeniedError } from '../guard/errors.js';
import { createGuard, guardSession } from '../guard/guard.js';
import type { GuardHost } from '../guard/host.js';

export interface AiToolsOptions {
  agent: string;
  session?: string;
  /** How Gatehouse asks for a `review` decision; default: wait for an out-of-band approval. */
  approver?: Approver;
  approvalTimeoutMs?: number;
  /**
   * `sdk`: use the AI SDK's own tool-approval flow (`needsApproval` → `tool-approval-request` parts; your UI answers
   * with `tool-approval-response`), and record the SDK user's answer in Gatehouse as approver `ai-sdk:<approverName>`.
   * Default `gatehouse`: the approver above decides, the SDK never sees a pending approval.
   */
  approval?: 'gatehouse' | 'sdk';
  approverName?: string;
  /** Catalogue name of each tool key (AI SDK tool names cannot hold dots); default: the key itself. */
  names?: Record<string, string>;
}

type Stream = Awaited<ReturnType<Parameters<NonNullable<LanguageModelMiddleware['wrapStream']>>[0]['doStream']>>;
type StreamPart = Stream['stream'] extends ReadableStream<infer P> ? P : never;
type CallOptions = Parameters<NonNullable<LanguageModelMiddleware['transformParams']>>[0]['params'];

/**
 * Puts every tool's `execute` behind a Gatehouse guard: decided, approved where needed, run with exactly the
 * approved arguments, result screened and redacted. A refusal reaches the model as a tool error naming its
 * reason codes (the SDK turns a thrown error into a `tool-error` part).
 *
 * @example
 * await generateText({ model, tools: gatehouseTools(gh, { 'fs.read': readTool }, { agent: 'bot', session: 's1' }) });
 */
export function gatehouseTools<T extends ToolSet>(host: GuardHost, tools: T, opts: AiToolsOptions): T {
  const out: Record<string, T[keyof T]> = {};
  const sdk = opts.approval === 'sdk';
  const sdkApprover = callbackApprover(() => true, { approver: `ai-sdk:${opts.approverName ?? 'user'}` });
  for (const [key, t] of Object.entries(tools) as [string, T[keyof T]][]) {
    const execute = t.execute;
    if (!execute) {
      out[key] = t;
      continue;
    }
    const name = opts.names?.[key] ?? key;
    const session = opts.session ?? 'default';
    const guardOf = (approver: Approver | undefined, options: Parameters<typeof execute>[1]) =>
      createGuard(host, name, (args: Record<string, unknown>) => execute(args as never, options), {
        agent: opts.agent,
        session,
        ...(approver ? { approver } : {}),
        ...(opts.approvalTimeoutMs !== undefined ? { approvalTimeoutMs: opts.approvalTimeoutMs } : {}),
      });
    out[key] = {
      ...t,
      ...(sdk
        ? {
            // The SDK asks its user when Gatehouse would ask a human; execute then records that user's answer.
            needsApproval: async (input: unknown) => {
              const d = await host.decide({
                kind: 'tool_call',
                agent: opts.agent,
                session,
                tool: name,
                args: input as Record<string, unknown>,
              });
              return d.effect === 'review';
            },
          }
        : {}),
      execute: (input: unknown, options: Parameters<typeof execute>[1]) =>
        guardOf(sdk ? sdkApprover : opts.approver, options)(input as Record<string, unknown>),
    } as T[keyof T];
  }
  return out as unknown as T;
}

/**
 * A language-model middleware: the newest user message is screened for prompt injection (a deny throws
 * `GuardDeniedError` before the model is called), generated text is filtered, and streamed text is redacted with
 * a streaming redactor, so a secret split across deltas is still caught.
 *
 * @example
 * const model = wrapLanguageModel({ model: openai('gpt-4o'), middleware: gatehouseMiddleware(gh, { agent: 'bot' }) });
 */
export function gatehouseMiddleware(
  host: GuardHost,
  opts: { agent: string; session?: string },
): LanguageModelMiddleware {
  const s = guardSession(host, opts.session ?? 'default', { agent: opts.agent });
  return {
    specificationVersion: 'v3',
    transformParams: async ({ params }) => {
      await screenLastUser(params, s.screenInput);
      return params;
    },
    wrapGenerate: async ({ doGenerate }) => {
      const r = await doGenerate();
      const content = [];
      for (const c of r.content) content.push(c.type === 'text' ? { ...c, text: await s.filterOutput(c.text) } : c);
      return { ...r, content };
    },
    wrapStream: async ({ doStream }) => {
      const r = await doStream();
      const redactors = new Map<string, ReturnType<typeof s.stream>>();
      const redactorOf = (id: string) => {
        let x = redactors.get(id);
        if (!x) {
          x = s.stream();
          redactors.set(id, x);
        }
        return x;
      };
      const stream = r.stream.pipeThrough(
        new TransformStream<StreamPart, StreamPart>({
          transform(part, ctl) {
            if (part.type === 'text-delta') {
              const delta = redactorOf(part.id).push(part.delta);
              if (delta) ctl.enqueue({ ...part, delta });
              return;
            }
            if (part.type === 'text-end') {
              const tail = redactorOf(part.id).end();
              redactors.delete(part.id);
              if (tail) ctl.enqueue({ type: 'text-delta', id: part.id, delta: tail });
            }
            ctl.enqueue(part);
          },
          flush(ctl) {
            // A stream that ends without text-end still must not release held-back text unredacted.
            for (const [id, x] of redactors) {
              const tail = x.end();
              if (tail) ctl.enqueue({ type: 'text-delta', id, delta: tail });
            }
          },
        }),
      );
      return { ...r, stream };
    },
  };
}

async function screenLastUser(params: CallOptions, screen: (text: string) => Promise<string>): Promise<void> {
  const last = [...params.prompt].reverse().find((m) => m.role === 'user');
  if (last?.role !== 'user') return;
  const text = last.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
  if (!text) return;
  await screen(text);
}

export { GuardDeniedError };
