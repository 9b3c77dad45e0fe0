import type { Command } from 'commander';
import type { Gatehouse } from '../gatehouse.js';
import { OperatorDirectory } from '../server/operators.js';
import { action, globalOptions, printJson } from './common.js';
import { printList, when } from './output.js';

async function withDirectory<T>(cmd: Command, fn: (d: OperatorDirectory, gh: Gatehouse) => Promise<T> | T): Promise<T> {
  const g = globalOptions(cmd);
  const { Gatehouse } = await import('../gatehouse.js');
  const gh = await Gatehouse.open({ config: g.config, data: g.data });
  try {
    return await fn(await OperatorDirectory.open(gh.store, () => gh.clock.now()), gh);
  } finally {
    await gh.close();
  }
}

export function registerOperators(program: Command): void {
  const ops = program.command('operators').description('humans who administer Gatehouse over HTTP and the dashboard');
  ops
    .command('add <name>')
    .description('create an operator and print its bearer token once (it is stored only hashed)')
    .option('--json', 'print {name, token} as JSON')
    .action(
      action(async (name: string, opts: { json?: boolean }, cmd: Command) =>
        withDirectory(cmd, async (d, gh) => {
          const { operator, token } = await d.add(name);
          await gh.audit.append({ type: 'operator.added', actor: 'host', data: { operator: operator.name } });
          if (opts.json) printJson({ name: operator.name, token });
          else process.stdout.write(`operator ${operator.name} created; its token (shown only now):\n${token}\n`);
          return 0;
        }),
      ),
    );
  ops
    .command('list')
    .option('--json', 'print {operators:[…]}')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withDirectory(cmd, async (d) => {
          const operators = await d.list();
          printList(
            opts,
            { operators },
            {
              header: ['OPERATOR', 'CREATED', 'STATE'],
              rows: operators.map((o) => [o.name, when(o.createdAt), o.revoked ? 'revoked' : 'active']),
              empty: 'no operators',
            },
          );
          return 0;
        }),
      ),
    );
  ops.command('revoke <name>').action(
    action(async (name: string, _opts: unknown, cmd: Command) =>
      withDirectory(cmd, async (d, gh) => {
        await d.revoke(name);
        await gh.audit.append({ type: 'operator.revoked', actor: 'host', data: { operator: name } });
        process.stdout.write(`operator ${name} revoked\n`);
        return 0;
      }),
    ),
  );
}
