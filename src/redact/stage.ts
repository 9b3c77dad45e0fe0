import type { RedactionConfig } from '../config/sections/redaction.js';
import type { ToolConfig } from '../config/sections/tools.js';
import type { Clock } from '../core/clock.js';
import type { Reason, Verdict } from '../core/decision.js';
import { COMMIT_OK, type PendingEffect } from '../core/effects.js';
import { type KnownMatcher, KnownSecrets, unionKnown } from '../core/known-secrets.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import { findUrls } from '../core/urls.js';
import { hostAllowed } from './exfil.js';
import { type Finding, type PiiKind, Redactor, type RedactorOptions } from './redact.js';

/** The part of the credential broker the stage needs: scope checks of handles, never values. */
export interface HandleChecker {
  check(
    value: unknown,
    ctx: { agent: string; tool: string },
  ): Promise<{ name: string; status: 'ok' | 'unknown' | 'out_of_scope' }[]>;
  readonly known: KnownSecrets;
}

export interface FilterStageDeps {
  config: RedactionConfig;
  tools?: Record<string, ToolConfig>;
  broker?: HandleChecker;
  clock: Clock;
  /** Key for `hmac` redaction mode (see loadRedactionKey). */
  hmacKey?: Uint8Array;
  /** Extra known secrets; the broker's credentials and the configured environment values are always included. */
  known?: KnownMatcher;
  env?: NodeJS.ProcessEnv;
  /** A redactor to share (e.g. the one the CLI and HTTP surfaces use); built from `config` when absent. */
  redactor?: Redactor;
}

