/**
 * OpenAI Agents SDK + Gatehouse with the SDK's scripted model (no network, no keys).
 * Run: `npm run build && npx tsx examples/openai-agents.ts` in the checkout, or in your own project after
 * `npm install gatehouse-agent @openai/agents zod`. Prints what ran, what was refused and what was approved, as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, run, setTracingDisabled, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { Gatehouse } from 'gatehouse-agent';
import { withGatehouse } from 'gatehouse-agent/openai-agents';
import { z } from 'zod';

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

setTracingDisabled(true); // no network: nothing is exported to OpenAI's tracing

const dir = mkdtempSync(join(tmpdir(), 'gh-example-agents-'));
const gh = await Gatehouse.open({ config: CONFIG, data: join(dir, 'data') });
try {
  const ran: string[] = [];
  const tools = [
    tool({
      name: 'read_file',
      description: 'Read a file',
      parameters: z.object({ path: z.string() }),
      execute: async ({ path }) => (ran.push(`read_file ${path}`), `contents of ${path}`),
    }),
    tool({
      name: 'drop_db',
      description: 'Drop a table',
      parameters: z.object({ table: z.string() }),
      execute: async ({ table }) => (ran.push(`drop_db ${table}`), 'dropped'),
    }),
    tool({
      name: 'send_email',
      description: 'Send an email',
      parameters: z.object({ to: z.string(), body: z.string() }),
      execute: async ({ to }) => (ran.push(`send_email ${to}`), `sent to ${to}`),
    }),
  ];
  // A model that reads a file and tries to drop a table, then emails ops, then answers.
  const model = new ScriptedModel([
    [
      functionCall('read_file', { path: 'notes.txt' }, { callId: 'c1' }),
      functionCall('drop_db', { table: 'users' }, { callId: 'c2' }),
    ],
    [functionCall('send_email', { to: 'ops@example.com', body: 'notes attached' }, { callId: 'c3' })],
    [assistantMessage('Done: read the notes and emailed ops.')],
  ]);

  // The integration, one line: guarded tools plus Gatehouse input and output guardrails. A high-risk call
  // becomes the SDK's own human-in-the-loop interruption.
  const agent = withGatehouse(gh, new Agent({ name: 'assistant', model, tools }), {
    agent: 'assistant',
    session: 'example',
    approval: 'sdk',
    approverName: 'alice',
  });

  let result = await run(agent, 'Summarise my notes and email ops.');
  const approvals: string[] = [];
  while (result.interruptions.length > 0) {
    // A real app shows these to a person; the example approves each and records what it was asked.
    for (const item of result.interruptions) {
      approvals.push(`${item.name ?? item.rawItem.type} ${item.arguments ?? ''}`);
      result.state.approve(item);
    }
    result = await run(agent, result.state);
  }
  const refused = result.newItems
    .filter((i) => i.type === 'tool_call_output_item')
    .map((i) => String(i.output))
    .filter((o) => o.startsWith('Gatehouse refused'));
  const recorded = gh.approvals.list({ status: 'used' }).map((a) => `${a.tool} by ${a.approver}`);
  console.log(JSON.stringify({ answer: result.finalOutput, ran, refused, approvals, recorded }, null, 2));
} finally {
  await gh.close();
  rmSync(dir, { recursive: true, force: true });
}
