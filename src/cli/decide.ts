import type { Command } from 'commander';
import { parseAction } from '../gatehouse.js';
import { action, exitCodeFor, parseJson, printJson, readStdin, runJsonl, withGatehouse } from './common.js';

export function registerDecide(program: Command): void {
  program
    .command('decide')
    .description('read an Action (JSON) on stdin and print the Decision; exit 0 allow, 3 deny, 4 review')
    .option('--json', 'print the Decision as one JSON object (the default)')
    .option('--jsonl', 'batch: one Action per line in, one Decision per line out')
    .action(
      action(async (opts: { jsonl?: boolean }, cmd: Command) =>
        withGatehouse(cmd, async (gh) => {
          if (opts.jsonl) {
            await runJsonl(async (obj) => ({ ...(await gh.decide(parseAction(obj))) }));
            return 0;
          }
          const decision = await gh.decide(parseAction(parseJson(await readStdin(), 'stdin')));
          printJson(decision);
          return exitCodeFor(decision.effect);
        }),
      ),
    );
}
