import type { Command } from 'commander';
import { DurationSchema } from '../config/units.js';
import { InputError } from '../core/errors.js';
import { type Grant, grantView } from '../policy/grants.js';
import { operatorName } from './approvals.js';
import { action, printJson, withGatehouse } from './common.js';
import { printList, when } from './output.js';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** `--ttl 1h` or `--expires 2026-12-31T00:00:00Z` → epoch ms. */
function expiry(opts: { ttl?: string; expires?: string }, now: number): number | undefined {
  if (opts.ttl && opts.expires) throw new InputError('--ttl', 'give --ttl or --expires, not both');
  if (opts.ttl) {
    const d = DurationSchema.safeParse(opts.ttl);
    if (!d.success || d.data <= 0) throw new InputError('--ttl', 'expected a duration such as 30m or 8h');
    return now + d.data;
  }
  if (opts.expires) {
    const t = Date.parse(opts.expires);
    if (Number.isNaN(t)) throw new InputError('--expires', 'expected an ISO 8601 date-time');
    return t;
  }
  return undefined;
}

function depth(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new InputError('--max-depth', 'expected an integer 0-16');
  return n;
}

function line(g: Grant): string {
  const exp = g.expiresAt === null ? 'no expiry' : `expires ${new Date(g.expiresAt).toISOString()}`;
  const state = g.revokedAt !== null ? 'revoked' : 'active';
  return `${g.id}  ${state}  ${g.agent}  ${g.tools.join(',')}${g.resources ? ` on ${g.resources.join(',')}` : ''}  ${exp}${g.parentId ? `  (from ${g.parentId})` : ''}`;
}

