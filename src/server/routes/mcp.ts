import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../../gatehouse.js';
import { McpSessions, UNPARSABLE } from '../../mcp/http.js';

const HEADERS = {
  type: 'object',
  properties: {
    authorization: { type: 'string', maxLength: 8192 },
    'mcp-session-id': { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
  },
} as const;

/**
 * The MCP proxy on the gateway: streamable HTTP at `/v1/mcp` in front of the servers of `mcp.servers`, for agents
 * that present an access token. Registered only when servers are configured.
 */
export default async function mcpRoutes(app: FastifyInstance, opts: { gatehouse: Gatehouse }): Promise<void> {
  const gh = opts.gatehouse;
  if (Object.keys(gh.config.mcp.servers).length === 0) return;
  const sessions = new McpSessions({ gatehouse: gh, servers: gh.config.mcp.servers, log: (l) => app.log.info(l) });
  app.addHook('onClose', async () => sessions.close());
  // A body that is not JSON is answered by the MCP layer (a JSON-RPC parse error), not as a generic 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(null, UNPARSABLE);
    }
  });
  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.hijack();
    await sessions.handle(req.raw, reply.raw, req.body);
  };
  // Any JSON body: the MCP layer validates JSON-RPC itself and answers -32600/-32602 naming what is wrong.
  app.post('/v1/mcp', { schema: { headers: HEADERS, body: {} } }, handler);
  app.get('/v1/mcp', { schema: { headers: HEADERS } }, handler);
  app.delete('/v1/mcp', { schema: { headers: HEADERS } }, handler);
}