const HANDLE = /\{\{\s*secret:[A-Za-z0-9_.-]{1,128}\s*\}\}/g;
const CREDENTIAL_ENV_NAME = /(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;

/** Builds the redactor a configuration describes (shared by the stage, CLI and HTTP route). */
export function redactorFromConfig(
  config: RedactionConfig,
  extra: Partial<RedactorOptions> = {},
  env: NodeJS.ProcessEnv = process.env,
): Redactor {
  const fromEnv = new KnownSecrets();
  for (const name of config.known_secrets_env) {
    const v = env[name];
    if (v) fromEnv.set(`env:${name}`, v);
  }
  if (config.known_secrets_env_auto) {
    for (const [name, v] of Object.entries(env))
      if (v && v.length >= 8 && CREDENTIAL_ENV_NAME.test(name)) fromEnv.set(`env:${name}`, v);
  }
  const known = fromEnv.size === 0 ? extra.known : extra.known ? unionKnown(fromEnv, extra.known) : fromEnv;
  const destinations: RedactorOptions['destinations'] = {};
  for (const [dest, d] of Object.entries(config.destinations)) {
    if (d)
      destinations[dest] = {
        ...(d.pii ? { pii: d.pii as PiiKind[] } : {}),
        ...(d.generic ? { generic: d.generic } : {}),
        ...(d.mode ? { mode: d.mode } : {}),
      };
  }
  return new Redactor({
    secrets: config.secrets,
    pii: config.pii as PiiKind[],
    allowDomains: config.allow_domains,
    mode: config.mode,
    destinations,
    phoneRegion: config.phone_region as RedactorOptions['phoneRegion'],
    decode: { depth: config.decode_depth },
    ...extra,
    ...(known ? { known } : {}),
  });
}

/** In outputs and tool results nothing is stopped: what would block a tool call is replaced instead. */
function reasonsFor(findings: readonly Finding[], where: string, replaceBlocks = false): Reason[] {
  const byKind = new Map<string, { f: Finding; n: number }>();
  for (const f of findings) {
    const k = `${f.category}:${f.kind}:${f.action}`;
    const e = byKind.get(k);
    if (e) e.n++;
    else byKind.set(k, { f, n: 1 });
  }
  return [...byKind.values()].map(({ f, n }) => {
    const verb = f.action === 'warn' ? 'warning' : f.action === 'block' && !replaceBlocks ? 'blocked' : 'redacted';
    const code =
      f.category === 'known_secret'
        ? `credentials.echo.${verb}`
        : f.category === 'exfil'
          ? `redact.exfil.${f.kind.replace(/^exfil_/, '')}`
          : `redact.${f.generic ? 'generic' : f.category}.${verb}`;
    return {
      code,
      message: `${n} ${f.kind} finding${n > 1 ? 's' : ''} ${verb} in ${where}`,
      ...(f.ruleId ? { ruleId: f.ruleId } : {}),
      evidence: `${f.kind} at ${f.start}-${f.end}${f.encoding ? ` (${f.encoding})` : ''}`,
    };
  });
}

/**
 * The filter stage: outputs, tool arguments and tool results pass through the redactor.
 * - output: secrets, PII and exfiltration carriers are replaced (patch); the generic tier only warns.
 * - tool_call: exfiltration, known secrets and raw credentials sent to external sinks deny; PII counts only
 *   where it leaves (external sink, foreign host) in an argument that is not the tool's declared destination or
 *   payload; arguments are never changed silently: what would need redacting makes the verdict `review`
 *   (`redact.args_changed`), so an allowed call carries exactly the arguments sent and approved. Credential
 *   handles must exist and be in scope; the per-agent transfer budget to hosts off the allowlist is enforced,
 *   spent by an effect when the call is allowed.
 * - tool_result: everything found, echoes of vault credentials included, is redacted before the agent sees it.
 */
export function createFilterStage(deps: FilterStageDeps): Stage {
  const known =
    deps.known && deps.broker ? unionKnown(deps.known, deps.broker.known) : (deps.known ?? deps.broker?.known);
  const redactor =
    deps.redactor ??
    redactorFromConfig(
      deps.config,
      { ...(known ? { known } : {}), ...(deps.hmacKey ? { hmacKey: deps.hmacKey } : {}) },
      deps.env,
    );
  // Per agent, in memory: judged against, and changed only by the `transfer.spend` effect of an allowed call.
  const transfers = new Map<string, { at: number; bytes: number }[]>();

  function budgetUsed(agent: string, now: number, window: number): { at: number; bytes: number }[] {
    return (transfers.get(agent) ?? []).filter((e) => now - e.at < window);
  }

  function budgetExceeded(agent: string, bytes: number): boolean {
    const budget = deps.config.transfer_budget;
    if (!budget || bytes === 0) return false;
    const used = budgetUsed(agent, deps.clock.now(), budget.window).reduce((a, e) => a + e.bytes, 0);
    return used + bytes > budget.bytes;
  }

  function spend(agent: string, bytes: number): PendingEffect {
    const entry = { at: 0, bytes };
    return {
      kind: 'transfer.spend',
      on: ['allow'],
      summary: `spend ${bytes} bytes of ${agent}'s transfer budget to hosts off the allowlist`,
      commit: () => {
        const budget = deps.config.transfer_budget;
        if (!budget) return COMMIT_OK;
        // Check and set: a concurrent call may have spent what this one was judged against.
        if (budgetExceeded(agent, bytes)) return { ok: false, reason: budgetReason(agent, bytes) };
        entry.at = deps.clock.now();
        transfers.set(agent, [...budgetUsed(agent, entry.at, budget.window), entry]);
        return COMMIT_OK;
      },
      undo: () => {
        transfers.set(
          agent,
          (transfers.get(agent) ?? []).filter((e) => e !== entry),
        );
      },
    };
  }

  function filterOutput(ctx: StageContext, destination: 'chat' | 'tool_result'): Verdict {
    const content = ctx.action.content ?? '';
    const r = redactor.redact(content, { destination });
    if (r.findings.length === 0) return { stage: 'filter', effect: 'allow', risk: 0, reasons: [] };
    const effects: PendingEffect[] = [];
    if (destination === 'tool_result' && r.findings.some((f) => f.category !== 'pii' && f.action !== 'warn')) {
      const session = ctx.session;
      const cause = `tool result of ${ctx.action.tool ?? 'a tool'}`;
      effects.push({
        kind: 'session.label',
        on: ['allow'],
        summary: `label the session secret_seen (from the ${cause})`,
        commit: () => {
          session.label('secret_seen', cause);
          return COMMIT_OK;
        },
      });
    }
    const changed = r.redacted !== content;
    return {
      stage: 'filter',
      effect: 'allow',
      risk: r.findings.some((f) => f.category === 'exfil') ? 6 : changed ? 3 : 1,
      reasons: reasonsFor(r.findings, destination === 'chat' ? 'the output' : 'the tool result', true),
      flag: true,
      ...(changed ? { patch: { content: r.redacted } } : {}),
      ...(effects.length > 0 ? { effects } : {}),
    };
  }

  async function filterToolCall(ctx: StageContext): Promise<Verdict> {
    const a = ctx.action;
    const tool = a.tool ?? '';
    const args = a.args ?? {};
    const reasons: Reason[] = [];
    let deny = false;
    if (deps.broker) {
      for (const h of await deps.broker.check(args, { agent: a.agent, tool })) {
        if (h.status === 'ok') continue;
        deny = true;
        reasons.push({
          code: h.status === 'unknown' ? 'credentials.handle.unknown' : 'credentials.handle.out_of_scope',
          message:
            h.status === 'unknown'
              ? `no credential named ${h.name}`
              : `credential ${h.name} is not granted to ${a.agent} for ${tool}`,
          ruleId: `credential:${h.name}`,
        });
      }
    }
    const cfg = deps.tools?.[tool];
    const external = cfg?.sink === 'external';
    // The addressee and the content the tool delivers to it are what the call is for: never PII-redacted.
    const entitled = new Set([...Object.keys(cfg?.destinations ?? {}), ...(cfg?.payload ?? [])]);
    const changedAt: string[] = [];
    let outboundBytes = 0;
    walk(args, (text, path) => {
      // Handles are references, not values: never scan or redact them.
      const scanned = text.replace(HANDLE, (h) => ' '.repeat(h.length));
      const urls = findUrls(scanned);
      const hostsOff = urls.some((u) => !hostAllowed(u.host, deps.config.allow_domains));
      for (const u of urls) if (!hostAllowed(u.host, deps.config.allow_domains)) outboundBytes += u.end - u.dataStart;
      // PII matters only where it leaves for a destination not entitled to it: an external sink or a foreign host.
      const piiLeaves = (external || hostsOff) && !entitled.has(topKey(path));
      const findings = redactor
        .scan(scanned, { destination: 'tool_args' })
        .filter((f) => f.category !== 'pii' || piiLeaves);
      if (findings.length === 0) return text;
      for (const f of findings) {
        // A raw credential sent to the outside world is a leak; a known one means the agent bypassed the broker.
        const leak = f.action === 'block' || (f.category === 'secret' && !f.generic && (external || hostsOff));
        if (leak) deny = true;
      }
      reasons.push(...reasonsFor(findings, `argument ${path || '(root)'}`));
      if (redactor.apply(text, findings, redactor.policy('tool_args').mode) !== text) changedAt.push(path || '(root)');
      return text;
    });
    if (external) outboundBytes += JSON.stringify(args).length;
    const effects: PendingEffect[] = [];
    if (budgetExceeded(a.agent, outboundBytes)) {
      deny = true;
      reasons.push(budgetReason(a.agent, outboundBytes));
    } else if (deps.config.transfer_budget && outboundBytes > 0) effects.push(spend(a.agent, outboundBytes));
    const withEffects = effects.length > 0 ? { effects } : {};
    if (reasons.length === 0) return { stage: 'filter', effect: 'allow', risk: 0, reasons: [], ...withEffects };
    if (deny) return { stage: 'filter', effect: 'deny', risk: 9, reasons };
    if (changedAt.length > 0) {
      // Never a silent allow with other arguments than the agent sent (and a human may approve): a human decides.
      reasons.push({
        code: 'redact.args_changed',
        message: `the filter would have to change ${changedAt.join(', ')} of ${tool || 'the call'}; a human must approve the arguments as sent, or the agent sends them without the data`,
      });
      return { stage: 'filter', effect: 'review', risk: 5, tier: 'high', reasons, ...withEffects };
    }
    return { stage: 'filter', effect: 'allow', risk: 3, reasons, flag: true, ...withEffects };
  }

  return {
    name: 'filter',
    kinds: ['output', 'tool_call', 'tool_result'],
    run(ctx: StageContext): Verdict | Promise<Verdict> {
      switch (ctx.action.kind) {
        case 'output':
          return filterOutput(ctx, 'chat');
        case 'tool_result':
          return filterOutput(ctx, 'tool_result');
        default:
          return filterToolCall(ctx);
      }
    },
  };
}

function budgetReason(agent: string, bytes: number): Reason {
  return {
    code: 'redact.exfil.budget_exceeded',
    message: `agent ${agent} exceeded its data-transfer budget to hosts off the allowlist`,
    evidence: `${bytes} bytes requested`,
  };
}

/** The top-level argument a walked path is under (`to[0]` → `to`, `msg.body` → `msg`). */
function topKey(path: string): string {
  const m = /^[^.[]*/.exec(path);
  return m ? m[0] : path;
}

function walk(value: unknown, fn: (s: string, path: string) => string, path = ''): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => walk(v, fn, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, fn, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}
