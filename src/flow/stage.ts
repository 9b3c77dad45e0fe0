import type { FlowConfig } from '../config/sections/flow.js';
import type { ToolConfig } from '../config/sections/tools.js';
import type { Reason, Verdict } from '../core/decision.js';
import { COMMIT_OK, type Outcome, type PendingEffect } from '../core/effects.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import type { SessionState, TrustLabel } from '../core/session.js';
import { findUrls } from '../core/urls.js';
import { bindings, type FlowValue, normalize, valuesInText, valuesOfArgument, wordsOf } from './extract.js';
import { imitates } from './lookalike.js';
import {
  FLOW,
  type FlowState,
  flowCodec,
  flowState,
  key,
  type Observation,
  observe,
  type Provenance,
  RANK,
} from './state.js';

export interface FlowStageOptions {
  tools: Record<string, ToolConfig>;
  config: FlowConfig;
}

const STAGE = 'flow';
const ANY: readonly Outcome[] = ['allow', 'review', 'deny'];
type Action3 = 'flag' | 'review' | 'deny';

/**
 * The information-flow stage (docs/flow.md). It records where destination-like values first appeared (the owner's
 * request, trusted data, untrusted content) and which tool results brought private data into the session; on a
 * tool call it checks the destinations the tool declares against that record, and applies the Rule of Two to
 * external sinks. It never blocks content: inputs and tool results are observed and labelled, not judged.
 * Suggested place: after assess, before the gate.
 */
