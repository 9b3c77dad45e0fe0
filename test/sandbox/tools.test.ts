import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolsSchema } from '../../src/config/sections/tools.js';
import { runSandboxedTool } from '../../src/sandbox/index.js';
import { cleanup, makeSandbox, workspace } from './helpers.js';

// Pipeline integration: catalogued tools with `sandbox:` run in their profile; credentials are resolved at execution.
const { sb, audit } = makeSandbox({ profiles: { tiny: { pids: 16, timeout: '20s', env: { PROFILE_MARK: 'tiny' } } } });
const tools = ToolsSchema.parse({
  'shell.exec': { risk: 'high', sandbox: 'tiny' },
  'fs.read': { risk: 'low' },
});

beforeAll(() => sb.ensureReady());
afterAll(cleanup);

describe('runSandboxedTool', () => {
  it('runs in the tool profile with broker-resolved env, auditing names but never values', async () => {
    const seen: Record<string, string>[] = [];
    const r = await runSandboxedTool(sb, tools, {
      tool: 'shell.exec',
      argv: ['sh', '-c', 'echo "$PROFILE_MARK $GH_TOKEN"'],
      agent: 'agent-7',
      session: 's1',
      workspace: workspace(),
      env: { GH_TOKEN: '{{secret:github}}' },
      resolveEnv: async (env) => {
        seen.push(env);
        return { GH_TOKEN: 'ghp_resolved_value_123' };
      },
    });
    expect(r.stdout).toBe('tiny ghp_resolved_value_123\n');
    expect(r.profile).toBe('tiny');
    expect(seen).toEqual([{ GH_TOKEN: '{{secret:github}}' }]);
    const started = audit.events.find((e) => e.type === 'sandbox.started' && e.agent === 'agent-7');
    expect(started?.data).toMatchObject({ tool: 'shell.exec', profile: 'tiny', envKeys: ['GH_TOKEN'] });
    expect(JSON.stringify(audit.events)).not.toContain('ghp_resolved_value_123');
  });

  it('refuses tools without a sandbox profile and unknown tools', async () => {
    await expect(runSandboxedTool(sb, tools, { tool: 'fs.read', argv: ['true'], agent: 'a' })).rejects.toThrow(
      /has no sandbox profile/,
    );
    await expect(runSandboxedTool(sb, tools, { tool: 'nope', argv: ['true'], agent: 'a' })).rejects.toThrow(
      /not in the catalogue/,
    );
  });

  it('quarantine kills the running sandboxes of that agent only', async () => {
    const ws = workspace();
    const victim = sb.run(['sleep', '15'], { workspace: ws, agent: 'bad-agent' });
    const bystander = sb.run(['sh', '-c', 'sleep 0.6; echo alive'], { workspace: ws, agent: 'good-agent' });
    await new Promise((r) => setTimeout(r, 300));
    expect(sb.active().length).toBe(2);
    expect(sb.killAgent('bad-agent')).toBe(1);
    const v = await victim;
    expect(v.signal).toBe('SIGKILL');
    expect(v.wallMs).toBeLessThan(5000);
    expect((await bystander).stdout).toBe('alive\n');
    expect(sb.active()).toEqual([]);
  });
});
