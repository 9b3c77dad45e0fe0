import { z } from 'zod';
import { DurationSchema } from '../units.js';

const SERVER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** An upstream MCP server the proxy starts (stdio) or connects to (streamable HTTP). */
export const McpUpstreamSchema = z
  .object({
    /** stdio: the command to start; arguments in `args`. */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** Extra environment for the server process; values may carry `{{secret:NAME}}` handles. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
    cwd: z.string().optional(),
    /** streamable HTTP: the server's endpoint; headers may carry `{{secret:NAME}}` handles. */
    url: z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).optional(),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.command === undefined) === (s.url === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of command (stdio) or url (streamable HTTP)' });
    }
  });

/** How the proxy proves which agent it acts for (in stdio mode; HTTP clients present their own token). */
export const McpIdentitySchema = z
  .object({
    /** Environment variable holding an access token for the agent. */
    token_env: z.string().default('GATEHOUSE_TOKEN'),
    /** Environment variable holding the agent's private key (PEM); tokens are then obtained and renewed. */
    key_env: z.string().default('GATEHOUSE_AGENT_KEY'),
    /** File holding the agent's private key (PEM), relative to the configuration file. */
    key_file: z.string().optional(),
  })
  .strict();

export const McpSchema = z
  .object({
    /** A tool whose definition changed since it was pinned: hidden and its calls denied, or sent for approval. */
    on_pin_violation: z.enum(['block', 'review']).default('block'),
    /** Tool descriptions carrying injected instructions (tool poisoning): hide the tool, or show it flagged. */
    on_poisoned_description: z.enum(['block', 'flag']).default('block'),
    /** The agent the proxy acts for when `--agent` is not given. */
    agent: z
      .string()
      .regex(/^[A-Za-z0-9_.:@/-]{1,256}$/, 'an agent id')
      .optional(),
    identity: McpIdentitySchema.default(McpIdentitySchema.parse({})),
    /** How long a call that needs approval waits before it is denied. */
    approval_timeout: DurationSchema.default(300_000),
    /**
     * Also ask the MCP client's user through elicitation when the client supports it. Off by default: the client is
     * the agent's own, and one that auto-accepts elicitation would approve its own high-risk calls. When on, such an
     * approval is recorded with the approver `mcp-client:<client name>`, never as an operator.
     */
    elicitation: z.boolean().default(false),
    /** When an upstream server dies: exit the proxy, or restart/reconnect it. */
    on_upstream_exit: z.enum(['exit', 'reconnect']).default('exit'),
    reconnect: z
      .object({
        max_attempts: z.number().int().min(1).max(100).default(5),
        backoff: DurationSchema.default(500),
      })
      .strict()
      .default({ max_attempts: 5, backoff: 500 }),
    /** Longest time a request to an upstream server may take. */
    request_timeout: DurationSchema.default(60_000),
    /** Prefix exposed tool names with the server name (`fs__read_file`): auto = when several servers. */
    tool_prefix: z.enum(['auto', 'always', 'never']).default('auto'),
    /** Upstream servers by name; their tools are `<name>.<tool>` in the tool catalogue and the policy. */
    servers: z
      .record(z.string().regex(SERVER_NAME, 'server names use letters, digits, _ and -'), McpUpstreamSchema)
      .default({}),
    /** Streamable HTTP listener of `gatehouse mcp --http`. */
    http: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8931),
        path: z
          .string()
          .regex(/^\/[A-Za-z0-9_./-]*$/, 'a URL path')
          .default('/mcp'),
        max_sessions: z.number().int().min(1).max(10_000).default(100),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8931, path: '/mcp', max_sessions: 100 }),
  })
  .strict();

export type McpConfig = z.output<typeof McpSchema>;
export type McpUpstreamConfig = z.output<typeof McpUpstreamSchema>;
