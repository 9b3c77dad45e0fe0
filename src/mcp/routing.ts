import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { SEPARATOR } from './catalog.js';
import { RpcError } from './errors.js';
import type { Upstream } from './upstream.js';

/**
 * Which upstream serves a resource URI, a prompt name or a list cursor. Learnt from the lists the upstreams
 * return (a URI template by its literal head), with the `<server>__` prefix and the only capable server as
 * fallbacks. Cursors are per upstream: `<server>:<upstream cursor>` when several servers answer.
 */
export class Routes {
  private readonly resourceOwners = new Map<string, Upstream>();
  private readonly promptOwners = new Map<string, { upstream: Upstream; local: string }>();

  constructor(private readonly upstreams: readonly Upstream[]) {}

  /** Names are prefixed with the server when `tool_prefix` says so (always, or auto with several servers). */
  prefixed(prefix: 'always' | 'never' | 'auto'): boolean {
    return prefix === 'always' || (prefix === 'auto' && this.upstreams.length > 1);
  }

  noteResource(u: Upstream, item: { uri?: string; uriTemplate?: string }): void {
    if (item.uri) this.resourceOwners.set(item.uri, u);
    if (item.uriTemplate) this.resourceOwners.set(templatePrefix(item.uriTemplate), u);
  }

  /** Records that `exposed` is `local` on `u`; false when an earlier server already took the name. */
  notePrompt(exposed: string, u: Upstream, local: string): boolean {
    const known = this.promptOwners.get(exposed);
    if (known && known.upstream !== u) return false;
    this.promptOwners.set(exposed, { upstream: u, local });
    return true;
  }

  forgetResources(): void {
    this.resourceOwners.clear();
  }

  forgetPrompts(): void {
    this.promptOwners.clear();
  }

  resource(uri: string): Upstream {
    const direct = this.resourceOwners.get(uri);
    if (direct) return direct;
    let best: { u: Upstream; len: number } | undefined;
    for (const [prefix, u] of this.resourceOwners) {
      if (prefix.endsWith('\u0000') && uri.startsWith(prefix.slice(0, -1)) && (!best || prefix.length > best.len))
        best = { u, len: prefix.length };
    }
    if (best) return best.u;
    const withResources = this.upstreams.filter((u) => u.capabilities().resources);
    if (withResources.length === 1) return withResources[0]!;
    throw new RpcError(ErrorCode.InvalidParams, 'unknown resource: list resources first');
  }

  prompt(name: string): { upstream: Upstream; local: string } {
    const known = this.promptOwners.get(name);
    if (known) return known;
    const i = name.indexOf(SEPARATOR);
    const byPrefix = i > 0 ? this.upstreams.find((u) => u.name === name.slice(0, i)) : undefined;
    if (byPrefix) return { upstream: byPrefix, local: name.slice(i + SEPARATOR.length) };
    const withPrompts = this.upstreams.filter((u) => u.capabilities().prompts);
    if (withPrompts.length === 1) return { upstream: withPrompts[0]!, local: name };
    throw new RpcError(ErrorCode.InvalidParams, `unknown prompt: ${name.slice(0, 256)}`);
  }

  splitCursor(c: string | undefined): { target?: string; cursor?: string } {
    if (!c) return {};
    if (this.upstreams.length === 1) return { cursor: c };
    const i = c.indexOf(':');
    return i > 0 ? { target: c.slice(0, i), cursor: c.slice(i + 1) } : { cursor: c };
  }

  joinCursor(u: Upstream, cursor: string): string {
    return this.upstreams.length > 1 ? `${u.name}:${cursor}` : cursor;
  }
}

/** A URI template's literal head, marked so it only matches as a prefix. */
function templatePrefix(t: string): string {
  const i = t.indexOf('{');
  return `${i === -1 ? t : t.slice(0, i)}\u0000`;
}
