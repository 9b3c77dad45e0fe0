import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * A JSON-RPC error the proxy answers its client with. The SDK sends `code`, `message` and `data` of whatever a
 * handler throws; unlike the SDK's McpError, the message carries no "MCP error N:" prefix, so a client that adds
 * its own prefix shows it once.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** The message of an SDK McpError without its "MCP error N: " prefix. */
export function bareMessage(err: Error): string {
  return err.message.replace(/^(MCP error -?\d+: )+/, '');
}
/** An upstream's failure as the client sees it: its own JSON-RPC code, or a named internal error. */
export function upstreamError(err: unknown, server: string): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof McpError) {
    if (err.code === ErrorCode.ConnectionClosed) {
      return new RpcError(ErrorCode.ConnectionClosed, `upstream MCP server ${server} closed the connection`);
    }
    return new RpcError(err.code, bareMessage(err), err.data);
  }
  return new RpcError(ErrorCode.InternalError, `upstream MCP server ${server}: ${(err as Error).message}`);
}