export function registerGrants(program: Command): void {
  const grants = program
    .command('grants')
    .description('runtime grants: temporary capabilities, delegation, revocation');

  grants
    .command('add <agent>')
    .alias('grant')
    .description('grant an agent tools (optionally on resources, under a CEL condition, until an expiry)')
    .requiredOption('--tool <pattern>', 'tool name or pattern (repeatable)', collect)
    .option('--resource <glob>', 'resource glob such as workspace/docs/** (repeatable)', collect)
    .option('--when <cel>', 'CEL condition, type-checked now')
    .option('--ttl <duration>', 'valid for this long (e.g. 2h)')
    .option('--expires <iso>', 'valid until this time')
    .option('--delegable', 'the agent may delegate a narrowed copy')
    .option('--max-depth <n>', 'delegation hops allowed below this grant (default 1)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--as <name>', 'operator name (default: the operating-system user)')
    .option('--json', 'print the grant as JSON')
    .action(
      action(
        async (
          agent: string,
          opts: {
            tool: string[];
            resource?: string[];
            when?: string;
            ttl?: string;
            expires?: string;
            delegable?: boolean;
            maxDepth?: string;
            reason?: string;
            as?: string;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          const by = operatorName(opts.as);
          return withGatehouse(cmd, async (gh) => {
            const expiresAt = expiry(opts, gh.clock.now());
            const maxDepth = depth(opts.maxDepth);
            const g = await gh.policy.grants.grant({
              agent,
              tools: opts.tool,
              ...(opts.resource ? { resources: opts.resource } : {}),
              ...(opts.when ? { when: opts.when } : {}),
              ...(expiresAt !== undefined ? { expiresAt } : {}),
              ...(opts.delegable ? { delegable: true } : {}),
              ...(maxDepth !== undefined ? { maxDepth } : {}),
              ...(opts.reason ? { reason: opts.reason } : {}),
              by,
            });
            const epoch = await gh.currentPolicyEpoch();
            if (opts.json) printJson({ ...grantView(g), policyEpoch: epoch });
            else process.stdout.write(`${line(g)}\npolicy epoch ${epoch}\n`);
            return 0;
          });
        },
      ),
    );

  grants
    .command('delegate <grant>')
    .description(
      'delegate a narrowed copy of a delegable grant (g-… or rule:<rule id> with --from) to another agent (a subset only)',
    )
    .requiredOption('--to <agent>', 'the agent receiving the delegation')
    .option('--tool <pattern>', 'narrow to these tools (repeatable)', collect)
    .option('--resource <glob>', 'narrow to these resources (repeatable)', collect)
    .option('--when <cel>', 'an extra CEL condition (the parent condition always applies too)')
    .option('--ttl <duration>', 'valid for this long (never beyond the parent)')
    .option('--expires <iso>', 'valid until this time (never beyond the parent)')
    .option('--delegable', 'the receiver may delegate further (within max depth)')
    .option('--max-depth <n>', 'delegation hops allowed below (never more than the parent)')
    .option('--from <agent>', 'act as this holder of the parent grant (checked)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--as <name>', 'operator name (default: the operating-system user)')
    .option('--json', 'print the new grant as JSON')
    .action(
      action(
        async (
          parent: string,
          opts: {
            to: string;
            tool?: string[];
            resource?: string[];
            when?: string;
            ttl?: string;
            expires?: string;
            delegable?: boolean;
            maxDepth?: string;
            from?: string;
            reason?: string;
            as?: string;
            json?: boolean;
          },
          cmd: Command,
        ) => {
          const by = operatorName(opts.as);
          return withGatehouse(cmd, async (gh) => {
            const expiresAt = expiry(opts, gh.clock.now());
            const maxDepth = depth(opts.maxDepth);
            const g = await gh.policy.delegate({
              parent,
              to: opts.to,
              ...(opts.tool ? { tools: opts.tool } : {}),
              ...(opts.resource ? { resources: opts.resource } : {}),
              ...(opts.when ? { when: opts.when } : {}),
              ...(expiresAt !== undefined ? { expiresAt } : {}),
              ...(opts.delegable ? { delegable: true } : {}),
              ...(maxDepth !== undefined ? { maxDepth } : {}),
              ...(opts.from ? { byAgent: opts.from } : {}),
              ...(opts.reason ? { reason: opts.reason } : {}),
              by,
            });
            const epoch = await gh.currentPolicyEpoch();
            if (opts.json) printJson({ ...grantView(g), policyEpoch: epoch });
            else process.stdout.write(`${line(g)}\npolicy epoch ${epoch}\n`);
            return 0;
          });
        },
      ),
    );

  grants
    .command('revoke <grant>')
    .description('revoke a grant and every grant delegated from it')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--as <name>', 'operator name (default: the operating-system user)')
    .option('--json', 'print {revoked: [...], policyEpoch} as JSON')
    .action(
      action(async (id: string, opts: { reason?: string; as?: string; json?: boolean }, cmd: Command) => {
        const by = operatorName(opts.as);
        return withGatehouse(cmd, async (gh) => {
          const ids = await gh.policy.grants.revoke(id, by, opts.reason);
          const epoch = await gh.currentPolicyEpoch();
          if (opts.json) printJson({ revoked: ids, policyEpoch: epoch });
          else process.stdout.write(`revoked ${ids.join(', ')}\npolicy epoch ${epoch}\n`);
          return 0;
        });
      }),
    );

  grants
    .command('list')
    .description('list runtime grants (active ones unless --all)')
    .option('--agent <agent>', 'only grants of this agent')
    .option('--all', 'include revoked and expired grants')
    .option('--json', 'print {grants: [...], policyEpoch} as JSON')
    .action(
      action(async (opts: { agent?: string; all?: boolean; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const list = await gh.policy.grants.list({
            ...(opts.agent ? { agent: opts.agent } : {}),
            ...(opts.all ? { all: true } : {}),
          });
          printList(
            opts,
            { grants: list.map(grantView), policyEpoch: await gh.currentPolicyEpoch() },
            {
              header: ['ID', 'STATE', 'AGENT', 'TOOLS', 'RESOURCES', 'EXPIRES', 'FROM'],
              rows: list.map((g) => [
                g.id,
                g.revokedAt !== null ? 'revoked' : 'active',
                g.agent,
                g.tools.join(','),
                g.resources?.join(',') ?? '-',
                g.expiresAt === null ? 'never' : when(g.expiresAt),
                g.parentId ?? '-',
              ]),
              empty: 'no runtime grants',
            },
          );
          return 0;
        }),
      ),
    );
}