export function createFlowStage(opts: FlowStageOptions): Stage {
  const { config, tools } = opts;
  return {
    name: STAGE,
    kinds: ['input', 'tool_result', 'tool_call'],
    sessionCodecs: [flowCodec(config.max_values)],
    run(ctx: StageContext): Verdict {
      if (!config.enabled) return allow([]);
      switch (ctx.action.kind) {
        case 'input':
          return judgeInput(ctx);
        case 'tool_result':
          return judgeResult(ctx);
        default:
          return judgeCall(ctx);
      }
    },
  };

  function judgeInput(ctx: StageContext): Verdict {
    const a = ctx.original;
    const text = a.content ?? '';
    const owner = a.source === 'owner' || a.source === 'user';
    const o: Observation = owner
      ? { values: valuesInText(text), provenance: 'owner', cause: 'the owner request', ownerWords: wordsOf(text) }
      : { values: valuesInText(text), provenance: 'untrusted', cause: `${a.source} input` };
    return allow([], [record(ctx.session, o, owner ? ['allow'] : ANY)]);
  }

  function judgeResult(ctx: StageContext): Verdict {
    // The original content: a later stage's spotlighting or redaction must not hide where a value came from.
    const a = ctx.original;
    const tool = a.tool ?? '';
    const cfg = tools[tool];
    const text = a.content ?? '';
    const cause = `tool result of ${tool}`;
    const effects: PendingEffect[] = [];
    const reasons: Reason[] = [];
    const trusted = cfg !== undefined && cfg.output === 'trusted';
    if (trusted) {
      effects.push(record(ctx.session, { values: valuesInText(text), provenance: 'trusted', cause }, ['allow']));
    } else {
      effects.push(record(ctx.session, { values: valuesInText(text), provenance: 'untrusted', cause }, ANY));
      const fields = trustedFields(text, cfg?.trusted_fields ?? []);
      if (fields.length > 0) {
        const joined = fields.join('\n');
        effects.push(
          record(
            ctx.session,
            {
              values: valuesInText(joined),
              provenance: 'trusted',
              cause: `${cause} (trusted fields)`,
              names: bindings(joined),
            },
            ['allow'],
          ),
        );
      }
    }
    if (cfg && (cfg.reads === 'private' || cfg.reads === 'secret')) {
      const labels: TrustLabel[] = cfg.reads === 'secret' ? ['private_data', 'secret_seen'] : ['private_data'];
      for (const l of labels) {
        reasons.push({ code: `flow.label.${l}`, message: `the session holds ${cfg.reads} data from the ${cause}` });
        effects.push(labelEffect(ctx.session, l, cause));
      }
      effects.push(record(ctx.session, { values: [], provenance: 'untrusted', cause, privateCause: cause }, ['allow']));
    }
    return allow(reasons, effects);
  }

  function judgeCall(ctx: StageContext): Verdict {
    const a = ctx.original;
    const tool = a.tool ?? '';
    const cfg = tools[tool];
    // Unknown tools are the catalogue's to deny.
    if (!cfg) return allow([]);
    const state = flowState(ctx.session);
    const per = config.tools[tool] ?? {};
    // The flow's own record of untrusted content, not the screen's label: a trusted tool's output is not untrusted.
    const untrustedSeen = state.untrustedCauses.length > 0 || ctx.session.labels.has('untrusted_instructions');
    const args = a.args ?? {};
    const reasons: Reason[] = [];
    const actions: Action3[] = [];
    let destinations = 0;
    let allOwner = true;
    for (const [arg, kind] of Object.entries(cfg.destinations)) {
      if (!(arg in args)) continue;
      // A reading tool following a link exactly as it was seen carries no data out (a push or post would).
      if (kind === 'url' && cfg.reads !== 'none' && cfg.payload.length === 0 && isVerbatimLink(state, args[arg])) {
        destinations++;
        continue;
      }
      for (const v of valuesOfArgument(kind, args[arg])) {
        destinations++;
        const p = provenanceOf(state, v);
        if (p?.provenance !== 'owner') allOwner = false;
        if (!p || p.provenance === 'untrusted') {
          if (!p && !untrustedSeen) continue;
          actions.push(per.untrusted_destination ?? config.untrusted_destination);
          reasons.push({
            code: p ? 'flow.destination.untrusted' : 'flow.destination.unseen',
            message: p
              ? `${arg} of ${tool} is a destination that appeared only in untrusted content (the ${p.cause})`
              : `${arg} of ${tool} is a destination that appeared neither in the owner's request nor in trusted data, after untrusted content was read`,
            ruleId: `flow.destination.${arg}`,
            evidence: `${v.kind} ${clip(v.value)}`,
          });
        }
        // A name the owner used vouches for an address, but not for one that imitates another known address.
        if ((p?.provenance !== 'owner' || p.viaName) && (v.kind === 'email' || v.kind === 'host')) {
          const like = imitates(v.value, knownGood(state, v.kind));
          if (like) {
            actions.push(config.lookalike);
            reasons.push({
              code: 'flow.destination.lookalike',
              message: `${arg} of ${tool} looks like ${clip(like)}, a destination from the owner or trusted data, but is not it`,
              ruleId: `flow.destination.${arg}`,
              evidence: `${v.kind} ${clip(v.value)}`,
            });
          }
        }
      }
    }
    if (cfg.sink !== 'none') {
      for (const arg of cfg.payload) {
        if (!(arg in args)) continue;
        for (const s of stringsOf(args[arg])) {
          for (const u of findUrls(s)) {
            const p = provenanceOf(state, { kind: 'host', value: u.host.toLowerCase() });
            if (p && p.provenance !== 'untrusted') continue;
            if (!p && !untrustedSeen) continue;
            actions.push(per.payload_links ?? config.payload_links);
            reasons.push({
              code: 'flow.payload_link.untrusted',
              message: `${arg} of ${tool} carries a link to ${clip(u.host)}, which ${p ? `appeared only in untrusted content (the ${p.cause})` : 'appeared neither in the owner request nor in trusted data'}`,
              ruleId: `flow.payload.${arg}`,
              evidence: `host ${clip(u.host)}`,
            });
          }
        }
      }
    }
    if (cfg.sink === 'external') {
      const labels = ctx.session.labels;
      const holdsPrivate = labels.has('private_data') || labels.has('secret_seen');
      if (holdsPrivate && untrustedSeen && !(destinations > 0 && allOwner)) {
        actions.push(per.trifecta ?? config.trifecta);
        const source = state.privateCauses[0] ?? ctx.session.labelCauses.get('private_data') ?? 'private data';
        const untrusted = state.untrustedCauses[0] ?? 'untrusted instructions';
        reasons.push({
          code: 'flow.trifecta',
          message: `the session read private data (${source}) and untrusted content (${untrusted}), and ${tool} sends outside to a destination the owner did not name`,
          ruleId: 'flow.trifecta',
        });
      }
    }
    if (actions.length === 0) return allow([]);
    const deny = actions.includes('deny');
    const review = actions.includes('review');
    return {
      stage: STAGE,
      effect: deny ? 'deny' : review ? 'review' : 'allow',
      risk: deny ? 9 : review ? 7 : 4,
      reasons,
      ...(review && !deny ? { tier: 'high' as const } : {}),
      ...(!deny && !review ? { flag: true } : {}),
    };
  }

  function record(session: SessionState, o: Observation, on: readonly Outcome[]): PendingEffect {
    return {
      kind: 'session.provenance',
      on,
      summary: `remember ${o.values.length} destination value${o.values.length === 1 ? '' : 's'} as ${o.provenance} (${o.cause})`,
      commit: () => {
        // From the state at commit, not at judging: a concurrent decision may have added to it.
        session.setState(FLOW, observe(flowState(session), o, config.max_values));
        return COMMIT_OK;
      },
    };
  }
}

