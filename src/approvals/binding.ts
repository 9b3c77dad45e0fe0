import type { Action } from '../core/action.js';
import { canonicalHash } from '../core/canonical.js';

/**
 * What an approval is bound to: the SHA-256 of the canonical (RFC 8785) form of the action — agent, session,
 * kind, tool, arguments and content. Any change to any of them is a different hash, so it needs a new approval.
 * This is the same hash the pipeline hands every stage as `ctx.actionHash`.
 *
 * @example
 * bindingHash({ kind: 'tool_call', agent: 'a', session: 's', tool: 'email.send', args: { to: 'x@y.z' }, source: 'user' });
 */
export function bindingHash(action: Pick<Action, 'agent' | 'session' | 'kind' | 'tool' | 'args' | 'content'>): string {
  return canonicalHash({
    agent: action.agent,
    session: action.session,
    kind: action.kind,
    tool: action.tool ?? null,
    args: action.args ?? null,
    content: action.content ?? null,
  });
}
