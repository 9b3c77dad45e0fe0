import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { action, globalOptions, printJson } from './common.js';

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('policy work: validate, explain, test, replay');
  policy
    .command('validate')
    .description('validate gatehouse.yaml; exit 2 with file, line and key path on the first problem')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const file = resolve(globalOptions(cmd).config);
        const config = loadConfigFile(file);
        const summary = { valid: true, file, tools: Object.keys(config.tools).length, roles: Object.keys(config.roles).length };
        if (opts.json) printJson(summary);
        else process.stdout.write(`${file} is valid: ${summary.tools} tools, ${summary.roles} roles\n`);
        return 0;
      }),
    );
}
