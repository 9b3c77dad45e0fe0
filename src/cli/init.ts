import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXAMPLE_CONFIG } from '../config/example.js';
import { action, globalOptions, printJson } from './common.js';

export interface InitResult {
  config: string;
  configCreated: boolean;
  data: string;
}

/** Writes the example gatehouse.yaml (unless one exists) and creates the data dir with its keys. Idempotent. */
export async function initialise(configPath: string, dataDir: string): Promise<InitResult> {
  const config = resolve(configPath);
  const configCreated = !existsSync(config);
  if (configCreated) writeFileSync(config, EXAMPLE_CONFIG, { mode: 0o644, flag: 'wx' });
  mkdirSync(resolve(dataDir), { recursive: true, mode: 0o700 });
  const { Gatehouse } = await import('../gatehouse.js');
  const gh = await Gatehouse.open({ config, data: dataDir });
  await gh.close();
  return { config, configCreated, data: resolve(dataDir) };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented gatehouse.yaml and create the data dir, master key, CA, signing and audit keys')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const g = globalOptions(cmd);
        const r = await initialise(g.config, g.data);
        if (opts.json) printJson(r);
        else {
          process.stdout.write(
            `${r.configCreated ? 'wrote' : 'kept existing'} ${r.config}\ndata directory ${r.data} is ready (master key, store, keys, audit log)\n`,
          );
        }
        return 0;
      }),
    );
}
