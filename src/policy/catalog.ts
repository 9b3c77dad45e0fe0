import type { Config } from '../config/schema.js';
import type { Verdict } from '../core/decision.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import { judgeListing, type ListingRules } from './listing.js';

const STAGE = 'catalogue';

const DEFAULT_LISTING: ListingRules = { on_pin_violation: 'block', on_poisoned_description: 'block' };

/**
 * The tool catalogue stage: a tool that is not in the configuration is denied (default deny); a known tool
 * gets its configured risk tier: low allows, medium allows and is flagged, high asks for a human approval.
 * A `tool_listing` (a definition an MCP server offers) is judged by the listing rules (`listing.ts`): shadowing,
 * pins, poisoning.
 */
export function createCatalogStage(tools: Config['tools'], listing: ListingRules = DEFAULT_LISTING): Stage {
  const known = new Map(Object.entries(tools));
  return {
    name: STAGE,
    kinds: ['tool_call', 'tool_listing'],
    run(ctx: StageContext): Verdict {
      if (ctx.action.kind === 'tool_listing') return judgeListing(ctx, listing);
      const name = ctx.action.tool ?? '';
      const tool = known.get(name);
      if (!tool) {
        return {
          stage: STAGE,
          effect: 'deny',
          risk: 0,
          reasons: [
            {
              code: 'catalogue.tool_unknown',
              message: `tool "${name}" is not in the catalogue; unknown tools are denied`,
              evidence: name,
            },
          ],
        };
      }
      const facts = { toolTier: tool.risk, ...(tool.sandbox ? { sandboxProfile: tool.sandbox } : {}) };
      switch (tool.risk) {
        case 'low':
          return {
            stage: STAGE,
            effect: 'allow',
            risk: 0,
            tier: 'low',
            facts,
            reasons: [{ code: 'catalogue.tier.low', message: `${name} is a low-risk tool`, ruleId: `tools.${name}` }],
          };
        case 'medium':
          return {
            stage: STAGE,
            effect: 'allow',
            risk: 0,
            tier: 'medium',
            flag: true,
            facts,
            reasons: [
              {
                code: 'catalogue.tier.medium',
                message: `${name} is a medium-risk tool: allowed and flagged`,
                ruleId: `tools.${name}`,
              },
            ],
          };
        case 'high':
          return {
            stage: STAGE,
            effect: 'review',
            risk: 0,
            tier: 'high',
            facts,
            reasons: [
              {
                code: 'catalogue.tier.high',
                message: `${name} is a high-risk tool: a human must approve these exact arguments`,
                ruleId: `tools.${name}`,
              },
            ],
          };
      }
    },
  };
}
