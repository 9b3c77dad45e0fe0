import type { CallToolResult, ContentBlock, Tool } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { McpConfig } from '../config/sections/mcp.js';
import type { ActionInput } from '../core/action.js';
import type { Reason } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';
import type { CredentialBroker } from '../credentials/broker.js';
import type { ApprovalWait, HandlerExtra } from './approval-wait.js';
import type { ToolCatalog } from './catalog.js';
import { ContentFilter, type Decider, decisive, refusal } from './content-filter.js';
import { RpcError, upstreamError } from './errors.js';

export interface ToolCallsDeps {
  catalog: ToolCatalog;
  approvalWait: ApprovalWait;
  cfg: McpConfig;
  decider: Decider;
  credentials: Pick<CredentialBroker, 'resolve'>;
  audit(type: string, data: Record<string, unknown>, reasons?: Reason[]): Promise<void>;
}

/**
 * tools/list and tools/call. The list is the catalogue's decisions; a call is decided by the full pipeline
 * (deny → an error result naming the reason codes; review → waits for an approval and is decided again), its
 * credential handles are resolved only on the way to the server, and its result is screened and redacted.
 */
export class ToolCalls {
  constructor(private readonly deps: ToolCallsDeps) {}

  async list(): Promise<{ tools: Tool[] }> {
    const catalog = await this.deps.catalog.load(true);
    const shown = catalog.entries.filter((e) => !e.hidden);
    // By the first reason of the decision that hid them (`mcp.tool.not_visible`, `mcp.pin.violation`, …).
    const hidden: Record<string, number> = {};
    for (const e of catalog.entries) {
      const code = e.hidden?.reasons[0]?.code;
      if (code) hidden[code] = (hidden[code] ?? 0) + 1;
    }
    await this.deps.audit('mcp.tools.listed', {
      shown: shown.length,
      hidden,
      tools: shown.map((e) => e.name),
    });
    return { tools: shown.map((e) => ({ ...e.tool, name: e.exposed })) };
  }

  async call(
    params: {
      name: string;
      arguments?: Record<string, unknown> | undefined;
      _meta?: Record<string, unknown> | undefined;
    },
    extra: HandlerExtra,
  ): Promise<CallToolResult> {
    const started = performance.now();
    let entry = (await this.deps.catalog.load(false)).byExposed.get(params.name);
    // A client may call without listing, or after the server announced changes: look at the current definitions.
    if (!entry || !this.deps.catalog.cached) entry = (await this.deps.catalog.load(true)).byExposed.get(params.name);
    if (!entry) {
      await this.deps.audit('mcp.call.unknown_tool', { tool: params.name.slice(0, 256) });
      throw new RpcError(ErrorCode.InvalidParams, `unknown tool: ${params.name.slice(0, 256)}`);
    }
    // A tool hidden because the agent may not call it is decided as a call, which names the policy's reason;
    // one hidden for what it is (shadowed, changed, poisoned, or undecidable) is refused by its listing decision.
    if (entry.hidden && entry.hidden.stage !== 'authorize') {
      await this.deps.audit(
        'mcp.call.blocked',
        { tool: entry.name, decision: entry.hidden.decision },
        entry.hidden.reasons,
      );
      return refusal(entry.hidden.reasons, 'deny', [entry.hidden.decision]);
    }
    const args = params.arguments ?? {};
    const action: ActionInput = {
      kind: 'tool_call',
      agent: this.deps.decider.agent,
      session: this.deps.decider.session,
      tool: entry.name,
      args,
    };
    let d = await this.deps.decider.decide(action);
    if (d.effect === 'review') {
      const outcome = await this.deps.approvalWait.wait(
        d,
        entry.name,
        args,
        extra,
        params._meta?.progressToken as string | number | undefined,
      );
      if (outcome !== 'approved') {
        const reason: Reason =
          outcome === 'timeout'
            ? {
                code: 'approval.timeout',
                message: `no approval for ${d.approvalRequest} within ${this.deps.cfg.approval_timeout} ms; the call is denied`,
                ruleId: d.approvalRequest,
              }
            : outcome === 'cancelled'
              ? { code: 'approval.cancelled', message: 'the client cancelled the call while it waited for approval' }
              : {
                  code: 'approval.denied',
                  message: `approval ${d.approvalRequest} was ${outcome}`,
                  ruleId: d.approvalRequest,
                };
        await this.deps.audit('mcp.call', { tool: entry.name, decision: d.id, outcome }, [reason]);
        return refusal([...decisive(d), reason], 'deny');
      }
      d = await this.deps.decider.decide(action);
    }
    if (d.effect !== 'allow') {
      await this.deps.audit('mcp.call', { tool: entry.name, decision: d.id, outcome: d.effect }, d.reasons);
      return refusal(decisive(d), d.effect);
    }
    let toServer: Record<string, unknown>;
    try {
      toServer = (
        await this.deps.credentials.resolve(d.action.args ?? {}, {
          agent: this.deps.decider.agent,
          tool: entry.name,
          session: this.deps.decider.session,
          target: 'args',
        })
      ).value;
    } catch (err) {
      const reason: Reason = {
        code: err instanceof GatehouseError ? err.code : 'credentials.error',
        message: (err as Error).message,
      };
      await this.deps.audit('mcp.call', { tool: entry.name, decision: d.id, outcome: 'deny' }, [reason]);
      return refusal([reason], 'deny');
    }
    const progressToken = params._meta?.progressToken as string | number | undefined;
    let result: CallToolResult;
    try {
      result = (await entry.upstream.live().request(
        {
          method: 'tools/call',
          params: { name: entry.tool.name, arguments: toServer, ...(params._meta ? { _meta: params._meta } : {}) },
        },
        CallToolResultSchema,
        entry.upstream.options({
          signal: extra.signal,
          resetTimeoutOnProgress: true,
          ...(progressToken !== undefined
            ? {
                onprogress: (p) =>
                  void extra
                    .sendNotification({ method: 'notifications/progress', params: { ...p, progressToken } })
                    .catch(() => {}),
              }
            : {}),
        }),
      )) as CallToolResult;
    } catch (err) {
      const e = upstreamError(err, entry.upstream.name);
      await this.deps.audit('mcp.call', { tool: entry.name, decision: d.id, outcome: 'upstream_error', code: e.code }, [
        { code: 'mcp.upstream.error', message: e.message },
      ]);
      throw e;
    }
    const filtered = await this.filterResult(result, entry.name);
    await this.deps.audit('mcp.call', {
      tool: entry.name,
      decision: d.id,
      outcome: filtered.isError ? 'error_result' : 'ok',
      ms: Math.round((performance.now() - started) * 1000) / 1000,
    });
    return filtered;
  }

  /** Screens and redacts every text a tool returns; a blocked result becomes an error result naming why. */
  private async filterResult(result: CallToolResult, tool: string): Promise<CallToolResult> {
    const f = new ContentFilter(this.deps.decider, tool);
    const content: ContentBlock[] = [];
    for (const block of result.content ?? []) content.push(await f.block(block));
    let structured = result.structuredContent;
    if (structured !== undefined) structured = await f.structured(structured);
    if (f.blocked) return refusal(f.blockReasons, 'deny', f.decisions);
    const notice = f.notice();
    return {
      ...result,
      content: notice ? [...content, notice] : content,
      ...(structured !== undefined ? { structuredContent: structured } : {}),
      _meta: { ...result._meta, gatehouse: f.meta() },
    } as CallToolResult;
  }
}
