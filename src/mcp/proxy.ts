import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CompleteResultSchema,
  type ElicitRequestFormParams,
  type ElicitResult,
  EmptyResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema,
  ListResourceTemplatesResultSchema,
  type ListRootsResult,
  ListToolsRequestSchema,
  McpError,
  type Notification,
  ReadResourceRequestSchema,
  type ServerCapabilities,
  type ServerNotification,
  type ServerResult,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpConfig, McpUpstreamConfig } from '../config/sections/mcp.js';
import type { ActionInput } from '../core/action.js';
import type { Decision, Reason } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';
import { screenText } from '../screen/index.js';
import { ApprovalWait, type HandlerExtra } from './approval-wait.js';
import { ToolCatalog } from './catalog.js';
import { bareMessage, RpcError } from './errors.js';
import type { ProxyIdentity } from './identity.js';
import { ToolPins } from './pinning.js';
import { Reads } from './reads.js';
import { Routes } from './routing.js';
import { ToolCalls } from './tools.js';
import type { Malformed } from './transport.js';
import { PROXY_INFO, Upstream } from './upstream.js';

/** What the screening library answers for a piece of text (server instructions). */
export interface TextScreen {
  score: number;
  action: 'allow' | 'review' | 'block';
  findings: { rule: string; category: string; evidence: string }[];
}

export type TextScreener = (text: string) => TextScreen;

export interface McpProxyOptions {
  gatehouse: Gatehouse;
  /** Upstream servers by name, in order (the first wins a name clash when tools are not prefixed). */
  servers: Record<string, McpUpstreamConfig>;
  identity: ProxyIdentity;
  /** The MCP session id, which is the Gatehouse session. Generated when absent. */
  session?: string;
  /** Screens the servers' instructions for injected instructions; default: the screening library. */
  screenText?: TextScreener;
  /** Environment the stdio servers inherit; Gatehouse's own credentials are removed from it. */
  env?: NodeJS.ProcessEnv;
  /** Diagnostics (stderr in the CLI); never carries content or secrets. */
  log?: (line: string) => void;
  /** An upstream server died for good and `on_upstream_exit` is `exit`. */
  onFatal?: (why: string) => void;
}

/**
 * The MCP proxy: an MCP server to its client and an MCP client to each upstream server, with every request
 * going through Gatehouse. tools/list shows only what the agent may call, with each definition pinned by hash
 * (a changed one is blocked or sent for approval), screened for poisoning and checked for shadowing;
 * tools/call is decided by the full pipeline (deny → an error result naming the reason code; review → waits
 * for an approval, through elicitation where the client supports it); credential handles are resolved only on
 * the way to the server; results, resources and prompts are screened and redacted before the client sees them.
 *
 * @example
 * const proxy = await McpProxy.start({ gatehouse: gh, servers: { fs: { command: 'npx', args: [...] } }, identity });
 * await proxy.connect(new StdioServerTransport());
 */
export class McpProxy {
  readonly session: string;
  readonly server: Server;
  readonly upstreams: Upstream[];
  readonly pins: ToolPins;
  private readonly gh: Gatehouse;
  private readonly cfg: McpConfig;
  private readonly identity: ProxyIdentity;
  private readonly log: (line: string) => void;
  private readonly screenText: TextScreener | undefined;
  private readonly catalog: ToolCatalog;
  private readonly routes: Routes;
  private readonly approvalWait: ApprovalWait;
  private readonly reads: Reads;
  private readonly tools: ToolCalls;
  private closed = false;

