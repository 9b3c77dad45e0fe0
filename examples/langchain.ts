/**
 * LangChain.js + Gatehouse with a scripted chat model (no network, no keys).
 * Run: `npm run build && npx tsx examples/langchain.ts` in the checkout, or in your own project after
 * `npm install gatehouse-agent @langchain/core zod` (copy scripted-chat-model.ts beside it).
 * Prints what ran, what was refused and what was approved, as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AIMessage, AIMessageChunk, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { Gatehouse } from 'gatehouse-agent';
import { type ApprovalPrompt, callbackApprover } from 'gatehouse-agent/guard';
import { GatehouseCallbackHandler, gatehouseTool, redactStream } from 'gatehouse-agent/langchain';
import { z } from 'zod';
import { ScriptedChatModel } from './scripted-chat-model.js';

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

const dir = mkdtempSync(join(tmpdir(), 'gh-example-langchain-'));
const gh = await Gatehouse.open({ config: CONFIG, data: join(dir, 'data') });
try {
  // A credential the agent may use but never sees. Outside an example:
  //   printf %s "$STATUS_TOKEN" | npx gatehouse secrets put status_token --agent assistant --tool check_status
  const statusToken = randomBytes(18).toString('base64url');
  gh.vault.put('status_token', statusToken, { agents: ['assistant'], tools: ['check_status'] });
  gh.credentials.refreshKnown();

  const ran: string[] = [];
  const approvals: string[] = [];
  const myTools = [
    tool(async ({ path }) => (ran.push(`read_file ${path}`), `contents of ${path}`), {
      name: 'read_file',
      description: 'Read a file',
      schema: z.object({ path: z.string() }),
    }),
    // Gets the real token in place of the handle; echoes it, and the model sees it redacted.
    tool(
      async ({ service, token }) => (
        ran.push(`check_status ${service} (token resolved: ${token === statusToken})`), `${service}: ok (${token})`
      ),
      {
        name: 'check_status',
        description: 'Check a service (token: a credential handle)',
        schema: z.object({ service: z.string(), token: z.string() }),
      },
    ),
    tool(async ({ table }) => (ran.push(`drop_db ${table}`), 'dropped'), {
      name: 'drop_db',
      description: 'Drop a table',
      schema: z.object({ table: z.string() }),
    }),
    tool(async ({ to }) => (ran.push(`send_email ${to}`), `sent to ${to}`), {
      name: 'send_email',
      description: 'Send an email',
      schema: z.object({ to: z.string(), body: z.string() }),
    }),
  ];

  // A real app asks a person here; the example records what it was asked and approves.
  const askAPerson = (p: ApprovalPrompt) => (approvals.push(`${p.tool} ${JSON.stringify(p.args)}`), true);
  const who = { agent: 'assistant', session: 'example' };

  // The integration: one line for the tools, one callback handler for the model.
  const tools = myTools.map((t) => gatehouseTool(gh, t, { ...who, approver: callbackApprover(askAPerson) }));
  const callbacks = [new GatehouseCallbackHandler(gh, who)];

  // A model that reads a file, checks a service with a credential handle, tries to drop a table and emails ops,
  // then answers.
  const model = new ScriptedChatModel([
    new AIMessage({
      content: '',
      tool_calls: [
        { id: 'c1', name: 'read_file', args: { path: 'notes.txt' }, type: 'tool_call' },
        {
          id: 'c1b',
          name: 'check_status',
          args: { service: 'billing', token: '{{secret:status_token}}' },
          type: 'tool_call',
        },
        { id: 'c2', name: 'drop_db', args: { table: 'users' }, type: 'tool_call' },
        { id: 'c3', name: 'send_email', args: { to: 'ops@example.com', body: 'notes attached' }, type: 'tool_call' },
      ],
    }),
    new AIMessage('Done: read the notes and emailed ops.'),
  ]);

  // The usual tool loop: run each requested tool, answer with ToolMessages, ask the model again.
  const messages: BaseMessage[] = [new HumanMessage('Summarise my notes and email ops.')];
  const refused: string[] = [];
  for (;;) {
    const ai = await model.invoke(messages, { callbacks });
    messages.push(ai);
    if (!ai.tool_calls?.length) break;
    for (const call of ai.tool_calls) {
      const t = tools.find((x) => x.name === call.name)!;
      try {
        messages.push(await t.invoke(call));
      } catch (err) {
        refused.push(`${call.name}: ${(err as Error).message}`);
        messages.push(new ToolMessage({ tool_call_id: call.id!, content: `refused: ${(err as Error).message}` }));
      }
    }
  }

  // Streamed output goes through a streaming redactor: a secret split across chunks is still caught.
  const token = `ghp_${'A1b2C3d4E5'.repeat(3)}x9Y8z7`; // built at run time: no secret-shaped literal in the file
  const streamedModel = new FakeStreamingChatModel({
    chunks: [
      new AIMessageChunk(`the deploy token is ${token.slice(0, 9)}`),
      new AIMessageChunk(`${token.slice(9)}, keep it safe`),
    ],
  });
  let streamed = '';
  const stream = await streamedModel.stream('what is the deploy token?');
  for await (const piece of redactStream(gh, stream, who)) streamed += piece;

  const answer = messages.at(-1)!.text;
  // What the model was given back for each tool call.
  const modelSaw = messages.flatMap((m) => (m instanceof ToolMessage && !m.text.startsWith('refused') ? [m.text] : []));
  const tokenLeaked = streamed.includes(token) || JSON.stringify(messages).includes(statusToken);
  console.log(JSON.stringify({ answer, ran, refused, approvals, modelSaw, streamed, tokenLeaked }, null, 2));
} finally {
  await gh.close();
  rmSync(dir, { recursive: true, force: true });
}
