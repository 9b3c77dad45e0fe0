import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { type ScreeningConfig, ScreeningSchema } from '../config/sections/screening.js';
import { InputError } from '../core/errors.js';
import { Screener, type ScreenOptions } from '../screen/screener.js';
import type { ScreenResult } from '../screen/types.js';
import { action, EXIT, globalOptions, printJson, readStdin, runJsonl } from './common.js';

function optionsFrom(config: ScreeningConfig): ScreenOptions {
  return {
    blockAt: config.block_at,
    reviewAt: config.review_at,
    maxChars: config.max_input,
    rot13MaxChars: config.rot13_max_chars,
    decode: { depth: config.decode_depth, maxSegments: 64, maxSegmentChars: 64 * 1024 },
  };
}

/** The `scan --json` object of the CLI contract (DESIGN.md section 4), plus `view` and `message` per finding. */
export function scanJson(r: ScreenResult): Record<string, unknown> {
  return {
    score: r.score,
    action: r.action,
    findings: r.findings.map((f) => ({
      rule: f.rule,
      category: f.category,
      score: f.score,
      evidence: f.evidence,
      view: f.view,
      message: f.message,
    })),
  };
}

function exitFor(r: ScreenResult): number {
  return r.action === 'block' ? EXIT.denied : r.action === 'review' ? EXIT.review : EXIT.ok;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('screen stdin text for prompt injection (exit 3 when blocked, 4 when it needs review)')
    .option('--json', 'print {score, action, findings:[{rule, category, score, evidence}]}')
    .option('--jsonl', 'batch: {id, text} per line in, {id, score, action, rules} per line out')
    .action(
      action(async (opts: { json?: boolean; jsonl?: boolean }, cmd: Command) => {
        if (opts.json && opts.jsonl) throw new InputError('--jsonl', 'cannot be combined with --json');
        const file = globalOptions(cmd).config;
        // With a configuration its thresholds apply; without one, the defaults.
        const config = existsSync(file) ? loadConfigFile(file).screening : ScreeningSchema.parse({});
        const screenOpts = optionsFrom(config);
        const screener = new Screener();
        if (opts.jsonl) {
          await runJsonl(async (obj, lineNo) => {
            if (typeof obj.text !== 'string') throw new InputError(`line ${lineNo}.text`, 'expected a string');
            const r = screener.screen(obj.text, screenOpts);
            return { score: r.score, action: r.action, rules: [...new Set(r.findings.map((f) => f.rule))] };
          });
          return EXIT.ok;
        }
        const r = screener.screen(await readStdin(), screenOpts);
        if (opts.json) printJson(scanJson(r));
        else {
          const lines = [`${r.action} ${r.score}`];
          for (const f of r.findings) lines.push(`  ${f.score.toFixed(1)}  ${f.rule}  [${f.view}]  ${f.evidence}`);
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return exitFor(r);
      }),
    );
}
