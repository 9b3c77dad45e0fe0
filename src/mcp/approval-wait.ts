import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ElicitResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Approvals } from '../approvals/store.js';
import type { McpConfig } from '../config/sections/mcp.js';
import type { Decision } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';

export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export type ApprovalOutcome = 'approved' | 'denied' | 'expired' | 'timeout' | 'cancelled';

const APPROVAL_HEARTBEAT_MS = 10_000;

export interface ApprovalWaitDeps {
  approvals: Pick<Approvals, 'wait' | 'approve' | 'deny'>;
  /** The client-facing server: elicitation and the client's name. */
  server: Server;
  cfg: McpConfig;
  agent: string;
  log(line: string): void;
  audit(type: string, data: Record<string, unknown>): Promise<void>;
}

/**
 * A tools/call held for approval: waits for an operator's decision out of band (`gatehouse approvals approve`),
 * and, when `mcp.elicitation` is on and the client supports it, asks the client's user too; the first answer wins.
 * Progress notifications keep the client's request alive meanwhile. Deciding what the approval allows stays with
 * `decide()`: the call is decided again once approved.
 */
export class ApprovalWait {
  constructor(private readonly deps: ApprovalWaitDeps) {}

  async wait(
    d: Decision,
    tool: string,
    args: Record<string, unknown>,
    extra: HandlerExtra,
    progressToken?: string | number,
  ): Promise<'approved' | 'denied' | 'expired' | 'timeout' | 'cancelled'> {
    const id = d.approvalRequest;
    if (!id) return 'denied';
    const timeoutMs = this.deps.cfg.approval_timeout;
    this.deps.log(`${tool} waits for approval ${id}: gatehouse approvals approve ${id}`);
    await this.deps.audit('mcp.approval.waiting', { tool, approval: id, timeoutMs });
    const stop = new AbortController();
    // Progress while waiting keeps clients that reset their request timeout on progress from giving up.
    let beats = 0;
    const heartbeat =
      progressToken === undefined
        ? undefined
        : setInterval(() => {
            beats += 1;
            void extra
              .sendNotification({
                method: 'notifications/progress',
                params: { progressToken, progress: beats, message: `waiting for approval ${id}` },
              })
              .catch(() => {});
          }, APPROVAL_HEARTBEAT_MS);
    const onAbort = () => stop.abort();
    extra.signal.addEventListener('abort', onAbort, { once: true });
    const outOfBand = this.deps.approvals
      .wait(id, { timeoutMs })
      .then((rec) =>
        rec.status === 'approved'
          ? 'approved'
          : rec.status === 'used'
            ? 'approved'
            : rec.status === 'denied'
              ? 'denied'
              : 'expired',
      )
      .catch((err: unknown) =>
        err instanceof GatehouseError && err.code === 'approval.wait_timeout' ? 'timeout' : 'denied',
      ) as Promise<'approved' | 'denied' | 'expired' | 'timeout'>;
    const waits: Promise<'approved' | 'denied' | 'expired' | 'timeout' | 'cancelled'>[] = [
      outOfBand,
      new Promise((resolve) => stop.signal.addEventListener('abort', () => resolve('cancelled'), { once: true })),
    ];
    const viaClient = this.deps.cfg.elicitation && this.deps.server.getClientCapabilities()?.elicitation;
    if (viaClient) waits.push(this.elicit(id, tool, args, timeoutMs, stop.signal));
    try {
      return await Promise.race(waits);
    } finally {
      clearInterval(heartbeat);
      extra.signal.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  /** Asks the client's user. Never resolves on failure or silence: the out-of-band wait decides then. */
  private elicit(
    id: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<'approved' | 'denied'> {
    const shown = JSON.stringify(args);
    const message =
      `Gatehouse: the agent ${this.deps.agent} wants to call ${tool} (high risk). Approve exactly these arguments?\n` +
      `${shown.length > 2000 ? `${shown.slice(0, 2000)}…` : shown}\n(approval ${id}; also: gatehouse approvals approve ${id})`;
    const approver = `mcp-client:${(this.deps.server.getClientVersion()?.name ?? 'unknown').slice(0, 64)}`;
    return new Promise((resolve) => {
      this.deps.server
        .elicitInput(
          {
            mode: 'form',
            message,
            requestedSchema: {
              type: 'object',
              properties: { approve: { type: 'boolean', title: 'Approve this call', default: false } },
              required: ['approve'],
            },
          },
          { signal, timeout: timeoutMs },
        )
        .then(async (r: ElicitResult) => {
          const yes = r.action === 'accept' && r.content?.approve === true;
          try {
            if (yes) await this.deps.approvals.approve(id, approver, 'approved through MCP elicitation');
            else await this.deps.approvals.deny(id, approver, `the user answered ${r.action}`);
            resolve(yes ? 'approved' : 'denied');
          } catch (err) {
            // Decided elsewhere meanwhile: the out-of-band wait reports that decision.
            this.deps.log(`approval ${id}: ${(err as Error).message}`);
          }
        })
        .catch((err: unknown) => {
          if (!signal.aborted) this.deps.log(`elicitation for approval ${id} failed: ${(err as Error).message}`);
        });
    });
  }
}
