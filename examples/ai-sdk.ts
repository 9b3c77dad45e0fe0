/**
 * Vercel AI SDK + Gatehouse with a scripted model (no network, no keys).
 * Run: `npm run build && npx tsx examples/ai-sdk.ts` in the checkout, or in your own project after
 * `npm install gatehouse-agent ai`. Prints what ran, what was refused and what was approved, as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, jsonSchema, stepCountIs, tool, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { Gatehouse } from 'gatehouse-agent';
import { gatehouseMiddleware, gatehouseTools } from 'gatehouse-agent/ai';
import { callbackApprover } from 'gatehouse-agent/guard';

const CONFIG = {
  version: 1 as const,
  identity: { agents: { assistant: { roles: ['helper'] } } },
  roles: { helper: { grants: [{ id: 'tools', tools: ['read_file', 'send_email'] }] } },
  tools: {
    read_file: { risk: 'low' as const },
    send_email: { risk: 'high' as const, sink: 'external' as const },
    drop_db: { risk: 'low' as const }, // catalogued, but no role grants it
  },
};

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};
const call = (id: string, toolName: string, input: unknown) => ({
  content: [{ type: 'tool-call' as const, toolCallId: id, toolName, input: JSON.stringify(input) }],
  finishReason: { unified: 'tool-calls' as const, raw: undefined },
  usage,
  warnings: [],
});
/** A model that reads a file, tries to drop a table, emails ops, then answers. */
const STEPS = [
  call('c1', 'read_file', { path: 'notes.txt' }),
  call('c2', 'drop_db', { table: 'users' }),
  call('c3', 'send_email', { to: 'ops@example.com', body: 'notes attached' }),
  {
    content: [{ type: 'text' as const, text: 'Done: read the notes and emailed ops.' }],
    finishReason: { unified: 'stop' as const, raw: undefined },
    usage,
    warnings: [],
  },
];

const dir = mkdtempSync(join(tmpdir(), 'gh-example-ai-'));
const gh = await Gatehouse.open({ config: CONFIG, data: join(dir, 'data') });
try {
  const ran: string[] = [];
  const approvals: string[] = [];
  const myTools = {
    read_file: tool({
      description: 'Read a file',
      inputSchema: jsonSchema<{ path: string }>({ type: 'object', properties: { path: { type: 'string' } } }),
      execute: async ({ path }) => (ran.push(`read_file ${path}`), `contents of ${path}`),
    }),
    drop_db: tool({
      description: 'Drop a table',
      inputSchema: jsonSchema<{ table: string }>({ type: 'object', properties: { table: { type: 'string' } } }),
      execute: async ({ table }) => (ran.push(`drop_db ${table}`), 'dropped'),
    }),
    send_email: tool({
      description: 'Send an email',
      inputSchema: jsonSchema<{ to: string; body: string }>({
        type: 'object',
        properties: { to: { type: 'string' }, body: { type: 'string' } },
      }),
      execute: async ({ to }) => (ran.push(`send_email ${to}`), `sent to ${to}`),
    }),
  };
  let step = 0;
  const scripted = new MockLanguageModelV3({ doGenerate: async () => STEPS[Math.min(step++, STEPS.length - 1)]! });

  // The integration: one call for the tools, one for the model.
  const tools = gatehouseTools(gh, myTools, {
    agent: 'assistant',
    session: 'example',
    // A real app asks a person here; the example approves and records what it was asked.
    approver: callbackApprover((p) => (approvals.push(`${p.tool} ${JSON.stringify(p.args)}`), true)),
  });
  const model = wrapLanguageModel({
    model: scripted,
    middleware: gatehouseMiddleware(gh, { agent: 'assistant', session: 'example' }),
  });

  const r = await generateText({ model, tools, prompt: 'Summarise my notes and email ops.', stopWhen: stepCountIs(6) });
  const refused = r.steps.flatMap((s) =>
    s.content.flatMap((c) => (c.type === 'tool-error' ? [`${c.toolName}: ${String((c.error as Error).message)}`] : [])),
  );
  console.log(JSON.stringify({ answer: r.text, ran, refused, approvals }, null, 2));
} finally {
  await gh.close();
  rmSync(dir, { recursive: true, force: true });
}
