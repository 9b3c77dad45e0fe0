import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpUpstreamConfig } from '../config/sections/mcp.js';
import type { Reason } from '../core/decision.js';
import { GatehouseError, InputError } from '../core/errors.js';
import type { Gatehouse } from '../gatehouse.js';
import type { ToolListingArgs } from '../policy/listing.js';
import { definitionText, sourceOf } from './catalog.js';
import { definitionHash, type PinCheck, ToolPins } from './pinning.js';
import { scrubEnv } from './proxy.js';
import { type Suggestion, suggestEntry } from './suggest.js';
import { Upstream } from './upstream.js';

/** What `gatehouse mcp init` found for one upstream tool. */
export interface InitTool {
  name: string;
  server: string;
  tool: string;
  /**
   * `proposed`: a new catalogue entry is suggested; `catalogued`: the catalogue already has an entry (kept as is);
   * `refused`: the listing decision found the definition poisoned or shadowed, so nothing is proposed.
   */
  status: 'proposed' | 'catalogued' | 'refused';
  /** The pin as it stands: none yet, the same definition, or a different one (see `gatehouse mcp pins`). */
  pin: 'none' | 'match' | 'changed';
  suggestion?: Suggestion;
  /** Catalogue findings of the listing decision (poisoning, shadowing), with their codes. */
  findings: Reason[];
  /** The definition as listed, to pin when the proposal is accepted. */
  definition: Tool;
}

export interface InitReport {
  agent: string;
  tools: InitTool[];
}

const SESSION = 'mcp-init';
/** Catalogue denials that refuse a proposal: the proxy would hide these tools whatever the catalogue says. */
const REFUSING = new Set(['mcp.tool.poisoned', 'mcp.tool.shadowed']);

/**
 * Starts the given MCP servers, lists their tools and judges each definition as a `tool_listing` with
 * `gh.explain` (the decision path the proxy uses, committing nothing: no pin, no audit event), then suggests a
 * catalogue entry from each tool's annotations. A poisoned or shadowed definition gets no suggestion.
 *
 * @example
 * const report = await inspectServers(gh, { fs: { command: 'npx', args: ['@modelcontextprotocol/server-filesystem', '.'], env: {}, headers: {} } }, 'claude');
 * report.tools.filter((t) => t.status === 'proposed').map((t) => t.suggestion?.entry);
 */
export async function inspectServers(
  gh: Gatehouse,
  servers: Record<string, McpUpstreamConfig>,
  agent: string,
  log: (line: string) => void,
): Promise<InitReport> {
  const pins = await ToolPins.open(gh.store, gh.audit, gh.clock);
  const baseEnv = scrubEnv(process.env, gh);
  const upstreams = Object.entries(servers).map(
    ([name, config]) =>
      new Upstream(name, config, {
        baseEnv,
        requestTimeoutMs: gh.config.mcp.request_timeout,
        onExit: 'exit',
        reconnect: gh.config.mcp.reconnect,
        resolveSecrets: async (values, target) =>
          (await gh.credentials.resolve(values, { agent, tool: `mcp:${name}`, session: SESSION, target })).value,
        onMalformed: (m, server) => log(`rejected a malformed message from upstream ${server}: ${m.reason}`),
        onNotification: () => {},
        onDead: () => {},
        onReconnected: () => {},
        listRoots: async () => ({ roots: [] }),
        elicit: async () => ({ action: 'decline' }),
        log,
      }),
  );
  try {
    try {
      await Promise.all(upstreams.map((u) => u.connect()));
    } catch (err) {
      throw new GatehouseError(
        'mcp.upstream_failed',
        `an upstream MCP server failed to start: ${(err as Error).message}`,
      );
    }
    const lists = await Promise.all(upstreams.map(async (u) => ({ u, tools: await u.tools() })));
    const firstOwner = new Map<string, string>();
    for (const { u, tools } of lists)
      for (const t of tools) if (!firstOwner.has(t.name)) firstOwner.set(t.name, u.name);
    const out: InitTool[] = [];
    for (const { u, tools } of lists) {
      const siblings = tools.map((t) => t.name);
      for (const tool of tools) {
        const name = `${u.name}.${tool.name}`;
        const owner = firstOwner.get(tool.name);
        const shadowed = lists.length > 1 && owner !== u.name ? owner : undefined;
        const pin = shadowed ? undefined : await pins.check(u.name, tool);
        const { findings, denied } = await listingFindings(gh, agent, name, tool, pin, shadowed, lists);
        // A flag (a mild finding under on_poisoned_description: block, or any under flag) is reported, not refused.
        const refused = denied.some((r) => REFUSING.has(r.code));
        const catalogued = gh.config.tools[name] !== undefined;
        out.push({
          name,
          server: u.name,
          tool: tool.name,
          status: refused ? 'refused' : catalogued ? 'catalogued' : 'proposed',
          pin: !pin || pin.status === 'pinned' ? 'none' : pin.status,
          ...(refused || catalogued ? {} : { suggestion: suggestEntry(u.name, tool, siblings) }),
          findings,
          definition: tool,
        });
      }
    }
    return { agent, tools: out };
  } finally {
    await Promise.all(upstreams.map((u) => u.close()));
  }
}

/**
 * The catalogue stage's findings on one definition, from an explain of its listing (nothing committed), and those
 * of them that denied it.
 */
async function listingFindings(
  gh: Gatehouse,
  agent: string,
  name: string,
  tool: Tool,
  pin: PinCheck | undefined,
  shadowedBy: string | undefined,
  lists: ReadonlyArray<{ u: Upstream; tools: Tool[] }>,
): Promise<{ findings: Reason[]; denied: Reason[] }> {
  const server = name.slice(0, name.length - tool.name.length - 1);
  const args: ToolListingArgs = {
    server,
    name: tool.name,
    exposed: lists.length > 1 ? `${server}__${tool.name}` : tool.name,
    hash: pin?.hash ?? definitionHash(tool),
    ...(pin ? { pin: { status: pin.status, hash: pin.pinnedHash } } : {}),
    ...(shadowedBy ? { shadowedBy } : {}),
    sameName: lists
      .filter((l) => l.u.name !== server && l.tools.some((t) => t.name === tool.name))
      .map((l) => l.u.name),
    mentions: [],
  };
  const content = definitionText(tool);
  const x = await gh.explain({
    kind: 'tool_listing',
    agent,
    session: SESSION,
    tool: name,
    args: args as Record<string, unknown>,
    source: sourceOf(name),
    ...(content ? { content } : {}),
  });
  const catalogue = x.verdicts.filter((v) => v.stage === 'catalogue');
  if (catalogue.length === 0) {
    // The decision ended before the catalogue judged the definition (an unknown agent, a store outage): a proposal
    // made without that judgement could carry a poisoned tool into the catalogue.
    const why = x.reasons.map((r) => r.code).join(', ') || x.effect;
    throw new InputError(
      '--agent',
      `the listing of ${name} was not judged for agent ${agent} (${why}); give a registered agent`,
    );
  }
  const own = (v: (typeof catalogue)[number]) => v.reasons.filter((r) => r.code.startsWith('mcp.'));
  return {
    findings: catalogue.flatMap(own),
    denied: catalogue.filter((v) => v.effect === 'deny').flatMap(own),
  };
}
