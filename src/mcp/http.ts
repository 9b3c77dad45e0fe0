import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpUpstreamConfig } from '../config/sections/mcp.js';
import type { Gatehouse } from '../gatehouse.js';
import { McpProxy, type TextScreener } from './proxy.js';

export interface McpHttpOptions {
  gatehouse: Gatehouse;
  servers: Record<string, McpUpstreamConfig>;
  host?: string;
  port?: number;
  path?: string;
  screenText?: TextScreener;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** The body of a POST that was not JSON (answered with a JSON-RPC parse error once the caller is authenticated). */
export const UNPARSABLE: unique symbol = Symbol('unparsable');

interface HttpSession {
  proxy: McpProxy;
  transport: StreamableHTTPServerTransport;
  agent: string;
  token: string;
}

/**
 * MCP sessions over streamable HTTP: each client presents an agent access token (`Authorization: Bearer`) on every
 * request; an MCP session belongs to the agent that opened it and is its Gatehouse session, with its own upstream
 * connections. Sessions are capped (`mcp.http.max_sessions`). Used by `gatehouse mcp --http` (McpHttpProxy) and by
 * the gateway's `/v1/mcp` route.
 */
export class McpSessions {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly log: (line: string) => void;

  constructor(private readonly opts: McpHttpOptions) {
    this.log = opts.log ?? (() => {});
  }

  get size(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.proxy.close()));
  }

  /** Serves one HTTP request; `body` is the parsed JSON of a POST (undefined otherwise, UNPARSABLE when not JSON). */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const gh = this.opts.gatehouse;
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="gatehouse"');
      return jsonError(res, 401, -32001, 'present an agent access token: Authorization: Bearer <token>');
    }
    let agent: string;
    try {
      agent = (await gh.identity.authenticateCaller({ kind: 'bearer', token }, { method: 'mcp' })).agent;
    } catch (err) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="gatehouse", error="invalid_token"');
      return jsonError(res, 401, -32001, (err as Error).message);
    }
    // Authentication comes first: an anonymous caller learns nothing but 401.
    if (body === UNPARSABLE) return this.rejectUnparsable(res, agent);
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const s = this.sessions.get(sid);
      if (!s) return jsonError(res, 404, -32001, 'unknown or expired MCP session');
      if (s.agent !== agent) return jsonError(res, 403, -32001, 'this MCP session belongs to another agent');
      s.token = token;
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return jsonError(res, 400, -32600, 'Invalid Request: start a session with an initialize request');
    }
    if (this.sessions.size >= gh.config.mcp.http.max_sessions)
      return jsonError(res, 503, -32001, 'too many MCP sessions');
    const session = `mcp-${randomUUID()}`;
    const proxy = await McpProxy.start({
      gatehouse: gh,
      servers: this.opts.servers,
      identity: {
        agent,
        method: 'token',
        credentials: async () => ({ kind: 'bearer', token: this.sessions.get(session)?.token ?? token }),
      },
      session,
      ...(this.opts.screenText ? { screenText: this.opts.screenText } : {}),
      ...(this.opts.env ? { env: this.opts.env } : {}),
      log: (l) => this.log(`[${session}] ${l}`),
      onFatal: (why) => {
        this.log(`[${session}] closing: ${why}`);
        void this.drop(session);
      },
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => session,
      onsessionclosed: () => void this.drop(session),
    });
    this.sessions.set(session, { proxy, transport, agent, token });
    await proxy.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /** A body that is not JSON: answered with a JSON-RPC parse error and audited. */
  private async rejectUnparsable(res: ServerResponse, agent: string): Promise<void> {
    await this.opts.gatehouse.audit.append({
      type: 'mcp.message.rejected',
      agent,
      actor: 'mcp-proxy',
      data: { side: 'client', code: -32700, reason: 'not valid JSON' },
    });
    jsonError(res, 400, -32700, 'Parse error: not valid JSON');
  }

  private async drop(session: string): Promise<void> {
    const s = this.sessions.get(session);
    if (!s) return;
    this.sessions.delete(session);
    await s.proxy.close();
  }
}

/**
 * `gatehouse mcp --http`: the proxy on its own streamable HTTP listener (default http://127.0.0.1:8931/mcp).
 *
 * @example
 * const http = await McpHttpProxy.listen({ gatehouse: gh, servers: gh.config.mcp.servers });
 * console.log(http.url);
 */
export class McpHttpProxy {
  private constructor(
    private readonly sessions: McpSessions,
    private readonly http: HttpServer,
    readonly path: string,
  ) {}

  static async listen(opts: McpHttpOptions): Promise<McpHttpProxy> {
    const cfg = opts.gatehouse.config.mcp.http;
    const path = opts.path ?? cfg.path;
    const sessions = new McpSessions(opts);
    const log = opts.log ?? (() => {});
    const http = createServer((req, res) => {
      serve(sessions, path, opts.gatehouse.config.server.body_limit, req, res).catch((err: unknown) => {
        log(`http: ${(err as Error).message}`);
        if (!res.headersSent) jsonError(res, 500, -32603, 'internal error');
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(opts.port ?? cfg.port, opts.host ?? cfg.host, () => resolve());
    });
    return new McpHttpProxy(sessions, http, path);
  }

  get url(): string {
    const a = this.http.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}${this.path}`;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    await this.sessions.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

async function serve(
  sessions: McpSessions,
  path: string,
  limit: number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== path) return jsonError(res, 404, -32601, `not found: MCP is served at ${path}`);
  let body: unknown;
  if (req.method === 'POST') {
    const read = await readBody(req, limit);
    if (read === undefined) return jsonError(res, 413, -32600, 'request body too large');
    try {
      body = JSON.parse(read);
    } catch {
      body = UNPARSABLE;
    }
  }
  return sessions.handle(req, res, body);
}

export function jsonError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > limit) return undefined;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
