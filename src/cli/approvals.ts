import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { ApprovalRecord, ApprovalStatus } from '../approvals/store.js';
import { approvalView } from '../approvals/view.js';
import { DurationSchema } from '../config/units.js';
import { InputError } from '../core/errors.js';
import { action, printJson, withGatehouse } from './common.js';
import { printList, when } from './output.js';

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'used', 'expired'];

/** The approver named on the command line, else the operating-system user. */
export function operatorName(as: string | undefined): string {
  const name = as ?? userInfo().username;
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name))
    throw new InputError('--as', 'operator names use 1-64 letters, digits and _ . @ -');
  return `operator:${name}`;
}

function shortArgs(r: ApprovalRecord): string {
  const args = JSON.stringify(r.action.args ?? {});
  return args.length > 80 ? `${args.slice(0, 77)}...` : args;
}

function show(r: ApprovalRecord): string {
  const v = approvalView(r);
  const out = [
    `approval ${r.id}: ${r.status}`,
    `  agent     ${r.agent} (session ${r.session})`,
    `  tool      ${r.tool ?? r.action.kind}`,
    `  arguments ${JSON.stringify(r.action.args ?? {}, null, 2).replace(/\n/g, '\n            ')}`,
    `  binding   sha256:${r.hash}`,
    `  tier      ${r.tier}, policy epoch ${r.epoch}`,
    `  expires   ${v.expiresAt}`,
    ...r.reasons.map((x) => `  reason    ${x.code}: ${x.message}`),
  ];
  if (r.approver)
    out.push(`  decided   by ${r.approver} at ${v.decidedAt}${r.decisionReason ? `: ${r.decisionReason}` : ''}`);
  if (r.dryRun)
    out.push(
      `  dry run   ${r.dryRun.tool}: ${r.dryRun.status} ${JSON.stringify(r.dryRun.result ?? r.dryRun.error ?? null)}`,
    );
  return `${out.join('\n')}\n`;
}

export function registerApprovals(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('the human gate: list, show, approve and deny approval requests');

  approvals
    .command('list')
    .description('list approval requests (newest first)')
    .option('--status <status>', `only requests with this status (${STATUSES.join(', ')})`)
    .option('--agent <agent>', 'only requests of this agent')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print {approvals: [...]} as JSON')
    .action(
      action(async (opts: { status?: string; agent?: string; limit: string; json?: boolean }, cmd: Command) => {
        if (opts.status !== undefined && !STATUSES.includes(opts.status as ApprovalStatus)) {
          throw new InputError('--status', `expected one of ${STATUSES.join(', ')}`);
        }
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit', 'expected a positive integer');
        return withGatehouse(cmd, async (gh) => {
          const list = await gh.approvals.list({
            ...(opts.status ? { status: opts.status as ApprovalStatus } : {}),
            ...(opts.agent ? { agent: opts.agent } : {}),
            limit,
          });
          printList(
            opts,
            { approvals: list.map(approvalView) },
            {
              header: ['ID', 'STATUS', 'AGENT', 'TOOL', 'ARGUMENTS', 'EXPIRES'],
              rows: list.map((r) => [
                r.id,
                r.status,
                r.agent,
                r.tool ?? r.action.kind,
                shortArgs(r),
                when(r.expiresAt),
              ]),
              empty: 'no approval requests',
            },
          );
          return 0;
        });
      }),
    );

  approvals
    .command('show <id>')
    .description('show one request: agent, tool, exact arguments, binding hash, reasons, dry-run result')
    .option('--json', 'print the request as JSON')
    .action(
      action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const r = await gh.approvals.get(id);
          if (opts.json) printJson(approvalView(r));
          else process.stdout.write(show(r));
          return 0;
        }),
      ),
    );

  for (const verb of ['approve', 'deny'] as const) {
    approvals
      .command(`${verb} <id>`)
      .description(
        verb === 'approve'
          ? 'approve a pending request: valid once, for exactly its arguments, until it expires'
          : 'deny a pending request: the action is denied until the denial expires',
      )
      .option('--reason <text>', 'why (recorded with your identity in the audit log)')
      .option('--as <name>', 'approver name (default: the operating-system user)')
      .option('--json', 'print the updated request as JSON')
      .action(
        action(async (id: string, opts: { reason?: string; as?: string; json?: boolean }, cmd: Command) => {
          const approver = operatorName(opts.as);
          return withGatehouse(cmd, async (gh) => {
            const r =
              verb === 'approve'
                ? await gh.approvals.approve(id, approver, opts.reason)
                : await gh.approvals.deny(id, approver, opts.reason);
            if (opts.json) printJson(approvalView(r));
            else
              process.stdout.write(
                `${r.id} ${r.status} by ${approver}; valid until ${new Date(r.expiresAt).toISOString()}\n`,
              );
            return 0;
          });
        }),
      );
  }

  approvals
    .command('wait <id>')
    .description('wait until a request is approved, denied or expires; exit 0 approved, 3 otherwise')
    .option('--timeout <duration>', 'give up after this long (e.g. 5m)', '15m')
    .option('--json', 'print the request as JSON')
    .action(
      action(async (id: string, opts: { timeout: string; json?: boolean }, cmd: Command) => {
        const t = DurationSchema.safeParse(opts.timeout);
        if (!t.success) throw new InputError('--timeout', 'expected a duration such as 30s or 5m');
        return withGatehouse(cmd, async (gh) => {
          const r = await gh.approvals.wait(id, { timeoutMs: t.data });
          if (opts.json) printJson(approvalView(r));
          else process.stdout.write(`${r.id} ${r.status}\n`);
          return r.status === 'approved' ? 0 : 3;
        });
      }),
    );
}
