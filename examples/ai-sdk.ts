/**
 * Vercel AI SDK + Gatehouse with a scripted model (no network, no keys).
 * Run: `npm run build && npx tsx examples/ai-sdk.ts` in the checkout, or in your own project after
 * `npm install gatehouse-agent ai`. Prints what ran, what was refused and what was approved, as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, jsonSchema, stepCountIs, tool, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { Gatehouse } from 'gatehouse-agent';
import { gatehouseMiddleware, gatehouseTools } from 'gatehouse-agent/ai';
import { type ApprovalPrompt, callbackApprover } from 'gatehouse-agent/guard';

const CONFIG = {
  version: 1 as const,
  identity: { agents: { assistant: { roles: ['helper'] } } },
  roles: { helper: { grants: [{ id: 'tools', tools: ['read_file', 'check_status', 'send_email'] }] } },
  tools: {
    read_file: { risk: 'low' as const },
    check_status: { risk: 'low' as const },
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
/** A model that reads a file, checks a service with a credential handle, tries to drop a table, emails ops, answers. */
const STEPS = [
  call('c1', 'read_file', { path: 'notes.txt' }),
  call('c1b', 'check_status', { service: 'billing', token: '{{secret:status_token}}' }),
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
  // A credential the agent may use but never sees. Outside an example:
  //   printf %s "$STATUS_TOKEN" | npx gatehouse secrets put status_token --agent assistant --tool check_status
  const statusToken = randomBytes(18).toString('base64url');
  gh.vault.put('status_token', statusToken, { agents: ['assistant'], tools: ['check_status'] });
  gh.credentials.refreshKnown();

  const ran: string[] = [];
  const approvals: string[] = [];
  const myTools = {
    read_file: tool({
      description: 'Read a file',
      inputSchema: jsonSchema<{ path: string }>({ type: 'object', properties: { path: { type: 'string' } } }),
      execute: async ({ path }) => (ran.push(`read_file ${path}`), `contents of ${path}`),
    }),
    check_status: tool({
      description: 'Check a service (token: a credential handle)',
      inputSchema: jsonSchema<{ service: string; token: string }>({
        type: 'object',
        properties: { service: { type: 'string' }, token: { type: 'string' } },
      }),
      // Gets the real token in place of the handle; echoes it, and the model sees it redacted.
      execute: async ({ service, token }) => (
        ran.push(`check_status ${service} (token resolved: ${token === statusToken})`), `${service}: ok (${token})`
      ),
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

  // A real app asks a person here; the example records what it was asked and approves.
  const askAPerson = (p: ApprovalPrompt) => (approvals.push(`${p.tool} ${JSON.stringify(p.args)}`), true);
  const who = { agent: 'assistant', session: 'example' };

  // The integration: one call for the tools, one for the model.
  const tools = gatehouseTools(gh, myTools, { ...who, approver: callbackApprover(askAPerson) });
  const model = wrapLanguageModel({ model: scripted, middleware: gatehouseMiddleware(gh, who) });

  const r = await generateText({ model, tools, prompt: 'Summarise my notes and email ops.', stopWhen: stepCountIs(6) });
  const refused = r.steps.flatMap((s) =>
    s.content.flatMap((c) => (c.type === 'tool-error' ? [`${c.toolName}: ${String((c.error as Error).message)}`] : [])),
  );
  // What the model was given back for each tool call.
  const modelSaw = r.steps.flatMap((s) =>
    s.content.flatMap((c) => (c.type === 'tool-result' ? [`${c.toolName}: ${String(c.output)}`] : [])),
  );
  const tokenLeaked = JSON.stringify(r.steps).includes(statusToken);
  console.log(JSON.stringify({ answer: r.text, ran, refused, approvals, modelSaw, tokenLeaked }, null, 2));
} finally {
  await gh.close();
  rmSync(dir, { recursive: true, force: true });
}
