/**
 * Vercel AI SDK + Gatehouse, with a scripted model (no network, no keys): `npx tsx examples/ai-sdk.ts`.
 * In your app, import from `gatehouse/ai` instead of `../src/adapters/ai.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateText, jsonSchema, stepCountIs, tool, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { gatehouseMiddleware, gatehouseTools } from '../src/adapters/ai.js';
import { Gatehouse } from '../src/gatehouse.js';
import { callbackApprover } from '../src/guard/index.js';

const CONFIG = {
  version: 1 as const,
  identity: { agents: { assistant: { roles: ['helper'] } } },
  roles: { helper: { grants: [{ id: 'tools', tools: ['read_file', 'send_email'] }] } },
  tools: {
    read_file: { risk: 'low' as const },
    send_email: { risk: 'high' as const, sink: 'external' as const },
  },
};

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** A model that calls read_file, then send_email, then answers. */
function scriptedModel(): MockLanguageModelV3 {
  let step = 0;
  return new MockLanguageModelV3({
    doGenerate: async () => {
      step++;
      if (step === 1)
        return {
          content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'read_file', input: '{"path":"notes.txt"}' }],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage,
          warnings: [],
        };
      if (step === 2)
        return {
          content: [
            { type: 'tool-call', toolCallId: 'c2', toolName: 'send_email', input: '{"to":"ops@example.com","body":"hi"}' },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage,
          warnings: [],
        };
      return {
        content: [{ type: 'text', text: 'Done: read the notes and emailed ops.' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      };
    },
  });
}

export async function run(): Promise<{ text: string; toolResults: unknown[]; approvals: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-example-ai-'));
  const gh = await Gatehouse.open({ config: CONFIG, data: join(dir, 'data') });
  try {
    const approvals: string[] = [];
    const tools = gatehouseTools(
      gh,
      {
        read_file: tool({
          description: 'Read a file',
          inputSchema: jsonSchema<{ path: string }>({ type: 'object', properties: { path: { type: 'string' } } }),
          execute: async ({ path }) => `contents of ${path}`,
        }),
        send_email: tool({
          description: 'Send an email',
          inputSchema: jsonSchema<{ to: string; body: string }>({
            type: 'object',
            properties: { to: { type: 'string' }, body: { type: 'string' } },
          }),
          execute: async ({ to }) => `sent to ${to}`,
        }),
      },
      {
        agent: 'assistant',
        session: 'example',
        // A real app asks a person; the example approves and records who asked.
        approver: callbackApprover((p) => {
          approvals.push(`${p.tool} ${JSON.stringify(p.args)}`);
          return true;
        }),
      },
    );
    const model = wrapLanguageModel({
      model: scriptedModel(),
      middleware: gatehouseMiddleware(gh, { agent: 'assistant', session: 'example' }),
    });
    const r = await generateText({ model, tools, prompt: 'Summarise my notes and email ops.', stopWhen: stepCountIs(5) });
    return { text: r.text, toolResults: r.steps.flatMap((s) => s.toolResults.map((t) => t.output)), approvals };
  } finally {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run(), null, 2));
}
