#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerAgents } from './agents.js';
import { registerApprovals } from './approvals.js';
import { registerAudit } from './audit.js';
import { EXIT } from './common.js';
import { registerDecide } from './decide.js';
import { registerExec } from './exec.js';
import { registerGrants } from './grants.js';
import { registerInit } from './init.js';
import { registerMcp } from './mcp.js';
import { registerOperators } from './operators.js';
import { registerPolicy } from './policy.js';
import { registerRedact } from './redact.js';
import { registerResponse } from './response.js';
import { registerScan } from './scan.js';
import { registerSecrets } from './secrets.js';
import { registerServe } from './serve.js';
import { registerToken } from './token.js';

const program = new Command('gatehouse')
  .description('Gatehouse: authenticate, screen, authorize, gate, sandbox, filter and audit what AI agents do')
  .option('--config <file>', 'configuration file', 'gatehouse.yaml')
  .option('--data <dir>', 'data directory (store, keys, audit log)', '.gatehouse')
  .option('--debug', 'print stack traces with errors')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .showHelpAfterError('(run gatehouse --help for usage)');

registerInit(program);
registerServe(program);
registerDecide(program);
registerPolicy(program);
registerApprovals(program);
registerGrants(program);
registerAudit(program);
registerAgents(program);
registerToken(program);
registerOperators(program);
registerRedact(program);
registerScan(program);
registerSecrets(program);
registerResponse(program);
registerExec(program);
registerMcp(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
    process.exitCode = EXIT.runtime;
  }
}