  private constructor(
    private readonly opts: McpProxyOptions,
    upstreams: Upstream[],
    pins: ToolPins,
  ) {
    this.gh = opts.gatehouse;
    this.cfg = opts.gatehouse.config.mcp;
    this.identity = opts.identity;
    this.session = opts.session ?? `mcp-${randomUUID()}`;
    this.log = opts.log ?? (() => {});
    this.upstreams = upstreams;
    this.pins = pins;
    this.catalog = new ToolCatalog({
      upstreams,
      cfg: this.cfg,
      pins: this.pins,
      agent: this.agent,
      session: this.session,
      decide: (a) => this.decide(a),
      epoch: () => this.gh.currentPolicyEpoch(),
      log: this.log,
    });
    this.routes = new Routes(upstreams);
    this.reads = new Reads({
      upstreams,
      routes: this.routes,
      cfg: this.cfg,
      decider: this,
      audit: (type, data, reasons) => this.audit(type, data, reasons),
    });
    const sc = this.gh.config.screening;
    this.screenText =
      opts.screenText ??
      (sc.enabled ? (text) => screenText(text, { blockAt: sc.block_at, reviewAt: sc.review_at }) : undefined);
    this.server = new Server(
      { name: 'gatehouse', title: 'Gatehouse MCP proxy', version: PROXY_INFO.version },
      { capabilities: this.capabilities(), ...this.instructions() },
    );
    this.approvalWait = new ApprovalWait({
      approvals: this.gh.approvals,
      server: this.server,
      cfg: this.cfg,
      agent: this.agent,
      log: this.log,
      audit: (type, data) => this.audit(type, data),
    });
    this.tools = new ToolCalls({
      catalog: this.catalog,
      approvalWait: this.approvalWait,
      cfg: this.cfg,
      decider: this,
      credentials: this.gh.credentials,
      audit: (type, data, reasons) => this.audit(type, data, reasons),
    });
    this.registerHandlers();
  }

  /** Connects to every upstream server, then builds the client-facing server. */
  static async start(opts: McpProxyOptions): Promise<McpProxy> {
    const names = Object.keys(opts.servers);
    if (names.length === 0) throw new GatehouseError('mcp.no_servers', 'no upstream MCP server to proxy');
    const pins = await ToolPins.open(opts.gatehouse.store, opts.gatehouse.audit, opts.gatehouse.clock);
    const holder: { proxy?: McpProxy } = {};
    const cfg = opts.gatehouse.config.mcp;
    const log = opts.log ?? (() => {});
    const baseEnv = scrubEnv(opts.env ?? process.env, opts.gatehouse);
    const upstreams = names.map(
      (name) =>
        new Upstream(name, opts.servers[name]!, {
          baseEnv,
          requestTimeoutMs: cfg.request_timeout,
          onExit: cfg.on_upstream_exit,
          reconnect: cfg.reconnect,
          resolveSecrets: async (values, target) =>
            (
              await opts.gatehouse.credentials.resolve(values, {
                agent: opts.identity.agent,
                tool: `mcp:${name}`,
                ...(opts.session ? { session: opts.session } : {}),
                target,
              })
            ).value,
          onMalformed: (m, server) => holder.proxy?.malformed(m, server),
          onNotification: (up, n) => holder.proxy?.forwardNotification(up, n),
          onDead: (up, why) => holder.proxy?.upstreamDead(up, why),
          onReconnected: (up) => holder.proxy?.upstreamBack(up),
          listRoots: (_up, signal) => holder.proxy?.listRoots(signal) ?? Promise.resolve({ roots: [] }),
          elicit: (_up, params, signal) =>
            holder.proxy?.forwardElicitation(params, signal) ?? Promise.resolve({ action: 'decline' }),
          log,
        }),
    );
    try {
      await Promise.all(upstreams.map((u) => u.connect()));
    } catch (err) {
      await Promise.all(upstreams.map((u) => u.close()));
      throw new GatehouseError(
        'mcp.upstream_failed',
        `an upstream MCP server failed to start: ${(err as Error).message}`,
      );
    }
    const proxy = new McpProxy(opts, upstreams, pins);
    holder.proxy = proxy;
    return proxy;
  }

  get agent(): string {
    return this.identity.agent;
  }

