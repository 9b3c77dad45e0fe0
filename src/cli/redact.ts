import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { RedactionSchema } from '../config/sections/redaction.js';
import { InputError } from '../core/errors.js';
import type { Finding, Redactor } from '../redact/redact.js';
import { PII_KINDS } from '../redact/rules/pii.js';
import { redactorFromConfig } from '../redact/stage.js';
import { action, EXIT, globalOptions, printJson, readStdin, runJsonl, withGatehouse } from './common.js';

const DESTINATIONS = ['chat', 'tool_args', 'tool_result', 'http', 'log'];

/** Findings as the CLI contract prints them: kind and offsets, never the value. */
export function publicFindings(findings: readonly Finding[]): { kind: string; start: number; end: number }[] {
  return findings.map((f) => ({ kind: f.kind, start: f.start, end: f.end }));
}

export function registerRedact(program: Command): void {
  program
    .command('redact')
    .description('filter secrets, PII and exfiltration from stdin text; plain mode prints the redacted text')
    .option('--json', 'print {redacted, findings:[{kind, start, end}]}')
    .option('--jsonl', 'batch: {id, text} per line in, {id, redacted, findings} per line out')
    .option('--destination <name>', `filtering profile: ${DESTINATIONS.join(', ')}`, 'tool_args')
    .action(
      action(async (opts: { json?: boolean; jsonl?: boolean; destination: string }, cmd: Command) => {
        if (!DESTINATIONS.includes(opts.destination)) {
          throw new InputError('--destination', `expected one of ${DESTINATIONS.join(', ')}`);
        }
        const run = async (redactor: Redactor): Promise<number> => {
          const destination = opts.destination;
          if (opts.jsonl) {
            await runJsonl(async (obj, lineNo) => {
              if (typeof obj.text !== 'string') throw new InputError(`line ${lineNo}.text`, 'expected a string');
              const r = redactor.redact(obj.text, { destination });
              return { redacted: r.redacted, findings: publicFindings(r.findings) };
            });
            return EXIT.ok;
          }
          const text = await readStdin();
          const r = redactor.redact(text, { destination });
          if (opts.json) printJson({ redacted: r.redacted, findings: publicFindings(r.findings) });
          else process.stdout.write(r.redacted);
          return EXIT.ok;
        };
        // With a configuration, its redaction settings and the vault's credentials apply; without one, the
        // most protective defaults (every PII kind) do.
        if (existsSync(globalOptions(cmd).config)) return withGatehouse(cmd, async (gh) => run(gh.redactor));
        return run(redactorFromConfig(RedactionSchema.parse({ pii: [...PII_KINDS] })));
      }),
    );
}
