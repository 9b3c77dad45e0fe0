import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEvents, cli, connectProxy, EVERYTHING_SERVER, proxyHarness, workspace } from './helpers.js';

const { track } = proxyHarness();
const spaces: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const w of spaces.splice(0)) w.cleanup();
});

/** server-everything behind the proxy, with a policy that names its resources and prompts. */
function everything(tools: string, rules = '') {
  const w = workspace(
    () => `version: 1
identity:
  agents:
    claude: { roles: [reader] }
roles:
  reader:
    grants:
      - tools: ["ev.*", "mcp.resource:ev", "mcp.prompt:ev"]
tools:
${tools}
policy:
  workspace: ./root
${rules}
mcp:
  agent: claude
  servers:
    ev: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING_SERVER)}, stdio] }
`,
  );
  spaces.push(w);
  return w;
}

async function rejection(p: Promise<unknown>): Promise<McpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

describe('gatehouse mcp authorizes resource reads and prompt gets', () => {
  it('denies both when the policy does not name them (default deny), and audits the refusal', async () => {
    const w = everything('  ev.echo: { risk: low }');
    const p = await connectProxy(w, [], []);
    track(p);
    const resources = (await p.client.listResources()).resources;
    expect(resources.length).toBeGreaterThan(0);
    const err = await rejection(p.client.readResource({ uri: resources[0]!.uri }));
    expect(err.message).toContain('catalogue.tool_unknown');
    expect((err.data as { gatehouse: { effect: string } }).gatehouse.effect).toBe('deny');
    const prompts = (await p.client.listPrompts()).prompts;
    const simple = prompts.find((x) => !(x.arguments ?? []).some((a) => a.required))!;
    const perr = await rejection(p.client.getPrompt({ name: simple.name }));
    expect(perr.message).toContain('mcp.prompt:ev');
    await p.close();
    const blocked = auditEvents(w).filter((e) => e.type === 'mcp.read.blocked');
    expect(blocked.map((e) => (e.data as { tool: string }).tool).sort()).toEqual(['mcp.prompt:ev', 'mcp.resource:ev']);
    // Nothing was read: the upstream was never asked.
    expect(auditEvents(w).some((e) => e.type === 'mcp.resource.read')).toBe(false);
  });

  it('lets a forbid rule on the URI keep one resource out while others are read', async () => {
    const tools = '  "mcp.resource:ev": { risk: low, output: untrusted }';
    const probe = everything(tools);
    const lister = await connectProxy(probe, [], []);
    track(lister);
    const uris = (await lister.client.listResources()).resources.map((r) => r.uri);
    await lister.close();
    expect(uris.length).toBeGreaterThan(1);
    const [kept, other] = uris as [string, string];
    const w = everything(
      tools,
      `  forbid:
    - { tools: ["mcp.resource:ev"], when: "action.args.uri == '${kept}'", reason: "that resource is off limits" }`,
    );
    const p = await connectProxy(w, [], []);
    track(p);
    const ok = await p.client.readResource({ uri: other });
    expect(ok.contents.length).toBeGreaterThan(0);
    const err = await rejection(p.client.readResource({ uri: kept }));
    expect(err.message).toContain('policy.forbid.matched');
    expect(err.message).toContain('that resource is off limits');
    await p.close();
  });

  it('holds a high-risk read until its approval is granted, then the same request succeeds', async () => {
    const w = everything('  "mcp.resource:ev": { risk: high, output: untrusted }');
    const p = await connectProxy(w, [], []);
    track(p);
    const uri = (await p.client.listResources()).resources[0]!.uri;
    const err = await rejection(p.client.readResource({ uri }));
    const id = (err.data as { gatehouse: { approvalRequest?: string } }).gatehouse.approvalRequest;
    expect(id).toMatch(/\S/);
    expect(err.message).toContain(`gatehouse approvals approve ${id}`);
    const approved = cli(w, ['approvals', 'approve', id!, '--as', 'test-operator']);
    expect(approved.code, approved.stderr).toBe(0);
    const r = await p.client.readResource({ uri });
    expect(r.contents.length).toBeGreaterThan(0);
    // The approval covered exactly that URI: another resource needs its own.
    const others = (await p.client.listResources()).resources.map((x) => x.uri).filter((u) => u !== uri);
    await rejection(p.client.readResource({ uri: others[0]! }));
    await p.close();
  });
});