  /** Serves the client on `transport` (stdio or streamable HTTP). */
  async connect(transport: Transport): Promise<void> {
    await this.server.connect(transport);
    await this.audit('mcp.session.started', {
      servers: this.upstreams.map((u) => u.name),
      identity: this.identity.method,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.upstreams.map((u) => u.close()));
    await this.server.close().catch(() => {});
    await this.audit('mcp.session.ended', {});
  }

  /** Rejected messages are logged and audited; the proxy carries on. */
  malformed(m: Malformed, server?: string): void {
    this.log(
      `rejected a malformed message from ${server ? `upstream ${server}` : 'the client'}: ${m.reason} (JSON-RPC ${m.code})`,
    );
    void this.audit('mcp.message.rejected', {
      side: m.side,
      ...(server ? { server } : {}),
      code: m.code,
      reason: m.reason,
      bytes: m.bytes,
    });
  }

  // ---- client-facing handlers -------------------------------------------------------------------------

  private capabilities(): ServerCapabilities {
    const caps: ServerCapabilities = { tools: { listChanged: true } };
    for (const u of this.upstreams) {
      const c = u.capabilities();
      if (c.resources) {
        caps.resources = {
          ...caps.resources,
          ...(c.resources.subscribe ? { subscribe: true } : {}),
          ...(c.resources.listChanged ? { listChanged: true } : {}),
        };
      }
      if (c.prompts) caps.prompts = { ...caps.prompts, ...(c.prompts.listChanged ? { listChanged: true } : {}) };
      if (c.logging) caps.logging = {};
      if (c.completions) caps.completions = {};
    }
    return caps;
  }

  /** Upstream instructions reach the model too: they are screened for injected instructions. */
  private instructions(): { instructions?: string } {
    const parts: string[] = [];
    for (const u of this.upstreams) {
      const text = u.instructions();
      if (!text) continue;
      const s = this.screenText?.(text);
      if (s && s.action !== 'allow') {
        this.log(`dropped the instructions of upstream ${u.name}: they carry injected instructions`);
        void this.audit('mcp.instructions.poisoned', {
          server: u.name,
          score: s.score,
          rules: s.findings.map((f) => f.rule),
        });
        continue;
      }
      parts.push(this.upstreams.length > 1 ? `[${u.name}] ${text}` : text);
    }
    return parts.length > 0 ? { instructions: parts.join('\n\n') } : {};
  }

  private registerHandlers(): void {
    this.on(ListToolsRequestSchema, () => this.tools.list());
    this.on(CallToolRequestSchema, (req, extra) => this.tools.call(req.params, extra));
    const caps = this.capabilities();
    if (caps.resources) {
      this.on(ListResourcesRequestSchema, (req, extra) =>
        this.reads.mergeLists('resources/list', req.params, extra, ListResourcesResultSchema, 'resources'),
      );
      this.on(ListResourceTemplatesRequestSchema, (req, extra) =>
        this.reads.mergeLists(
          'resources/templates/list',
          req.params,
          extra,
          ListResourceTemplatesResultSchema,
          'resourceTemplates',
        ),
      );
      this.on(ReadResourceRequestSchema, (req, extra) => this.reads.readResource(req.params, extra));
      if (caps.resources.subscribe) {
        this.on(SubscribeRequestSchema, (req, extra) =>
          this.routes
            .resource(req.params.uri)
            .live()
            .request(
              { method: 'resources/subscribe', params: req.params },
              EmptyResultSchema,
              this.routes.resource(req.params.uri).options({ signal: extra.signal }),
            ),
        );
        this.on(UnsubscribeRequestSchema, (req, extra) =>
          this.routes
            .resource(req.params.uri)
            .live()
            .request(
              { method: 'resources/unsubscribe', params: req.params },
              EmptyResultSchema,
              this.routes.resource(req.params.uri).options({ signal: extra.signal }),
            ),
        );
      }
    }
    if (caps.prompts) {
      this.on(ListPromptsRequestSchema, (req, extra) => this.reads.listPrompts(req.params, extra));
      this.on(GetPromptRequestSchema, (req, extra) => this.reads.getPrompt(req.params, extra));
    }
    if (caps.logging) {
      this.on(SetLevelRequestSchema, async (req, extra) => {
        await Promise.all(
          this.upstreams
            .filter((u) => u.ready && u.capabilities().logging)
            .map((u) =>
              u
                .live()
                .request(
                  { method: 'logging/setLevel', params: req.params },
                  EmptyResultSchema,
                  u.options({ signal: extra.signal }),
                ),
            ),
        );
        return {};
      });
    }
    if (caps.completions) {
      this.on(CompleteRequestSchema, async (req, extra) => {
        const ref = req.params.ref;
        const up =
          ref.type === 'ref/prompt'
            ? this.routes.prompt(ref.name)
            : { upstream: this.routes.resource(ref.uri), local: '' };
        const params = ref.type === 'ref/prompt' ? { ...req.params, ref: { ...ref, name: up.local } } : req.params;
        return up.upstream
          .live()
          .request(
            { method: 'completion/complete', params },
            CompleteResultSchema,
            up.upstream.options({ signal: extra.signal }),
          );
      });
    }
  }

  /**
   * Registers a handler whose request is validated by us: the SDK would answer a request with malformed params
   * with -32603 (internal error); JSON-RPC says -32602 (invalid params), naming what is wrong.
   */
  private on<S extends z.ZodType<{ method: string }>>(
    schema: S,
    handler: (req: z.output<S>, extra: HandlerExtra) => ServerResult | Promise<ServerResult>,
  ): void {
    const method = (schema as unknown as { shape: { method: { value: string } } }).shape.method.value;
    this.server.setRequestHandler(z.object({ method: z.literal(method) }).loose(), (req, extra) => {
      const r = schema.safeParse(req);
      if (!r.success) {
        const issue = r.error.issues[0];
        const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        throw new RpcError(
          ErrorCode.InvalidParams,
          `Invalid ${method} request: ${where}${issue?.message ?? 'malformed'}`,
        );
      }
      return Promise.resolve(handler(r.data, extra)).catch((err: unknown) => {
        // Upstream errors reach the client with their code, once prefixed.
        throw err instanceof McpError ? new RpcError(err.code, bareMessage(err), err.data) : err;
      });
    });
  }

  // ---- server-to-client traffic ----------------------------------------------------------------------

  forwardNotification(u: Upstream, n: Notification): void {
    if (this.closed) return;
    if (n.method === 'notifications/tools/list_changed') {
      this.catalog.invalidate();
      void this.server.sendToolListChanged().catch(() => {});
      return;
    }
    if (n.method === 'notifications/prompts/list_changed') this.routes.forgetPrompts();
    if (n.method === 'notifications/resources/list_changed') this.routes.forgetResources();
    void this.server.notification(n as ServerNotification).catch((err: unknown) => {
      this.log(`could not forward ${n.method} from ${u.name}: ${(err as Error).message}`);
    });
  }

  listRoots(signal: AbortSignal): Promise<ListRootsResult> {
    if (!this.server.getClientCapabilities()?.roots) return Promise.resolve({ roots: [] });
    return this.server.listRoots(undefined, { signal });
  }

  forwardElicitation(params: unknown, signal: AbortSignal): Promise<ElicitResult> {
    if (!this.server.getClientCapabilities()?.elicitation) return Promise.resolve({ action: 'decline' });
    return this.server.elicitInput(params as ElicitRequestFormParams, { signal, timeout: this.cfg.approval_timeout });
  }

  upstreamDead(u: Upstream, why: string): void {
    this.log(`upstream ${u.name} is gone: ${why}`);
    this.catalog.invalidate();
    void this.audit('mcp.upstream.died', { server: u.name, why, policy: this.cfg.on_upstream_exit }, [
      { code: 'mcp.upstream.died', message: `upstream ${u.name}: ${why}` },
    ]).finally(() => {
      if (this.cfg.on_upstream_exit === 'exit' || this.upstreams.every((x) => !x.ready))
        this.opts.onFatal?.(`upstream ${u.name}: ${why}`);
    });
  }

  upstreamBack(u: Upstream): void {
    this.catalog.invalidate();
    void this.audit('mcp.upstream.reconnected', { server: u.name });
    void this.server.sendToolListChanged().catch(() => {});
  }

  // ---- decisions and audit ---------------------------------------------------------------------------

  async decide(action: ActionInput): Promise<Decision> {
    return this.gh.decide(action, { credentials: await this.identity.credentials(this.session) });
  }

  async audit(type: string, data: Record<string, unknown>, reasons?: Reason[]): Promise<void> {
    try {
      await this.gh.audit.append(
        { type, agent: this.agent, session: this.session, actor: 'mcp-proxy', data, ...(reasons ? { reasons } : {}) },
        {
          durable:
            type.startsWith('mcp.pin') ||
            type.includes('blocked') ||
            type.includes('poisoned') ||
            type.includes('died'),
        },
      );
    } catch (err) {
      this.log(`audit: ${(err as Error).message}`);
    }
  }
}

/**
 * Gatehouse's own credentials and the variables behind brokered credentials never reach an upstream server's
 * environment: a server gets a credential only as a resolved handle, for the call it is granted to.
 */
export function scrubEnv(env: NodeJS.ProcessEnv, gh: Gatehouse): NodeJS.ProcessEnv {
  const cfg = gh.config.mcp;
  const held = new Set([
    cfg.identity.token_env,
    cfg.identity.key_env,
    ...Object.values(gh.config.credentials.env).map((c) => c.var),
    ...gh.config.redaction.known_secrets_env,
  ]);
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (held.has(k) || k.startsWith('GATEHOUSE_')) continue;
    out[k] = v;
  }
  return out;
}
