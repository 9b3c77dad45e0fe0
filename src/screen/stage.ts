import type { ScreeningConfig } from '../config/sections/screening.js';
import type { ToolConfig } from '../config/sections/tools.js';
import type { Action } from '../core/action.js';
import type { Effect, Reason, Tier, Verdict } from '../core/decision.js';
import { COMMIT_OK, type Outcome, type PendingEffect } from '../core/effects.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import type { SessionState, TrustLabel } from '../core/session.js';
import { Screener, type ScreenOptions } from './screener.js';
import { accumulated, commitTurn, reappearing, type ScreenTurn, screenCodec, screenState } from './session.js';
import { spotlight } from './spotlight.js';
import type { Finding, ScreenResult } from './types.js';

export interface ScreenStageDeps {
  config: ScreeningConfig;
  /** The tool catalogue: results of tools with `output: untrusted` are always screened. */
  tools?: Record<string, ToolConfig>;
  screener?: Screener;
}

const MAX_REASONS = 8;
const CARRY_HEAD = 4000;

function reasonsFrom(findings: readonly Finding[]): Reason[] {
  return findings.slice(0, MAX_REASONS).map((f) => ({
    code: `screen.${f.rule}`,
    // A finding spoken about rather than aimed at the model says so, and why ("not addressed: …").
    message: f.addressed === false ? `${f.message} (not addressed: ${f.addressedReason})` : f.message,
    ruleId: f.rule,
    evidence: `${f.category} (${f.view} view): ${f.evidence}`,
  }));
}

function argsText(action: Action): string {
  const parts: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || parts.length > 1000) return;
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  walk(action.args, 0);
  return parts.join('\n').slice(0, 256 * 1024);
}

/** Screening options for one source: its thresholds override the global ones. */
function thresholdsFor(
  config: ScreeningConfig,
  source: string,
): { blockAt: number; reviewAt: number; screen: boolean } {
  const own = config.sources[source] ?? (source.startsWith('tool:') ? config.sources['tool:*'] : undefined);
  return {
    blockAt: own?.block_at ?? config.block_at,
    reviewAt: own?.review_at ?? config.review_at,
    screen: own?.screen ?? true,
  };
}

/**
 * The screen stage: judges `input` and `tool_result` content for prompt injection, accumulates risk
 * across a session's turns, labels sessions that ingested untrusted instructions, optionally
 * spotlights untrusted tool output, and checks `tool_call` arguments for instructions planted earlier.
 * @example
 * const stage = createScreenStage({ config: config.screening, tools: config.tools });
 */
