import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ElicitRequestSchema,
  type ElicitResult,
  ErrorCode,
  ListRootsRequestSchema,
  type ListRootsResult,
  type Notification,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpUpstreamConfig } from '../config/sections/mcp.js';
import { GatehouseError } from '../core/errors.js';
import { RpcError } from './errors.js';
import { type Malformed, spawnServer } from './transport.js';

export const PROXY_INFO = { name: 'gatehouse-mcp-proxy', version: '0.1.0' } as const;

/** An upstream server is not there (not started, died, reconnecting): the client gets a clean error. */
export class UpstreamError extends GatehouseError {}

/** What an upstream connection needs from the proxy. */
export interface UpstreamDeps {
  /** Resolves `{{secret:NAME}}` handles in the server's environment or headers, only on the way to the server. */
  resolveSecrets(values: Record<string, string>, target: 'env' | 'header'): Promise<Record<string, string>>;
  /** The environment a stdio server inherits (the proxy's own, minus Gatehouse's credentials). */
  baseEnv: NodeJS.ProcessEnv;
  requestTimeoutMs: number;
  onExit: 'exit' | 'reconnect';
  reconnect: { max_attempts: number; backoff: number };
  onMalformed(m: Malformed, server: string): void;
  onNotification(server: Upstream, n: Notification): void;
  /** The server died for good (exit mode, or every reconnect attempt failed). */
  onDead(server: Upstream, why: string): void;
  /** The server came back after dying (reconnect mode). */
  onReconnected(server: Upstream): void;
  /** Server-to-client requests the proxy forwards to its own client. */
  listRoots(server: Upstream, signal: AbortSignal): Promise<ListRootsResult>;
  elicit(server: Upstream, params: unknown, signal: AbortSignal): Promise<ElicitResult>;
  log(line: string): void;
}

/**
 * One upstream MCP server behind the proxy: a stdio process the proxy starts, or a streamable HTTP endpoint,
 * spoken to with the SDK's Client. Keeps the tool list (all pages) until the server says it changed, and
 * restarts the server when it dies if so configured.
 */
export class Upstream {
  private client: Client | undefined;
  private toolCache: Tool[] | undefined;
  private toolLoad: Promise<Tool[]> | undefined;
  private state: 'idle' | 'ready' | 'reconnecting' | 'dead' | 'closed' = 'idle';
  private pid: number | undefined;

  constructor(
    readonly name: string,
    readonly config: McpUpstreamConfig,
    private readonly deps: UpstreamDeps,
  ) {}

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Process id of a stdio server (tests kill it to check recovery). */
  get processId(): number | undefined {
    return this.pid;
  }

  capabilities(): ServerCapabilities {
    return this.client?.getServerCapabilities() ?? {};
  }

  instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  async connect(): Promise<void> {
    const client = new Client(PROXY_INFO, {
      capabilities: { roots: { listChanged: true }, elicitation: { form: {} } },
    });
    client.setRequestHandler(ListRootsRequestSchema, (_req, extra) => this.deps.listRoots(this, extra.signal));
    client.setRequestHandler(ElicitRequestSchema, (req, extra) => this.deps.elicit(this, req.params, extra.signal));
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/tools/list_changed') this.invalidateTools();
      this.deps.onNotification(this, n);
    };
    const transport = await this.openTransport();
    client.onclose = () => this.lost(client);
    client.onerror = (err) => this.deps.log(`upstream ${this.name}: ${err.message}`);
    try {
      await client.connect(transport, { timeout: this.deps.requestTimeoutMs });
    } catch (err) {
      client.onclose = undefined;
      await transport.close().catch(() => {});
      throw err;
    }
    this.client = client;
    this.toolCache = undefined;
    this.toolLoad = undefined;
    this.state = 'ready';
  }

  /** Every tool the server offers (all pages), cached until it announces a change. */
  async tools(): Promise<Tool[]> {
    if (this.toolCache) return this.toolCache;
    if (!this.toolLoad) {
      const load = (async () => {
        const all: Tool[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 1000; page++) {
          const r = await this.live().listTools(cursor ? { cursor } : {}, { timeout: this.deps.requestTimeoutMs });
          all.push(...r.tools);
          cursor = r.nextCursor;
          if (!cursor) break;
        }
        return all;
      })();
      this.toolLoad = load;
      load.then(
        (t) => {
          if (this.toolLoad === load) this.toolCache = t;
        },
        () => {
          if (this.toolLoad === load) this.toolLoad = undefined;
        },
      );
    }
    return this.toolLoad;
  }

  invalidateTools(): void {
    this.toolCache = undefined;
    this.toolLoad = undefined;
  }

  /** The connected client, or a clean error when the server is not there. */
  live(): Client {
    if (this.state !== 'ready' || !this.client) {
      throw new RpcError(
        ErrorCode.ConnectionClosed,
        `upstream MCP server ${this.name} is ${this.state === 'reconnecting' ? 'restarting' : 'not available'}`,
      );
    }
    return this.client;
  }

  options(extra: RequestOptions = {}): RequestOptions {
    return { timeout: this.deps.requestTimeoutMs, ...extra };
  }

  async close(): Promise<void> {
    this.state = 'closed';
    const c = this.client;
    this.client = undefined;
    await c?.close().catch(() => {});
  }

  private async openTransport(): Promise<Transport> {
    const c = this.config;
    if (c.url) {
      const headers = await this.deps.resolveSecrets(c.headers, 'header');
      return new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers } });
    }
    const env = { ...this.deps.baseEnv, ...(await this.deps.resolveSecrets(c.env, 'env')) };
    const { transport, child } = spawnServer(c.command!, c.args, {
      env,
      ...(c.cwd ? { cwd: c.cwd } : {}),
      onMalformed: (m) => this.deps.onMalformed(m, this.name),
    });
    this.pid = child.pid;
    return transport;
  }

  private lost(client: Client): void {
    if (this.client !== client || this.state === 'closed') return;
    this.client = undefined;
    this.invalidateTools();
    this.deps.log(`upstream ${this.name} exited or closed its connection`);
    if (this.deps.onExit === 'exit') {
      this.state = 'dead';
      this.deps.onDead(this, 'the server closed its connection');
      return;
    }
    this.state = 'reconnecting';
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const { max_attempts, backoff } = this.deps.reconnect;
    for (let attempt = 1; attempt <= max_attempts; attempt++) {
      await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
      if (this.state === 'closed') return;
      try {
        await this.connect();
        this.deps.log(`upstream ${this.name} reconnected (attempt ${attempt})`);
        this.deps.onReconnected(this);
        return;
      } catch (err) {
        this.deps.log(`upstream ${this.name}: reconnect attempt ${attempt} failed: ${(err as Error).message}`);
        this.state = 'reconnecting';
      }
    }
    this.state = 'dead';
    this.deps.onDead(this, `the server could not be restarted after ${max_attempts} attempts`);
  }
}
