/**
 * OpenAI Agents SDK + Gatehouse with the SDK's scripted model (no network, no keys).
 * Run: `npm run build && npx tsx examples/openai-agents.ts` in the checkout, or in your own project after
 * `npm install gatehouse-agent @openai/agents zod`. Prints what ran, what was refused and what was approved, as JSON.
 */
import { randomBytes } from 'node:crypto';
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
  roles: { helper: { grants: [{ id: 'tools', tools: ['read_file', 'check_status', 'send_email'] }] } },
  tools: {
    read_file: { risk: 'low' as const },
    check_status: { risk: 'low' as const },
    send_email: { risk: 'high' as const, sink: 'external' as const },
    drop_db: { risk: 'low' as const }, // catalogued, but no role grants it
  },
};

setTracingDisabled(true); // no network: nothing is exported to OpenAI's tracing

const dir = mkdtempSync(join(tmpdir(), 'gh-example-agents-'));
const gh = await Gatehouse.open({ config: CONFIG, data: join(dir, 'data') });
try {
  // A credential the agent may use but never sees. Outside an example:
  //   printf %s "$STATUS_TOKEN" | npx gatehouse secrets put status_token --agent assistant --tool check_status
  const statusToken = randomBytes(18).toString('base64url');
  gh.vault.put('status_token', statusToken, { agents: ['assistant'], tools: ['check_status'] });
  gh.credentials.refreshKnown();

  const ran: string[] = [];
  const tools = [
    tool({
      name: 'read_file',
      description: 'Read a file',
      parameters: z.object({ path: z.string() }),
      execute: async ({ path }) => (ran.push(`read_file ${path}`), `contents of ${path}`),
    }),
    tool({
      name: 'check_status',
      description: 'Check a service (token: a credential handle)',
      parameters: z.object({ service: z.string(), token: z.string() }),
      // Gets the real token in place of the handle; echoes it, and the model sees it redacted.
      execute: async ({ service, token }) => (
        ran.push(`check_status ${service} (token resolved: ${token === statusToken})`), `${service}: ok (${token})`
      ),
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
  // A model that reads a file, checks a service with a credential handle and tries to drop a table, then emails
  // ops, then answers.
  const model = new ScriptedModel([
    [
      functionCall('read_file', { path: 'notes.txt' }, { callId: 'c1' }),
      functionCall('check_status', { service: 'billing', token: '{{secret:status_token}}' }, { callId: 'c1b' }),
      functionCall('drop_db', { table: 'users' }, { callId: 'c2' }),
    ],
    [functionCall('send_email', { to: 'ops@example.com', body: 'notes attached' }, { callId: 'c3' })],
    [assistantMessage('Done: read the notes and emailed ops.')],
  ]);

  // The integration, one line: guarded tools plus Gatehouse input and output guardrails. A high-risk call
  // becomes the SDK's own human-in-the-loop interruption.
  const opts = { agent: 'assistant', session: 'example', approval: 'sdk' as const, approverName: 'alice' };
  const agent = withGatehouse(gh, new Agent({ name: 'assistant', model, tools }), opts);

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
  // What the model was given back for each tool call.
  const outputs = result.history.flatMap((i) => {
    if (i.type !== 'function_call_result') return [];
    const o = i.output;
    return [typeof o === 'string' ? o : !Array.isArray(o) && o.type === 'text' ? o.text : JSON.stringify(o)];
  });
  const refused = outputs.filter((o) => o.startsWith('Gatehouse refused'));
  const modelSaw = outputs.filter((o) => !o.startsWith('Gatehouse refused'));
  const tokenLeaked = JSON.stringify(result.history).includes(statusToken);
  const recorded = (await gh.approvals.list({ status: 'used' })).map((a) => `${a.tool} by ${a.approver}`);
  console.log(
    JSON.stringify({ answer: result.finalOutput, ran, refused, approvals, recorded, modelSaw, tokenLeaked }, null, 2),
  );
} finally {
  await gh.close();
  rmSync(dir, { recursive: true, force: true });
}
