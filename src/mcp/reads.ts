import {
  ErrorCode,
  type GetPromptResult,
  GetPromptResultSchema,
  ListPromptsResultSchema,
  type ListResourcesResultSchema,
  type ListResourceTemplatesResultSchema,
  type Prompt,
  type ReadResourceResult,
  ReadResourceResultSchema,
  type ServerResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpConfig } from '../config/sections/mcp.js';
import type { Reason } from '../core/decision.js';
import type { HandlerExtra } from './approval-wait.js';
import { SEPARATOR } from './catalog.js';
import { ContentFilter, codes, type Decider, decisive } from './content-filter.js';
import { RpcError, upstreamError } from './errors.js';
import type { Routes } from './routing.js';
import type { Upstream } from './upstream.js';

export interface ReadsDeps {
  upstreams: readonly Upstream[];
  routes: Routes;
  cfg: McpConfig;
  decider: Decider;
  audit(type: string, data: Record<string, unknown>, reasons?: Reason[]): Promise<void>;
}

/**
 * Resources and prompts: lists merged across the upstreams, and reads and gets decided by `decide()` before the
 * upstream is asked, their contents then screened and redacted as tool results.
 */
export class Reads {
  constructor(private readonly deps: ReadsDeps) {}

  async mergeLists<K extends 'resources' | 'resourceTemplates'>(
    method: 'resources/list' | 'resources/templates/list',
    params: { cursor?: string | undefined } | undefined,
    extra: HandlerExtra,
    schema: typeof ListResourcesResultSchema | typeof ListResourceTemplatesResultSchema,
    key: K,
  ): Promise<ServerResult> {
    // Cursors are per upstream: `<server>:<upstream cursor>` when several servers answer.
    const { target, cursor } = this.deps.routes.splitCursor(params?.cursor);
    const ups = this.deps.upstreams.filter(
      (u) => u.ready && u.capabilities().resources && (!target || u.name === target),
    );
    const items: unknown[] = [];
    let nextCursor: string | undefined;
    for (const u of ups) {
      const r = (await u
        .live()
        .request({ method, params: cursor ? { cursor } : {} }, schema, u.options({ signal: extra.signal }))) as Record<
        string,
        unknown
      >;
      const list = (r[key] as { uri?: string; uriTemplate?: string }[]) ?? [];
      for (const it of list) {
        this.deps.routes.noteResource(u, it);
        items.push(it);
      }
      if (typeof r.nextCursor === 'string' && !nextCursor) nextCursor = this.deps.routes.joinCursor(u, r.nextCursor);
    }
    await this.deps.audit('mcp.resources.listed', { method, count: items.length });
    // The items are the upstream's own, validated by its result schema.
    return schema.parse({ [key]: items, ...(nextCursor ? { nextCursor } : {}) });
  }

  /**
   * Reading a resource or getting a prompt is an action of its own (default deny): `mcp.resource:<server>` with
   * `{ uri }` and `mcp.prompt:<server>` with `{ name, arguments }`, so a policy can allow a server's tools without
   * handing out everything the server can read. A review is not waited for here (resource reads carry no progress
   * token): the client is told which approval to ask for, and the same request succeeds once it is approved.
   */
  private async authorizeRead(tool: string, args: Record<string, unknown>): Promise<void> {
    const d = await this.deps.decider.decide({
      kind: 'tool_call',
      agent: this.deps.decider.agent,
      session: this.deps.decider.session,
      tool,
      args,
    });
    if (d.effect === 'allow') return;
    const reasons = decisive(d);
    await this.deps.audit('mcp.read.blocked', { tool, decision: d.id, outcome: d.effect }, reasons);
    const held = d.effect === 'review' && d.approvalRequest;
    throw new RpcError(
      ErrorCode.InvalidRequest,
      held
        ? `Gatehouse holds this ${tool} until approval ${d.approvalRequest} is granted (gatehouse approvals approve ${d.approvalRequest}); then send the same request again`
        : `Gatehouse denied this ${tool}: ${reasons.map((r) => `${r.code}: ${r.message}`).join('; ')}`,
      {
        gatehouse: {
          effect: d.effect,
          reasons: reasons.map((r) => r.code),
          decision: d.id,
          ...(held ? { approvalRequest: d.approvalRequest } : {}),
        },
      },
    );
  }

