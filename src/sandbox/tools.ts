import type { ToolConfig } from '../config/sections/tools.js';
import { SandboxRunError } from './errors.js';
import type { RunOptions, Sandbox, SandboxResult } from './runner.js';

export interface ToolRunRequest {
  /** The catalogued tool; it must name a `sandbox:` profile. */
  tool: string;
  argv: readonly string[];
  agent: string;
  session?: string;
  workspace?: string;
  stdin?: string | Buffer;
  timeout?: number;
  /**
   * Environment with credential handles (`{GITHUB_TOKEN: '{{secret:github_token}}'}`); resolved through
   * `resolveEnv` (the credential broker) only now, at execution.
   */
  env?: Readonly<Record<string, string>>;
  resolveEnv?: (
    env: Record<string, string>,
    ctx: { agent: string; session?: string; tool: string },
  ) => Promise<Record<string, string>>;
}

/**
 * Runs an allowed tool call whose catalogue entry has `sandbox: PROFILE` in that profile. A tool without a
 * sandbox profile is refused here: this path never runs a command unsandboxed by accident.
 *
 * @example
 * const r = await runSandboxedTool(gh.sandbox, gh.config.tools, { tool: 'shell.exec', argv: ['ls'], agent: 'a1' });
 */
export async function runSandboxedTool(
  sandbox: Sandbox,
  tools: Readonly<Record<string, ToolConfig>>,
  req: ToolRunRequest,
): Promise<SandboxResult> {
  const entry = tools[req.tool];
  if (!entry) throw new SandboxRunError('sandbox.unknown_tool', `tool "${req.tool}" is not in the catalogue`);
  if (!entry.sandbox) {
    throw new SandboxRunError(
      'sandbox.not_sandboxed_tool',
      `tool "${req.tool}" has no sandbox profile in the catalogue`,
    );
  }
  let env: Record<string, string> | undefined;
  if (req.env) {
    env = req.resolveEnv
      ? await req.resolveEnv(
          { ...req.env },
          { agent: req.agent, ...(req.session ? { session: req.session } : {}), tool: req.tool },
        )
      : { ...req.env };
  }
  const opts: RunOptions = {
    profile: entry.sandbox,
    agent: req.agent,
    tool: req.tool,
    ...(req.session ? { session: req.session } : {}),
    ...(req.workspace ? { workspace: req.workspace } : {}),
    ...(req.stdin !== undefined ? { stdin: req.stdin } : {}),
    ...(req.timeout !== undefined ? { timeout: req.timeout } : {}),
    ...(env ? { env } : {}),
  };
  return sandbox.run(req.argv, opts);
}
