import { z } from 'zod';
import { canonicalHash } from './canonical.js';

/**
 * Trust label of where content came from. `tool:<name>` marks a tool's output.
 * Anything not `owner` is untrusted to some degree.
 */
export const SourceSchema = z
  .string()
  .regex(/^(owner|user|public|web|tool:[A-Za-z0-9_.:/-]{1,128})$/, 'expected owner, user, public, web or tool:<name>');

/**
 * `tool_listing`: a tool definition an upstream (an MCP server) offers, and whether the agent may see it. `tool` is
 * the catalogue name, `args` what the offering looks like (`ToolListingArgs` in `policy/listing.ts`: server, names,
 * definition and pin hashes, other servers offering the name), `content` the texts of the definition the model reads.
 */
export const ActionKindSchema = z.enum([
  'input',
  'tool_call',
  'tool_result',
  'output',
  'egress',
  'exec',
  'tool_listing',
]);

const IdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[A-Za-z0-9_.:@/-]+$/, 'may contain only letters, digits and _ . : @ / -');

/** What an agent wants to do. Validated at every edge; trusted inside. */
export const ActionSchema = z
  .object({
    id: IdSchema.optional(),
    kind: ActionKindSchema,
    agent: IdSchema,
    session: IdSchema.default('default'),
    tool: z.string().min(1).max(256).optional(),
    args: z.record(z.string(), z.unknown()).optional(),
    content: z
      .string()
      .max(16 * 1024 * 1024)
      .optional(),
    source: SourceSchema.default('user'),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if ((a.kind === 'tool_call' || a.kind === 'tool_result' || a.kind === 'tool_listing') && !a.tool) {
      ctx.addIssue({ code: 'custom', path: ['tool'], message: `is required when kind is ${a.kind}` });
    }
    if ((a.kind === 'input' || a.kind === 'output' || a.kind === 'tool_result') && a.content === undefined) {
      ctx.addIssue({ code: 'custom', path: ['content'], message: `is required when kind is ${a.kind}` });
    }
  });

export type ActionInput = z.input<typeof ActionSchema>;
export type Action = z.output<typeof ActionSchema>;
export type ActionKind = z.infer<typeof ActionKindSchema>;

/** Largest tool definition recorded whole in the audit log; a larger one is summarised and cannot be replayed. */
const LISTING_RECORDED = 64 * 1024;

/**
 * A short, secret-free description of an action for audit events: never the full content. A `tool_listing` is
 * recorded whole (a server's published definition is the evidence of the decision, not a secret), so `policy
 * replay` can judge it again.
 */
export function summarizeAction(a: Action): Record<string, unknown> {
  const summary: Record<string, unknown> = { kind: a.kind, source: a.source };
  if (a.id) summary.id = a.id;
  if (a.tool) summary.tool = a.tool;
  if (a.kind === 'tool_listing' && (a.content ?? '').length <= LISTING_RECORDED) {
    return {
      ...summary,
      ...(a.args ? { args: a.args } : {}),
      ...(a.content !== undefined ? { content: a.content } : {}),
      ...(a.context ? { context: a.context } : {}),
    };
  }
  if (a.args) summary.argKeys = Object.keys(a.args).sort();
  if (a.content !== undefined) summary.contentLength = a.content.length;
  return summary;
}

/**
 * What an approval is bound to: the SHA-256 of the canonical (RFC 8785) form of the action — agent, session,
 * kind, tool, arguments and content. Any change to any of them is a different hash, so it needs a new approval.
 * A `tool_listing` is bound without its session: a server's definition offered to an agent is the same offer in
 * every MCP session, so an approved changed definition is adopted by whichever session sees it next.
 * The pipeline hands every stage this hash as `ctx.actionHash`.
 *
 * @example
 * bindingHash({ kind: 'tool_call', agent: 'a', session: 's', tool: 'email.send', args: { to: 'x@y.z' }, source: 'user' });
 */
export function bindingHash(action: Pick<Action, 'agent' | 'session' | 'kind' | 'tool' | 'args' | 'content'>): string {
  return canonicalHash({
    agent: action.agent,
    session: action.kind === 'tool_listing' ? null : action.session,
    kind: action.kind,
    tool: action.tool ?? null,
    args: action.args ?? null,
    content: action.content ?? null,
  });
}
