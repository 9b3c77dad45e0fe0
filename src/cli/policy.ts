import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { queryLog } from '../audit/query.js';
import { formatIssue, loadConfigFile, locateIssues } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Action, ActionInput } from '../core/action.js';
import { ManualClock } from '../core/clock.js';
import type { Effect, Reason, Tier } from '../core/decision.js';
import { ConfigError, InputError } from '../core/errors.js';
import { type Explained, parseAction } from '../gatehouse.js';
import { lintPolicy } from '../policy/lint.js';
import { assessRisk } from '../policy/risk.js';
import { type Explanation, PolicyEngine } from '../policy/stage.js';
import { SqliteStore } from '../store/sqlite.js';
import { action, EXIT, globalOptions, printJson, withGatehouse } from './common.js';

const LABELS = ['untrusted_input', 'untrusted_instructions', 'private_data', 'secret_seen', 'flagged'] as const;

/** The full answer of `policy explain`: the engine's explanation plus the risk tier and the final effect. */
export interface ExplainResult extends Explanation {
  tier: Tier;
  /** allow, deny, or review when a human must approve (high tier). */
  outcome: Effect;
  tierReasons: Reason[];
}

function workspaceOf(file: string, config: Config): string {
  return resolve(dirname(file), config.policy.workspace ?? '.');
}

