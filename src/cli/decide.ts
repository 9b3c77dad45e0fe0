import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { parseAction } from '../gatehouse.js';
import {
  action,
  cli,
  exitCodeFor,
  parseJson,
  printJson,
  readStdin,
  runJsonl,
  stdinIsTTY,
  withGatehouse,
} from './common.js';
import { decisionSummary, wantsHuman } from './output.js';

export function registerDecide(program: Command): void {
  program
    .command('decide')
    .description('read an Action (JSON) on stdin and print the Decision; exit 0 allow, 3 deny, 4 review')
    .option('--json', 'print the Decision as one JSON object (the default when stdout is not a terminal)')
    .option('--jsonl', 'batch: one Action per line in, one Decision per line out')
    .action(
      action(async (opts: { json?: boolean; jsonl?: boolean }, cmd: Command) => {
        if (stdinIsTTY())
          throw new InputError('stdin', `pipe an Action in: echo '{"kind":"tool_call",…}' | gatehouse decide`);
        return withGatehouse(cmd, async (gh) => {
          if (opts.jsonl) {
            await runJsonl(async (obj) => ({ ...(await gh.decide(parseAction(obj))) }));
            return 0;
          }
          const decision = await gh.decide(parseAction(parseJson(await readStdin(), 'stdin')));
          if (wantsHuman(opts)) cli().stdout(decisionSummary(decision));
          else printJson(decision);
          return exitCodeFor(decision.effect);
        });
      }),
    );
}