function labelEffect(session: SessionState, label: TrustLabel, cause: string): PendingEffect {
  return {
    kind: 'session.label',
    on: ['allow'],
    summary: `label the session ${label} (from the ${cause})`,
    commit: () => {
      session.label(label, cause);
      return COMMIT_OK;
    },
  };
}

function allow(reasons: Reason[], effects: PendingEffect[] = []): Verdict {
  return { stage: STAGE, effect: 'allow', risk: 0, reasons, ...(effects.length > 0 ? { effects } : {}) };
}

/** A value's provenance: its own, a parent directory's or parent domain's, or the owner's naming of it. */
function provenanceOf(
  s: FlowState,
  v: FlowValue,
): { provenance: Provenance; cause: string; viaName?: boolean } | undefined {
  let best = s.values.get(key(v));
  const consider = (k: string) => {
    const p = s.values.get(k);
    if (p && (!best || RANK[p.provenance] > RANK[best.provenance])) best = p;
  };
  if (v.kind === 'path') {
    const parts = v.value.split('/');
    for (let i = parts.length - 1; i > 0; i--) consider(`path:${parts.slice(0, i).join('/')}`);
  } else if (v.kind === 'host') {
    const labels = v.value.split('.');
    for (let i = 1; i < labels.length - 1; i++) consider(`host:${labels.slice(i).join('.')}`);
  }
  if (best?.provenance === 'owner') return best;
  if (v.kind === 'handle' && s.ownerWords.has(v.value)) return { provenance: 'owner', cause: 'the owner request' };
  if (v.kind === 'email' && best?.provenance === 'trusted') {
    const names = s.names.get(v.value) ?? [];
    if (names.some((n) => s.ownerWords.has(n)))
      return { provenance: 'owner', cause: 'a name in the owner request', viaName: true };
  }
  return best;
}

function isVerbatimLink(s: FlowState, value: unknown): boolean {
  const links = stringsOf(value);
  return links.length > 0 && links.every((l) => s.values.has(`url:${normalize('url', l)}`));
}

function knownGood(s: FlowState, kind: 'email' | 'host'): string[] {
  const out: string[] = [];
  for (const [k, seen] of s.values) {
    if (seen.provenance === 'untrusted' || !k.startsWith(`${kind}:`)) continue;
    out.push(k.slice(kind.length + 1));
    if (out.length >= 256) break;
  }
  return out;
}

/**
 * Values of the declared trusted fields of a result: JSON keys at any depth, or `Field: value` header lines
 * before the first blank line (a mail's headers, not its body).
 */
export function trustedFields(text: string, fields: readonly string[]): string[] {
  if (fields.length === 0) return [];
  const want = new Set(fields.map((f) => f.toLowerCase()));
  const out: string[] = [];
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      collect(JSON.parse(t) as unknown, want, out, 0);
      return out;
    } catch {
      // Not JSON: headers below.
    }
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') break;
    const c = line.indexOf(':');
    if (c > 0 && want.has(line.slice(0, c).trim().toLowerCase())) out.push(line.slice(c + 1).trim());
  }
  return out;
}

function collect(v: unknown, want: Set<string>, out: string[], depth: number): void {
  if (depth > 12 || out.length > 1000) return;
  if (Array.isArray(v)) for (const x of v) collect(x, want, out, depth + 1);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (want.has(k.toLowerCase())) out.push(...stringsOf(x));
      else collect(x, want, out, depth + 1);
    }
  }
}

function stringsOf(v: unknown, depth = 0): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number') return [String(v)];
  if (depth > 8) return [];
  if (Array.isArray(v)) return v.flatMap((x) => stringsOf(x, depth + 1));
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap((x) => stringsOf(x, depth + 1));
  return [];
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
