import type { Reason } from '../core/decision.js';
import type { PathRule } from './paths.js';
import { analyzeCommand } from './shell/analyze.js';
import { builtinFindings } from './shell/builtins.js';
import { type CommandAnalysis, reason, show } from './shell/command.js';
import { type CommandPattern, patternMatches, stageMatches } from './shell/patterns.js';
import { writeFindings } from './shell/writes.js';

/**
 * Shell command rules. Commands are parsed with mvdan/sh (the `mvdan-sh` GopherJS build, a real POSIX/bash
 * parser), never matched as substrings: every simple command in pipelines, lists, subshells, functions, `$(…)`,
 * `<(…)`, here-documents and `sh -c '…'` strings is found and checked, after quotes and escapes are resolved
 * and wrapper programs (`env`, `command`, `xargs`, `timeout`, …) are looked through. Unparseable input is denied.
 */
export { type CommandPattern, compileCommandPattern } from './shell/patterns.js';

export interface CommandVerdict {
  ok: boolean;
  reasons: Reason[];
}

const analysisCache = new Map<string, CommandAnalysis>();
const CACHE_ENTRIES = 512;
const CACHE_MAX_LENGTH = 4096;

/** Parsing dominates the cost of a check and agents repeat commands: keep recent analyses (pure functions of the text). */
function cachedAnalysis(src: string): CommandAnalysis {
  const hit = analysisCache.get(src);
  if (hit) return hit;
  const a = analyzeCommand(src);
  if (src.length <= CACHE_MAX_LENGTH) {
    if (analysisCache.size >= CACHE_ENTRIES) analysisCache.delete(analysisCache.keys().next().value!);
    analysisCache.set(src, a);
  }
  return a;
}

/** Checks a command against the built-in rules and a rule's allow/deny patterns. */
export function checkCommand(
  src: string,
  opts: {
    builtin: boolean;
    allow?: readonly CommandPattern[];
    deny?: readonly CommandPattern[];
    arg: string;
    /** The path rules every file the command writes to must pass (as a path argument would). */
    paths?: PathRule;
  },
): CommandVerdict {
  const a = cachedAnalysis(src);
  if (!a.ok) {
    return {
      ok: false,
      reasons: [reason('unparseable', `${opts.arg} does not parse as a shell command: ${a.error}`, src)],
    };
  }
  const reasons: Reason[] = opts.builtin ? builtinFindings(a) : [];
  if (opts.paths) reasons.push(...writeFindings(a, opts.paths, opts.arg));
  for (const p of opts.deny ?? []) {
    if (patternMatches(p, a, true))
      reasons.push(reason('denied', `${opts.arg} matches the denied pattern "${p.source}"`, src, p.source));
  }
  if (opts.allow && opts.allow.length > 0) {
    for (const c of a.commands) {
      const allowed = opts.allow.some((p) => p.stages.length === 1 && stageMatches(p.stages[0]!, c, false));
      if (!allowed) reasons.push(reason('not_allowed', `${show(c)} is not in the allowed commands`, show(c)));
    }
  }
  return { ok: reasons.length === 0, reasons };
}