  async readResource(params: { uri: string }, extra: HandlerExtra): Promise<ReadResourceResult> {
    const u = this.deps.routes.resource(params.uri);
    await this.authorizeRead(`mcp.resource:${u.name}`, { uri: params.uri });
    let r: ReadResourceResult;
    try {
      r = (await u
        .live()
        .request(
          { method: 'resources/read', params },
          ReadResourceResultSchema,
          u.options({ signal: extra.signal }),
        )) as ReadResourceResult;
    } catch (err) {
      throw upstreamError(err, u.name);
    }
    const f = new ContentFilter(this.deps.decider, `${u.name}.resources/read`);
    const contents: ReadResourceResult['contents'] = [];
    for (const c of r.contents) {
      if ('text' in c && typeof c.text === 'string') contents.push({ ...c, text: await f.text(c.text) });
      else contents.push(c);
    }
    await this.deps.audit('mcp.resource.read', {
      server: u.name,
      uri: params.uri.slice(0, 512),
      decisions: f.decisions,
      blocked: f.blocked,
    });
    if (f.blocked)
      throw new RpcError(ErrorCode.InvalidRequest, `Gatehouse blocked this resource: ${codes(f.blockReasons)}`, {
        gatehouse: f.meta(),
      });
    return { ...r, contents, _meta: { ...r._meta, gatehouse: f.meta() } };
  }

  async listPrompts(
    params: { cursor?: string | undefined } | undefined,
    extra: HandlerExtra,
  ): Promise<{ prompts: Prompt[]; nextCursor?: string }> {
    const prefix = this.deps.routes.prefixed(this.deps.cfg.tool_prefix);
    const { target, cursor } = this.deps.routes.splitCursor(params?.cursor);
    const prompts: Prompt[] = [];
    let nextCursor: string | undefined;
    for (const u of this.deps.upstreams.filter(
      (x) => x.ready && x.capabilities().prompts && (!target || x.name === target),
    )) {
      const r = await u
        .live()
        .request(
          { method: 'prompts/list', params: cursor ? { cursor } : {} },
          ListPromptsResultSchema,
          u.options({ signal: extra.signal }),
        );
      for (const p of r.prompts) {
        const exposed = prefix ? `${u.name}${SEPARATOR}${p.name}` : p.name;
        if (this.deps.routes.notePrompt(exposed, u, p.name)) prompts.push({ ...p, name: exposed });
      }
      if (r.nextCursor && !nextCursor) nextCursor = this.deps.routes.joinCursor(u, r.nextCursor);
    }
    await this.deps.audit('mcp.prompts.listed', { count: prompts.length });
    return { prompts, ...(nextCursor ? { nextCursor } : {}) };
  }

  async getPrompt(
    params: { name: string; arguments?: Record<string, string> | undefined },
    extra: HandlerExtra,
  ): Promise<GetPromptResult> {
    const { upstream: u, local } = this.deps.routes.prompt(params.name);
    await this.authorizeRead(`mcp.prompt:${u.name}`, { name: local, arguments: params.arguments ?? {} });
    let r: GetPromptResult;
    try {
      r = (await u
        .live()
        .request(
          { method: 'prompts/get', params: { ...params, name: local } },
          GetPromptResultSchema,
          u.options({ signal: extra.signal }),
        )) as GetPromptResult;
    } catch (err) {
      throw upstreamError(err, u.name);
    }
    const f = new ContentFilter(this.deps.decider, `${u.name}.prompts/get`);
    const description = r.description !== undefined ? await f.text(r.description) : undefined;
    const messages: GetPromptResult['messages'] = [];
    for (const m of r.messages)
      messages.push({ ...m, content: await f.block(m.content) } as GetPromptResult['messages'][number]);
    await this.deps.audit('mcp.prompt.get', {
      server: u.name,
      prompt: local,
      decisions: f.decisions,
      blocked: f.blocked,
    });
    if (f.blocked)
      throw new RpcError(ErrorCode.InvalidRequest, `Gatehouse blocked this prompt: ${codes(f.blockReasons)}`, {
        gatehouse: f.meta(),
      });
    return {
      ...r,
      ...(description !== undefined ? { description } : {}),
      messages,
      _meta: { ...r._meta, gatehouse: f.meta() },
    };
  }
}