export function createScreenStage(deps: ScreenStageDeps): Stage {
  const config = deps.config;
  const tools = deps.tools ?? {};
  const screener = deps.screener ?? new Screener();
  const baseOpts: ScreenOptions = {
    maxChars: config.max_input,
    rot13MaxChars: config.rot13_max_chars,
    decode: { depth: config.decode_depth, maxSegments: 64, maxSegmentChars: 64 * 1024 },
  };

  const allow = (facts: Verdict['facts'] = {}): Verdict => ({
    stage: 'screen',
    effect: 'allow',
    risk: 0,
    reasons: [],
    facts,
  });

  function judgeToolCall(ctx: StageContext): Verdict {
    const session = ctx.session;
    if (!session.labels.has('untrusted_instructions')) return allow();
    const text = argsText(ctx.action);
    if (!text) return allow();
    const state = screenState(session);
    const seen = reappearing(state, text);
    const r = screener.screen(text, { ...baseOpts, blockAt: config.block_at, reviewAt: config.review_at });
    if (!seen && r.score < config.review_at) return allow({ screenScore: r.score });
    const reasons: Reason[] = [
      {
        code: 'screen.session.persistent_compromise',
        message: seen
          ? 'the tool call repeats content of instructions injected earlier in this session'
          : 'the tool call carries instructions after the session ingested untrusted instructions',
        ruleId: 'session.persistent_compromise',
        evidence: seen ? seen.replace(/^(url|email|w):/, '$1 ').slice(0, 80) : r.findings[0]?.rule,
      },
      ...reasonsFrom(r.findings),
    ];
    return {
      stage: 'screen',
      effect: 'review',
      risk: Math.max(r.score, config.block_at),
      tier: 'high',
      reasons,
      facts: { screenScore: r.score },
      effects: [labelEffect(session, 'flagged', ANY, 'the tool call carries instructions from untrusted content')],
    };
  }

  function judgeContent(ctx: StageContext): Verdict {
    const action = ctx.action;
    const session = ctx.session;
    const text = action.content ?? '';
    const toolCfg = action.tool ? tools[action.tool] : undefined;
    const untrustedTool = action.kind === 'tool_result' && toolCfg?.output === 'untrusted';
    const source = action.kind === 'tool_result' && action.tool ? `tool:${action.tool}` : action.source;
    const th = thresholdsFor(config, source);
    if (!untrustedTool) {
      if (!th.screen) return allow();
      if (action.kind === 'tool_result' && config.tool_results.screen === 'untrusted') return allow();
    }
    const opts = {
      ...baseOpts,
      blockAt: th.blockAt,
      reviewAt: th.reviewAt,
      toolResult: action.kind === 'tool_result',
    };
    const result: ScreenResult = screener.screen(text, opts);
    const findings: Finding[] = [...result.findings];
    let score = result.score;
    const state = screenState(session);
    const now = ctx.clock.now();

    // An attack split across messages: the tail of earlier turns joined to this one (with a space, so a
    // phrase can continue across the join) scores higher than either alone.
    const carry = config.session.enabled ? config.session.carry_chars : 0;
    if (action.kind === 'input' && carry > 0 && state.tail) {
      const joined = screener.screen(`${state.tail} ${text.slice(0, CARRY_HEAD)}`, opts);
      if (joined.score > Math.max(score, state.tailScore)) {
        findings.unshift({
          rule: 'session.split_attack',
          category: 'session',
          score: joined.score,
          message: 'an attack split across messages: this turn completes instructions begun earlier',
          evidence: joined.findings[0] ? `${joined.findings[0].rule}: ${joined.findings[0].evidence}` : '',
          view: 'canonical',
        });
        score = joined.score;
      }
    }

    let risk = score;
    let tier: Tier | undefined;
    const turn: ScreenTurn = {};
    if (config.session.enabled) {
      turn.score = { value: score, now, halfLifeMs: config.session.half_life };
      const acc = accumulated(state, score, now, config.session.half_life);
      if (score > 0 && acc >= config.session.escalate_at && risk < th.blockAt) {
        findings.unshift({
          rule: 'session.escalation',
          category: 'session',
          score: th.blockAt,
          message: 'injection risk accumulated over recent turns',
          evidence: `accumulated ${acc.toFixed(1)} >= ${config.session.escalate_at}`,
          view: 'canonical',
        });
        risk = th.blockAt;
        tier = 'high';
      }
    }
    if (action.kind === 'input' && carry > 0) {
      const tail = `${state.tail} ${text.slice(-carry)}`.slice(-carry);
      turn.tail = { text: tail, score: screener.screen(tail, opts).score };
    }

    // What the session learns from this content. Risk and instructions count even when the content is blocked
    // (a session that was targeted stays suspect); "untrusted input ingested" only when the agent gets the content.
    const effects: PendingEffect[] = [];
    const instructions = risk >= th.reviewAt && action.kind === 'tool_result';
    if (instructions) turn.remember = { text, at: now };
    if (turn.score || turn.tail || turn.remember !== undefined) {
      effects.push({
        kind: 'session.screen',
        on: ANY,
        summary: `screening state: turn score ${score.toFixed(1)}${instructions ? ', instructions remembered' : ''}`,
        commit: () => {
          commitTurn(session, turn);
          return COMMIT_OK;
        },
      });
    }
    if (action.kind === 'tool_result' || action.source !== 'owner') {
      const cause =
        action.kind === 'tool_result' ? `tool result of ${action.tool ?? 'a tool'}` : `${action.source} input`;
      effects.push(labelEffect(session, 'untrusted_input', ['allow'], cause));
    }
    if (instructions) {
      // The authorization stage's risk tiers read this label for the rest of the session.
      effects.push(
        labelEffect(
          session,
          'untrusted_instructions',
          ANY,
          `instructions in the tool result of ${action.tool ?? 'a tool'}`,
        ),
      );
    }

    let effect: Effect = 'allow';
    if (risk >= th.blockAt)
      effect = action.kind === 'tool_result' && config.tool_results.on_block === 'review' ? 'review' : 'deny';
    else if (risk >= th.reviewAt) effect = 'review';
    if (result.truncated && effect === 'allow') effect = 'review';

    const reasons = reasonsFrom(findings);
    if (result.truncated) {
      reasons.push({
        code: 'screen.truncated',
        message: `content longer than ${config.max_input} characters was screened head and tail only`,
      });
    }
    const verdict: Verdict = {
      stage: 'screen',
      effect,
      risk: Math.min(10, risk),
      reasons,
      facts: { screenScore: risk },
      effects,
    };
    if (tier) verdict.tier = tier;
    if (effect === 'allow' && findings.length > 0 && score > 0) verdict.flag = true;
    const mode = config.spotlighting.mode;
    if (
      action.kind === 'tool_result' &&
      effect !== 'deny' &&
      mode !== 'off' &&
      (untrustedTool || config.spotlighting.applies_to === 'all')
    ) {
      verdict.patch = { content: spotlight(text, mode, source) };
    }
    return verdict;
  }

  /**
   * A tool definition on offer: scored like content, but judged by the catalogue (poisoned → deny or flag per
   * `mcp.on_poisoned_description`), so this verdict only reports the score and the finding categories. Nothing is
   * remembered in the session: a definition is not a turn of the conversation.
   */
  function judgeDefinition(ctx: StageContext): Verdict {
    const text = ctx.action.content ?? '';
    const th = thresholdsFor(config, ctx.action.source);
    if (!th.screen || text === '') return allow();
    const r = screener.screen(text, { ...baseOpts, blockAt: th.blockAt, reviewAt: th.reviewAt });
    if (r.score < th.reviewAt) return allow({ screenScore: r.score });
    const categories = [...new Set(r.findings.map((f) => f.category))];
    const level = r.score >= th.blockAt ? 'block' : 'review';
    return {
      stage: 'screen',
      effect: 'allow',
      risk: Math.min(10, r.score),
      reasons: reasonsFrom(r.findings),
      facts: { screenScore: r.score, screenAlert: { level, categories } },
    };
  }

  return {
    name: 'screen',
    kinds: ['input', 'tool_result', 'tool_call', 'tool_listing'],
    sessionCodecs: [screenCodec(config.session.half_life)],
    run(ctx: StageContext): Verdict {
      if (!config.enabled) return allow();
      if (ctx.action.kind === 'tool_call') return judgeToolCall(ctx);
      if (ctx.action.kind === 'tool_listing') return judgeDefinition(ctx);
      return judgeContent(ctx);
    },
  };
}

const ANY: readonly Outcome[] = ['allow', 'review', 'deny'];

function labelEffect(session: SessionState, label: TrustLabel, on: readonly Outcome[], cause: string): PendingEffect {
  return {
    kind: 'session.label',
    on,
    summary: `label the session ${label} (${cause})`,
    commit: () => {
      session.label(label, cause);
      return COMMIT_OK;
    },
  };
}
