import { createInterface } from 'node:readline/promises';
import type { Reason, Tier } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';
import type { ApprovalState, GuardHost } from './host.js';

/** What a human (or a client acting for one) is asked to approve: exactly these arguments. */
export interface ApprovalPrompt {
  id: string;
  agent: string;
  session: string;
  tool: string;
  args: Record<string, unknown>;
  tier: Tier;
  reasons: readonly Reason[];
}

export type ApprovalOutcome = 'approved' | 'denied' | 'expired' | 'timeout';

export interface ApproverContext {
  host: GuardHost;
  timeoutMs: number;
  /** Aborted once the request is decided some other way (an operator approved out of band). */
  signal: AbortSignal;
}

/**
 * Asks for an approval. An approver either records the answer itself (`host.approvals.approve/deny` under its
 * own approver identity) or waits for someone else to. The guard always races it with the out-of-band wait, so
 * `gatehouse approvals approve <id>` or the dashboard decide a request whichever approver is plugged in.
 */
export interface Approver {
  readonly name: string;
  request(prompt: ApprovalPrompt, ctx: ApproverContext): Promise<ApprovalOutcome>;
}

export function outcomeOf(rec: ApprovalState): ApprovalOutcome {
  return rec.status === 'approved' || rec.status === 'used'
    ? 'approved'
    : rec.status === 'denied'
      ? 'denied'
      : rec.status === 'expired'
        ? 'expired'
        : 'timeout';
}

/** Waits for a decision made elsewhere: CLI (`gatehouse approvals approve`), dashboard, HTTP API. */
export function waitForApproval(): Approver {
  return {
    name: 'out-of-band',
    async request(p, ctx) {
      try {
        return outcomeOf(await ctx.host.approvals.wait(p.id, { timeoutMs: ctx.timeoutMs }));
      } catch (err) {
        if (err instanceof GatehouseError && err.code === 'approval.wait_timeout') return 'timeout';
        throw err;
      }
    },
  };
}

/**
 * Asks a function (your own UI, a chat message, a test). `true` approves, `false` denies; the answer is recorded
 * as approver `callback:<name>`.
 *
 * @example
 * guard('email.send', send, { agent: 'bot', approver: callbackApprover(async (p) => confirm(`send to ${p.args.to}?`)) })
 */
export function callbackApprover(
  ask: (prompt: ApprovalPrompt) => boolean | Promise<boolean>,
  opts: { name?: string; approver?: string } = {},
): Approver {
  const approver = opts.approver ?? `callback:${opts.name ?? 'app'}`;
  return {
    name: approver,
    async request(p, ctx) {
      const yes = await ask(p);
      if (ctx.signal.aborted) return outcomeOf(await ctx.host.approvals.get(p.id));
      if (yes) await ctx.host.approvals.approve(p.id, approver, 'approved by callback');
      else await ctx.host.approvals.deny(p.id, approver, 'denied by callback');
      return yes ? 'approved' : 'denied';
    },
  };
}

/** Asks on a terminal (`y` approves, anything else denies), as approver `cli:<user>`. */
export function cliApprover(
  opts: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; user?: string } = {},
): Approver {
  const who = `cli:${opts.user ?? process.env.USER ?? 'operator'}`;
  return callbackApprover(
    async (p) => {
      const rl = createInterface({ input: opts.input ?? process.stdin, output: opts.output ?? process.stderr });
      try {
        const answer = await rl.question(`${describePrompt(p)}\nApprove exactly these arguments? [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    { approver: who },
  );
}

/**
 * Posts the request to a webhook (a chat bot, a ticketing system) and waits for the decision, which the
 * receiver makes through the gateway's approvals API. Only the argument keys are sent, never their values.
 */
export function webhookApprover(opts: { url: string; headers?: Record<string, string> }): Approver {
  const wait = waitForApproval();
  return {
    name: 'webhook',
    async request(p, ctx) {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify({
          type: 'approval.requested',
          id: p.id,
          agent: p.agent,
          session: p.session,
          tool: p.tool,
          argKeys: Object.keys(p.args).sort(),
          tier: p.tier,
          reasons: p.reasons.map((r) => ({ code: r.code, message: r.message })),
        }),
        signal: ctx.signal,
      });
      if (!res.ok) throw new GatehouseError('guard.webhook_failed', `approval webhook answered HTTP ${res.status}`);
      return wait.request(p, ctx);
    },
  };
}

/**
 * Asks the MCP client's user through elicitation (`server.elicitInput`). The answer is the client's, not a
 * verified human's, so it is recorded as approver `mcp-client:<name>`: a client that auto-accepts approves its
 * own calls. Use it only where the client is trusted to show the prompt to a person.
 */
export function elicitationApprover(
  elicit: (params: {
    mode: 'form';
    message: string;
    requestedSchema: {
      type: 'object';
      properties: { approve: { type: 'boolean'; title: string; default: boolean } };
      required: string[];
    };
  }) => Promise<{ action: string; content?: Record<string, unknown> | undefined }>,
  opts: { client: string },
): Approver {
  const approver = `mcp-client:${opts.client.slice(0, 64)}`;
  return {
    name: approver,
    async request(p, ctx) {
      const r = await elicit({
        mode: 'form',
        message: `${describePrompt(p)}\nApprove exactly these arguments?`,
        requestedSchema: {
          type: 'object',
          properties: { approve: { type: 'boolean', title: 'Approve this call', default: false } },
          required: ['approve'],
        },
      });
      if (ctx.signal.aborted) return outcomeOf(await ctx.host.approvals.get(p.id));
      const yes = r.action === 'accept' && r.content?.approve === true;
      if (yes) await ctx.host.approvals.approve(p.id, approver, 'approved through MCP elicitation');
      else await ctx.host.approvals.deny(p.id, approver, `the client answered ${r.action}`);
      return yes ? 'approved' : 'denied';
    },
  };
}

/** A human-readable prompt: the tool, the exact arguments (truncated), why it needs approval, how else to decide. */
export function describePrompt(p: ApprovalPrompt): string {
  const shown = JSON.stringify(p.args);
  const why = p.reasons.map((r) => r.code).join(', ');
  return (
    `Gatehouse: agent ${p.agent} wants to call ${p.tool} (${p.tier} risk${why ? `: ${why}` : ''}).\n` +
    `${shown.length > 2000 ? `${shown.slice(0, 2000)}…` : shown}\n` +
    `(approval ${p.id}; also: gatehouse approvals approve ${p.id})`
  );
}