/** Builds an isolated engine on an in-memory store: the file's policy only, no runtime grants, no usage. */
async function isolatedEngine(
  file: string,
  config: Config,
  now: number,
): Promise<{ engine: PolicyEngine; close: () => Promise<void> }> {
  const store = await SqliteStore.open(':memory:');
  try {
    return {
      engine: await PolicyEngine.open({
        config,
        store,
        clock: new ManualClock(now),
        workspace: workspaceOf(file, config),
        source: file,
      }),
      close: () => store.close(),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function explain(
  engine: PolicyEngine,
  config: Config,
  act: Action,
  roles: string[],
  labels: readonly string[],
  screenScore?: number,
): Promise<ExplainResult> {
  const e = await engine.evaluate(act, { agent: act.agent, roles }, labels);
  const tool = act.tool ? config.tools[act.tool] : undefined;
  const risk = tool
    ? assessRisk(
        {
          toolTier: tool.risk,
          sink: tool.sink,
          ...(screenScore !== undefined ? { screenScore } : {}),
          labels: labels as (typeof LABELS)[number][],
        },
        config.policy.risk,
      )
    : { tier: 'low' as Tier, reasons: [] };
  const outcome: Effect = e.effect === 'deny' ? 'deny' : risk.tier === 'high' ? 'review' : 'allow';
  return { ...e, tier: risk.tier, outcome, tierReasons: risk.reasons };
}

function printExplanation(x: ExplainResult): void {
  const out = [
    `${x.outcome.toUpperCase()}  ${x.agent} → ${x.tool ?? '(no tool)'}${x.resource ? ` on ${x.resource}` : ''}   (policy epoch ${x.epoch}, tier ${x.tier})`,
    `  roles       ${x.roles.length > 0 ? x.roles.join(', ') : '(none)'}`,
    `  arguments   ${x.args.ok ? 'ok' : 'violations:'}`,
    ...x.args.reasons.map((r) => `      ${r.code}: ${r.message}`),
  ];
  if (x.policy) {
    out.push(`  permits     ${x.policy.permits.length > 0 ? x.policy.permits.join(', ') : '(none satisfied)'}`);
    out.push(`  forbids     ${x.policy.forbids.length > 0 ? x.policy.forbids.join(', ') : '(none satisfied)'}`);
    const forbids = new Set(x.policy.forbids);
    for (const e of x.policy.errors) {
      const effect = forbids.has(e.ruleId) ? 'a forbid that errors denies' : 'counts as not satisfied';
      out.push(`  error       ${e.ruleId}: ${e.message} (${effect})`);
    }
  }
  if (x.limits && !x.limits.ok) for (const r of x.limits.reasons) out.push(`  limit       ${r.code}: ${r.message}`);
  for (const r of x.tierReasons) out.push(`  risk        ${r.code}: ${r.message}`);
  out.push('  reasons');
  for (const r of x.reasons) out.push(`      ${r.code}: ${r.message}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function printListing(x: Explained): void {
  const out = [
    `${x.effect.toUpperCase()}  ${x.action.agent} ← listing of ${x.action.tool ?? '(no tool)'}   (policy epoch ${x.policyEpoch}${x.flagged ? ', flagged' : ''})`,
  ];
  for (const v of x.verdicts)
    for (const r of v.reasons) out.push(`  ${v.stage.padEnd(12)}${v.effect.padEnd(8)}${r.code}: ${r.message}`);
  for (const e of x.effects) out.push(`  would       ${e.kind}: ${e.summary}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

const CaseSchema = z
  .object({
    name: z.string().min(1),
    action: z.record(z.string(), z.unknown()),
    roles: z.array(z.string()).optional(),
    labels: z.array(z.enum(LABELS)).default([]),
    screen_score: z.number().min(0).max(10).optional(),
    now: z.iso.datetime({ offset: true }).optional(),
    expect: z
      .object({
        effect: z.enum(['allow', 'deny', 'review']),
        reasons: z.array(z.string()).optional(),
        rules: z.array(z.string()).optional(),
      })
      .strict(),
  })
  .strict();

const TestFileSchema = z
  .object({
    now: z.iso.datetime({ offset: true }).optional(),
    cases: z.array(CaseSchema).min(1),
  })
  .strict();

interface CaseResult {
  file: string;
  name: string;
  pass: boolean;
  expected: Effect;
  got: Effect;
  problems: string[];
  reasons: string[];
}

async function runCases(file: string, config: Config, dir: string): Promise<CaseResult[]> {
  const files = statSync(dir).isDirectory()
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
        .sort()
        .map((f) => join(dir, f))
    : [dir];
  if (files.length === 0) throw new InputError('DIR', `${dir} holds no .yaml test files`);
  const results: CaseResult[] = [];
  for (const f of files) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(f, 'utf8'));
    } catch (err) {
      throw new ConfigError(f, undefined, '', `invalid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const parsed = TestFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(f, undefined, issue.path.map(String).join('.'), issue.message);
    }
    for (const [i, c] of parsed.data.cases.entries()) {
      let act: Action;
      try {
        act = parseAction(c.action);
      } catch (err) {
        throw new ConfigError(f, undefined, `cases.${i}.action`, (err as Error).message);
      }
      const now = Date.parse(c.now ?? parsed.data.now ?? new Date().toISOString());
      const { engine, close } = await isolatedEngine(file, config, now);
      try {
        const roles = c.roles ?? config.identity.agents[act.agent]?.roles ?? [];
        const x = await explain(engine, config, act, roles, c.labels, c.screen_score);
        const problems: string[] = [];
        if (x.outcome !== c.expect.effect) problems.push(`expected ${c.expect.effect}, got ${x.outcome}`);
        const codes = new Set([...x.reasons, ...x.tierReasons].map((r) => r.code));
        for (const want of c.expect.reasons ?? []) if (!codes.has(want)) problems.push(`missing reason ${want}`);
        const deciding = new Set([...(x.policy?.permits ?? []), ...(x.policy?.forbids ?? [])]);
        for (const want of c.expect.rules ?? []) if (!deciding.has(want)) problems.push(`rule ${want} did not decide`);
        results.push({
          file: f,
          name: c.name,
          pass: problems.length === 0,
          expected: c.expect.effect,
          got: x.outcome,
          problems,
          reasons: [...codes],
        });
      } finally {
        await close();
      }
    }
  }
  return results;
}

export function registerPolicy(program: Command): void {
  /** What-if commands read live data under a candidate config without making that config the live policy. */
  const WHAT_IF = { recordPolicyLoad: false };
  const policy = program.command('policy').description('policy work: validate, explain, test, replay');
  policy
    .command('validate')
    .description(
      'validate gatehouse.yaml (CEL conditions type-checked, patterns compiled); exit 2 listing every problem',
    )
    .option('--strict', 'also fail on rules that can never match (unknown tools, expired or unreachable grants)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (opts: { json?: boolean; strict?: boolean }, cmd: Command) => {
        const file = resolve(globalOptions(cmd).config);
        const config = loadConfigFile(file);
        const now = Date.now();
        const { engine, close } = await isolatedEngine(file, config, now);
        const rules = (await engine.compiled()).rules.length;
        await close();
        const problems = opts.strict ? locateIssues(readFileSync(file, 'utf8'), lintPolicy(config, now)) : [];
        const summary = {
          valid: problems.length === 0,
          file,
          tools: Object.keys(config.tools).length,
          roles: Object.keys(config.roles).length,
          rules,
          ...(opts.strict ? { problems } : {}),
        };
        if (opts.json) printJson(summary);
        else if (problems.length > 0) {
          process.stderr.write(`${problems.map((p) => formatIssue(file, p)).join('\n')}\n`);
          process.stderr.write(`${file}: ${problems.length} rule(s) can never match (--strict)\n`);
        } else
          process.stdout.write(`${file} is valid: ${summary.tools} tools, ${summary.roles} roles, ${rules} rules\n`);
        return problems.length === 0 ? EXIT.ok : EXIT.usage;
      }),
    );

  policy
    .command('explain <action-file>')
    .description('show why an action (JSON file, - for stdin) would be allowed, denied or sent for approval')
    .option(
      '--role <role>',
      'evaluate with this role (repeatable; default: the agent’s registered roles)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option(
      '--label <label>',
      `session trust label (${LABELS.join(', ')}; repeatable)`,
      (v: string, p: string[] = []) => [...p, v],
    )
    .option('--json', 'print the explanation as JSON')
    .action(
      action(async (file: string, opts: { role?: string[]; label?: string[]; json?: boolean }, cmd: Command) => {
        const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (err) {
          throw new InputError(file, `invalid JSON: ${(err as Error).message}`);
        }
        const act = parseAction(raw);
        for (const l of opts.label ?? []) {
          if (!(LABELS as readonly string[]).includes(l))
            throw new InputError('--label', `expected one of ${LABELS.join(', ')}`);
        }
        if (act.kind === 'tool_listing') {
          if (opts.role || opts.label)
            throw new InputError(opts.role ? '--role' : '--label', 'applies to tool calls, not to a tool_listing');
          // A listing is judged by the whole pipeline (screen, catalogue, visibility), with commit off.
          return withGatehouse(
            cmd,
            async (gh) => {
              const x = await gh.explain(act);
              if (opts.json) printJson({ outcome: x.effect, ...x });
              else printListing(x);
              return x.effect === 'allow' ? EXIT.ok : x.effect === 'deny' ? EXIT.denied : EXIT.review;
            },
            WHAT_IF,
          );
        }
        return withGatehouse(
          cmd,
          async (gh) => {
            const roles = opts.role ?? gh.identity.registry.get(act.agent)?.roles ?? [];
            const x = await explain(gh.policy, gh.config, act, [...roles], opts.label ?? []);
            if (opts.json) printJson(x);
            else printExplanation(x);
            return x.outcome === 'allow' ? EXIT.ok : x.outcome === 'deny' ? EXIT.denied : EXIT.review;
          },
          WHAT_IF,
        );
      }),
    );

  policy
    .command('test <dir>')
    .description(
      'run the YAML test cases in DIR (action → expected effect, reasons, deciding rules); exit 1 if any fail',
    )
    .option('--json', 'print {passed, failed, cases} as JSON')
    .action(
      action(async (dir: string, opts: { json?: boolean }, cmd: Command) => {
        const file = resolve(globalOptions(cmd).config);
        const config = loadConfigFile(file);
        const results = await runCases(file, config, resolve(dir));
        const failed = results.filter((r) => !r.pass);
        if (opts.json) printJson({ passed: results.length - failed.length, failed: failed.length, cases: results });
        else {
          for (const r of results) {
            process.stdout.write(
              `${r.pass ? 'PASS' : 'FAIL'}  ${r.name}${r.pass ? '' : `: ${r.problems.join('; ')}`}\n`,
            );
          }
          process.stdout.write(`${results.length - failed.length} passed, ${failed.length} failed\n`);
        }
        return failed.length === 0 ? EXIT.ok : EXIT.runtime;
      }),
    );

  policy
    .command('replay')
    .description(
      're-run recorded decisions under the policy of --config (not made live) and list those whose policy outcome changes',
    )
    .option('--since <iso>', 'only decisions at or after this time')
    .option('--limit <n>', 'at most this many recent decisions', '1000')
    .option('--json', 'print {replayed, changed: [...]} as JSON')
    .action(
      action(async (opts: { since?: string; limit: string; json?: boolean }, cmd: Command) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit', 'expected a positive integer');
        const since = opts.since === undefined ? undefined : Date.parse(opts.since);
        if (since !== undefined && Number.isNaN(since))
          throw new InputError('--since', 'expected an ISO 8601 date-time');
        return withGatehouse(
          cmd,
          async (gh) => {
            const events = queryLog(join(gh.dataDir, 'audit'), {
              type: 'decision',
              ...(since !== undefined ? { since } : {}),
              limit,
            });
            const changed: Array<Record<string, unknown>> = [];
            let replayed = 0;
            for (const ev of events) {
              const summary = (ev.action ?? {}) as { kind?: string; tool?: string; args?: unknown };
              if (summary.kind === 'tool_listing' && summary.args && ev.agent) {
                // Recorded whole: judged again by the whole pipeline, with approvals and pins as they stand now.
                replayed++;
                const { hash: _hash, ...recorded } = summary as Record<string, unknown>;
                const x = await gh.explain({
                  ...recorded,
                  agent: ev.agent,
                  session: ev.session ?? 'default',
                } as ActionInput);
                if (x.effect !== ev.decision) {
                  changed.push({
                    seq: ev.seq,
                    ts: ev.ts,
                    agent: ev.agent,
                    tool: summary.tool,
                    kind: 'tool_listing',
                    epoch: ev.epoch ?? null,
                    was: ev.decision,
                    now: x.effect,
                    reasons: x.reasons.map((r) => r.code),
                  });
                }
                continue;
              }
              if (summary.kind !== 'tool_call' || !summary.tool || !ev.agent) continue;
              const codes = new Set((ev.reasons ?? []).map((r) => r.code));
              const was = codes.has('policy.permit')
                ? 'permit'
                : codes.has('policy.no_permit') ||
                    codes.has('policy.forbid.matched') ||
                    codes.has('policy.forbid.condition_error')
                  ? 'deny'
                  : undefined;
              if (!was) continue;
              replayed++;
              // Arguments are not in the audit log (only their keys): replay re-runs roles, grants, forbids and
              // conditions at the recorded time, without the argument rules.
              const roles = gh.identity.registry.get(ev.agent)?.roles ?? [];
              const now = await gh.policy.authorizeRecorded({
                agent: ev.agent,
                roles: [...roles],
                tool: summary.tool,
                session: ev.session ?? 'default',
                at: Date.parse(ev.ts),
              });
              const is = now.decision === 'allow' ? 'permit' : 'deny';
              if (is !== was) {
                changed.push({
                  seq: ev.seq,
                  ts: ev.ts,
                  agent: ev.agent,
                  tool: summary.tool,
                  epoch: ev.epoch ?? null,
                  was,
                  now: is,
                  rules: [...now.permits, ...now.forbids],
                });
              }
            }
            const epoch = await gh.currentPolicyEpoch();
            if (opts.json) printJson({ replayed, policyEpoch: epoch, changed });
            else {
              for (const c of changed)
                process.stdout.write(
                  `#${c.seq} ${c.ts} ${c.agent} ${c.tool}: ${c.was} (epoch ${c.epoch}) → ${c.now} now\n`,
                );
              process.stdout.write(
                `${replayed} decisions replayed under policy epoch ${epoch}; ${changed.length} would change\n`,
              );
            }
            return EXIT.ok;
          },
          WHAT_IF,
        );
      }),
    );
}
