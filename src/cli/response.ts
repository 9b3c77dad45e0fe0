import type { Command } from 'commander';
import { action, printJson, withGatehouse } from './common.js';
import { printList, when } from './output.js';

export function registerResponse(program: Command): void {
  const response = program.command('response').description('incident response: quarantine and restore agents');
  response
    .command('quarantine <agent>')
    .description('stop an agent everywhere: deny its actions, revoke its tokens, kill its sandboxes')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .option('--json')
    .action(
      action(async (agent: string, opts: { reason: string; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const q = await gh.responder.quarantine(agent, opts.reason, 'operator:cli');
          if (opts.json) printJson(q);
          else process.stdout.write(`agent ${agent} quarantined\n`);
          return 0;
        }),
      ),
    );
  response
    .command('restore <agent>')
    .description('lift a quarantine')
    .action(
      action(async (agent: string, _opts: unknown, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          await gh.responder.restore(agent, 'operator:cli');
          process.stdout.write(`agent ${agent} restored\n`);
          return 0;
        }),
      ),
    );
  response
    .command('list')
    .description('quarantined agents')
    .option('--json')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const list = await gh.responder.list();
          printList(
            opts,
            { quarantined: list },
            {
              header: ['AGENT', 'SINCE', 'BY', 'REASON'],
              rows: list.map((q) => [q.agent, when(q.since), q.by, q.reason]),
              empty: 'no agent is quarantined',
            },
          );
          return 0;
        }),
      ),
    );
  program
    .command('monitor')
    .description('per-agent behavioural baselines (mean and spread per observation window)')
    .option('--agent <id>')
    .option('--json')
    .action(
      action(async (opts: { agent?: string; json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const rows = (await gh.monitor.baselineSnapshot()).filter((r) => !opts.agent || r.agent === opts.agent);
          if (opts.json) printJson({ baselines: rows });
          else {
            for (const r of rows) {
              process.stdout.write(
                `${r.agent}\t${r.metric}\tn=${r.n}\tmean=${r.mean.toFixed(2)}\tsd=${r.stddev.toFixed(2)}\n`,
              );
            }
          }
          return 0;
        }),
      ),
    );
}
