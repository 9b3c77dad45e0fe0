import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

/** A message that was not valid JSON-RPC: what the proxy logs and audits (never the message itself). */
export interface Malformed {
  side: 'client' | 'upstream';
  /** JSON-RPC error code answered with: -32700 parse error or -32600 invalid request. */
  code: number;
  reason: string;
  id: string | number | null;
  bytes: number;
}

export interface LineTransportOptions {
  side: 'client' | 'upstream';
  /** Called for every rejected message. */
  onMalformed?: (m: Malformed) => void;
  /** Longest accepted line; longer ones are discarded and answered with a parse error. Default 64 MiB. */
  maxLineBytes?: number;
}

const DEFAULT_MAX_LINE = 64 * 1024 * 1024;

/**
 * MCP's stdio framing (one JSON-RPC message per line) over a pair of streams, with strict rejection: a line that
 * is not JSON gets a -32700 parse error, valid JSON that is not a JSON-RPC 2.0 message a -32600 invalid request
 * (with its id when it has one). On the client side the error is sent back to the client; on the upstream side a
 * malformed reply to a pending request fails that request with a JSON-RPC error instead of leaving it hanging.
 * Nothing malformed ever reaches the protocol layer, and nothing malformed stops the transport.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  sessionId?: string;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private discarding = false;
  private closed = false;
  private readonly maxLine: number;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly opts: LineTransportOptions,
  ) {
    this.maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
  }

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('error', this.onStreamError);
    this.input.on('end', this.onEnd);
    this.output.on('error', this.onStreamError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    const line = `${JSON.stringify(message)}\n`;
    await new Promise<void>((resolve, reject) => {
      const ok = this.output.write(line, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.onclose?.();
  }

  private readonly onStreamError = (err: Error): void => {
    this.onerror?.(err);
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onData = (chunk: Buffer | string): void => {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl === -1) {
        if (this.discarding) return;
        this.chunks.push(buf);
        this.buffered += buf.length;
        if (this.buffered > this.maxLine) {
          this.reject(-32700, `message longer than ${this.maxLine} bytes`, null, this.buffered);
          this.chunks = [];
          this.buffered = 0;
          this.discarding = true;
        }
        return;
      }
      const head = buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const line = this.chunks.length === 0 ? head : Buffer.concat([...this.chunks, head]);
      this.chunks = [];
      this.buffered = 0;
      this.handleLine(line);
    }
  };

  private handleLine(raw: Buffer): void {
    const text = raw.toString('utf8').replace(/\r$/, '');
    if (text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.reject(ErrorCode.ParseError, 'not valid JSON', null, raw.length);
      return;
    }
    const r = JSONRPCMessageSchema.safeParse(parsed);
    if (!r.success) {
      const id = idOf(parsed);
      const issue = r.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
      this.reject(ErrorCode.InvalidRequest, `not a JSON-RPC 2.0 message${where}`, id, raw.length);
      return;
    }
    this.onmessage?.(r.data);
  }

  private reject(code: number, reason: string, id: string | number | null, bytes: number): void {
    this.opts.onMalformed?.({ side: this.opts.side, code, reason, id, bytes });
    const message = `${code === ErrorCode.ParseError ? 'Parse error' : 'Invalid Request'}: ${reason}`;
    if (this.opts.side === 'client') {
      // JSON-RPC 2.0: a request that cannot be read is answered with an error (id null when unknown).
      void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage).catch(() => {});
    } else if (id !== null) {
      this.onmessage?.({
        jsonrpc: '2.0',
        id,
        error: { code: ErrorCode.InternalError, message: `the upstream server sent a malformed message: ${message}` },
      });
    }
  }
}

function idOf(v: unknown): string | number | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const id = (v as Record<string, unknown>).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

export interface SpawnedServer {
  transport: LineTransport;
  child: ChildProcess;
}

/**
 * Starts an MCP server process and speaks line-delimited JSON-RPC on its stdin/stdout. Its stderr passes
 * through to ours (MCP servers log there). The transport closes when the process exits.
 */
export function spawnServer(
  command: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; onMalformed?: (m: Malformed) => void },
): SpawnedServer {
  const child = spawn(command, [...args], {
    env: opts.env,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdio: ['pipe', 'pipe', 'inherit'],
    windowsHide: true,
  });
  const transport = new LineTransport(child.stdout!, child.stdin!, {
    side: 'upstream',
    ...(opts.onMalformed ? { onMalformed: opts.onMalformed } : {}),
  });
  const origClose = transport.close.bind(transport);
  transport.close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await origClose();
  };
  child.on('exit', () => void origClose());
  child.on('error', (err) => {
    transport.onerror?.(err);
    void origClose();
  });
  return { transport, child };
}
