import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { CREDENTIAL_NAME } from '../credentials/backend.js';
import { action, EXIT, printJson, readStdin, stdinIsTTY, withGatehouse } from './common.js';
import { printList } from './output.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerSecrets(program: Command): void {
  const secrets = program
    .command('secrets')
    .description('the credential vault: agents use {{secret:NAME}} handles, never values');
  secrets
    .command('put <name>')
    .description('store a credential; the value is read from stdin (never from the command line)')
    .option('--agent <glob>', 'agent that may use it (repeatable; * for any)', collect, [])
    .option('--tool <glob>', 'tool it may be resolved for (repeatable; * for any)', collect, [])
    .option('--json', 'print the stored credential info')
    .action(
      action(async (name: string, opts: { agent: string[]; tool: string[]; json?: boolean }, cmd: Command) => {
        if (!CREDENTIAL_NAME.test(name)) throw new InputError('name', 'use letters, digits and _ . - (at most 128)');
        if (opts.agent.length === 0) throw new InputError('--agent', 'name at least one agent (or * for any)');
        if (opts.tool.length === 0) throw new InputError('--tool', 'name at least one tool (or * for any)');
        if (stdinIsTTY())
          throw new InputError('stdin', 'pipe the value in: printf %s "$TOKEN" | gatehouse secrets put NAME …');
        // One trailing newline is how shells end piped text; it is not part of the value.
        const value = (await readStdin()).replace(/\r?\n$/, '');
        if (value.length === 0) throw new InputError('stdin', 'the value is empty');
        return withGatehouse(cmd, async (gh) => {
          const info = await gh.vault.put(name, value, { agents: opts.agent, tools: opts.tool });
          await gh.credentials.refreshKnown();
          await gh.audit.append(
            {
              type: 'credentials.stored',
              actor: 'host',
              data: { credential: name, agents: info.agents, tools: info.tools },
            },
            { durable: true },
          );
          if (opts.json) printJson(info);
          else
            process.stdout.write(
              `stored ${name} for agents ${info.agents.join(', ')} and tools ${info.tools.join(', ')}\n`,
            );
          return EXIT.ok;
        });
      }),
    );
  secrets
    .command('list')
    .description('list credentials (names, backends and scopes; never values)')
    .option('--json', 'print one JSON object {credentials: [...]}')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const list = await gh.credentials.list();
          printList(
            opts,
            { credentials: list },
            {
              header: ['NAME', 'BACKEND', 'AGENTS', 'TOOLS'],
              rows: list.map((c) => [c.name, c.backend, c.agents.join(',') || '-', c.tools.join(',') || '-']),
              empty: 'no credentials',
            },
          );
          return EXIT.ok;
        }),
      ),
    );
  secrets
    .command('rm <name>')
    .description('delete a credential from the vault')
    .option('--json', 'print {removed}')
    .action(
      action(async (name: string, opts: { json?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          const removed = await gh.vault.remove(name);
          if (!removed) throw new InputError('name', `no credential named ${name} in the vault`);
          await gh.credentials.refreshKnown();
          await gh.audit.append(
            { type: 'credentials.removed', actor: 'host', data: { credential: name } },
            { durable: true },
          );
          if (opts.json) printJson({ removed: name });
          else process.stdout.write(`removed ${name}\n`);
          return EXIT.ok;
        }),
      ),
    );
}
