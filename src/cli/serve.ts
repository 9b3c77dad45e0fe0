import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { action, globalOptions } from './common.js';
import { initialise } from './init.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP gateway (initialises gatehouse.yaml and the data dir on first run)')
    .option('--host <host>', 'address to listen on (default: server.host from the config, 127.0.0.1)')
    .option('--port <port>', 'port (default: server.port from the config, 7878)')
    .action(
      action(async (opts: { host?: string; port?: string }, cmd: Command) => {
        const g = globalOptions(cmd);
        if (!existsSync(resolve(g.config))) {
          const r = await initialise(g.config, g.data);
          process.stderr.write(`first run: wrote ${r.config} and created ${r.data}\n`);
        }
        const port = opts.port === undefined ? undefined : Number(opts.port);
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
          throw new InputError('--port', `expected a port number 0-65535, got "${opts.port}"`);
        }
        // Loaded here so that other commands do not pay for the HTTP stack.
        const { Gatehouse } = await import('../gatehouse.js');
        const { buildServer } = await import('../server/app.js');
        const gh = await Gatehouse.open({ config: g.config, data: g.data });
        try {
          await gh.sandbox.ensureReady();
        } catch (err) {
          // Not fatal for the gateway: tools that need the sandbox are denied (sandbox.unavailable) until it is fixed.
          process.stderr.write(
            `gatehouse: WARNING: sandbox unavailable, sandboxed tools will be denied: ${(err as Error).message}\n`,
          );
        }
        const app = await buildServer(gh);
        const host = opts.host ?? gh.config.server.host;
        const address = await app.listen({ host, port: port ?? gh.config.server.port });
        process.stderr.write(`gatehouse listening on ${address} (policy epoch ${gh.policyEpoch})\n`);
        await new Promise<void>((done) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void app
              .close()
              .then(() => gh.close())
              .finally(done);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        return 0;
      }),
    );
}
