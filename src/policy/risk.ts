import type { RiskConfig } from '../config/sections/policy.js';
import type { ToolConfig } from '../config/sections/tools.js';
import { maxTier, type Reason, type Tier, tierRank, type Verdict } from '../core/decision.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import type { TrustLabel } from '../core/session.js';

/**
 * Risk tiers. An action's tier starts at its tool's tier and is raised by the screening score of its content,
 * the monitor's anomaly score and the session's trust labels (untrusted instructions seen, private data read).
 * Low allows, medium allows and flags, high asks a human (the fold turns a high tier into `review`).
 */
export interface RiskInput {
  toolTier: Tier;
  sink: ToolConfig['sink'];
  screenScore?: number;
  anomalyScore?: number;
  labels: ReadonlySet<TrustLabel> | readonly TrustLabel[];
  /**
   * The flow stage judges private data meeting an external sink (with provenance, the Rule of Two); this rule
   * then keeps only the secret case, so a session that read the inbox can still reply to Bob without a human.
   */
  flowRules?: boolean;
}

export function assessRisk(input: RiskInput, cfg: RiskConfig): { tier: Tier; reasons: Reason[] } {
  let tier = input.toolTier;
  const reasons: Reason[] = [];
  const raise = (to: Tier, code: string, message: string) => {
    if (tierRank(to) > tierRank(tier)) {
      tier = maxTier(tier, to);
      reasons.push({ code, message: `${message}: tier raised to ${to}` });
    }
  };
  const s = input.screenScore ?? 0;
  if (s >= cfg.screen_high_at) raise('high', 'risk.screen', `screening score ${s} ≥ ${cfg.screen_high_at}`);
  else if (s >= cfg.screen_medium_at) raise('medium', 'risk.screen', `screening score ${s} ≥ ${cfg.screen_medium_at}`);
  const a = input.anomalyScore ?? 0;
  if (a >= cfg.anomaly_high_at) raise('high', 'risk.anomaly', `anomaly score ${a} ≥ ${cfg.anomaly_high_at}`);
  const labels = new Set(input.labels);
  for (const [label, to] of Object.entries(cfg.labels) as Array<[TrustLabel, Tier]>) {
    if (labels.has(label)) raise(to, `risk.label.${label}`, `the session carries ${label}`);
  }
  const privateRead = labels.has('private_data') && !input.flowRules;
  if (input.sink === 'external' && (privateRead || labels.has('secret_seen'))) {
    raise(cfg.exfiltration, 'risk.exfiltration', 'private data was read in this session and this tool sends data out');
  }
  return { tier, reasons };
}

/** The assess stage: raises the tier set by the catalogue. */
export function createAssessStage(deps: {
  tools: Record<string, ToolConfig>;
  risk: RiskConfig;
  flowRules?: boolean;
}): Stage {
  return {
    name: 'assess',
    kinds: ['tool_call'],
    run(ctx: StageContext): Verdict {
      const tool = deps.tools[ctx.action.tool ?? ''];
      const anomaly = ctx.facts.anomalyScore;
      const { tier, reasons } = assessRisk(
        {
          toolTier: ctx.facts.toolTier ?? tool?.risk ?? 'high',
          sink: tool?.sink ?? 'external',
          ...(ctx.facts.screenScore !== undefined ? { screenScore: ctx.facts.screenScore } : {}),
          ...(anomaly !== undefined ? { anomalyScore: anomaly } : {}),
          labels: ctx.session.labels,
          ...(deps.flowRules ? { flowRules: true } : {}),
        },
        deps.risk,
      );
      return {
        stage: 'assess',
        effect: 'allow',
        risk: tier === 'high' ? 7 : tier === 'medium' ? 4 : 0,
        tier,
        ...(tier === 'medium' ? { flag: true } : {}),
        reasons,
      };
    },
  };
}
