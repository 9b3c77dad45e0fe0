import { z } from 'zod';
import type { McpConfig } from '../config/sections/mcp.js';
import type { Reason, Verdict } from '../core/decision.js';
import type { StageContext } from '../core/pipeline.js';

const STAGE = 'catalogue';

/** What an upstream offers, as the MCP proxy saw it: the `args` of a `tool_listing` action. */
export const ToolListingArgsSchema = z
  .object({
    /** The upstream server. */
    server: z.string().min(1),
    /** The server's own name of the tool. */
    name: z.string().min(1),
    /** The name the client would see. */
    exposed: z.string().min(1),
    /** SHA-256 of the canonical definition (`definitionHash`). */
    hash: z.string().min(1),
    /** Absent for a shadowed tool, which is never pinned. */
    pin: z
      .object({
        status: z.enum(['pinned', 'match', 'changed']),
        /** The pinned definition's hash. */
        hash: z.string().min(1),
        /** An operator denied this changed definition. */
        rejected: z.boolean().optional(),
        /** The top-level definition fields that differ from the pin (`description`, `inputSchema`, …). */
        changed: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    /** A server listed earlier that already offers `exposed`: it wins the name. */
    shadowedBy: z.string().optional(),
    /** Other servers offering a tool of the same name (under other exposed names). */
    sameName: z.array(z.string()).default([]),
    /** Tools of other servers (`<server>.<tool>`) that this tool's description names. */
    mentions: z.array(z.string()).default([]),
  })
  .strict();

export type ToolListingArgs = z.input<typeof ToolListingArgsSchema>;

export type ListingRules = Pick<McpConfig, 'on_pin_violation' | 'on_poisoned_description'>;

/**
 * Finding categories that mark tool poisoning: hidden tags, exfiltration, overrides, steering other tools,
 * impersonation, extraction, disguise. A description is written for the model, so generic imperative phrasing
 * ("use with caution") only flags; a finding of these families, or a score at `block_at`, is poisoning.
 */
const POISON_CATEGORIES = new Set([
  'envelope',
  'exfiltration',
  'override',
  'tool_manipulation',
  'impersonation',
  'extraction',
  'obfuscation',
]);

/**
 * The catalogue rules for a tool on offer: a name already taken by an earlier server is denied (shadowed); a
 * definition that differs from its pin is denied (`on_pin_violation: block`) or sent for approval (`review`: the
 * gate binds the approval to this exact action, whose args carry the definition hash, so approving one definition
 * never approves another); a definition the screen stage graded as poisoned is denied or flagged
 * (`on_poisoned_description`); the same name on several servers, or a description naming another server's tools,
 * is flagged. Whether the agent may see the tool at all is the authorize stage's part.
 */
export function judgeListing(ctx: StageContext, rules: ListingRules): Verdict {
  const parsed = ToolListingArgsSchema.safeParse(ctx.action.args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return deny([
      {
        code: 'catalogue.listing_invalid',
        message: `the tool listing is malformed: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
      },
    ]);
  }
  const a = parsed.data;
  const tool = ctx.action.tool ?? `${a.server}.${a.name}`;
  if (a.shadowedBy) {
    return deny([
      {
        code: 'mcp.tool.shadowed',
        message: `${a.exposed} is also offered by upstream ${a.shadowedBy}, which comes first`,
        evidence: a.shadowedBy,
      },
    ]);
  }
  let review: Reason | undefined;
  if (a.pin?.status === 'changed') {
    const violation: Reason = {
      code: 'mcp.pin.violation',
      message: `the definition of ${tool} changed since it was pinned (${a.pin.hash.slice(0, 12)} → ${a.hash.slice(0, 12)}); accept it with: gatehouse mcp pins accept ${a.server} ${a.name}`,
      evidence: a.pin.changed?.length ? `${a.pin.changed.join(', ')} changed` : a.hash,
      ruleId: 'mcp.on_pin_violation',
    };
    if (a.pin.rejected)
      return deny([{ ...violation, message: `${violation.message}; an operator denied this change` }]);
    if (rules.on_pin_violation === 'block') return deny([violation]);
    review = { ...violation, code: 'mcp.pin.review', message: `${violation.message}; it needs an approval` };
  }
  const flags: Reason[] = [];
  const alert = ctx.facts.screenAlert;
  if (alert) {
    const poisoned: Reason = {
      code: 'mcp.tool.poisoned',
      message: `the definition of ${tool} carries instructions for the model (score ${ctx.facts.screenScore ?? 0})`,
      evidence: alert.categories.slice(0, 3).join(', '),
      ruleId: 'mcp.on_poisoned_description',
    };
    const poisonous = alert.level === 'block' || alert.categories.some((c) => POISON_CATEGORIES.has(c));
    if (rules.on_poisoned_description === 'block' && poisonous) return deny([poisoned]);
    flags.push(poisoned);
  }
  if (a.sameName.length > 0) {
    flags.push({
      code: 'mcp.shadowing.duplicate_name',
      message: `tool ${a.name} is offered by several servers: ${[a.server, ...a.sameName].join(', ')}`,
      evidence: a.sameName.join(', '),
    });
  }
  if (a.mentions.length > 0) {
    flags.push({
      code: 'mcp.shadowing.cross_reference',
      message: `the description of ${tool} names tools of other servers: ${a.mentions.join(', ')}`,
      evidence: a.mentions.join(', '),
    });
  }
  if (review) return { stage: STAGE, effect: 'review', risk: 0, tier: 'high', reasons: [review, ...flags] };
  return {
    stage: STAGE,
    effect: 'allow',
    risk: 0,
    reasons: flags,
    ...(flags.length > 0 ? { flag: true } : {}),
  };
}

function deny(reasons: Reason[]): Verdict {
  return { stage: STAGE, effect: 'deny', risk: 0, reasons };
}
