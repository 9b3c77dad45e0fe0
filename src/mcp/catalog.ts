import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpConfig } from '../config/sections/mcp.js';
import type { ActionInput } from '../core/action.js';
import { canonicalHash } from '../core/canonical.js';
import type { Decision, Reason } from '../core/decision.js';
import { GatehouseError } from '../core/errors.js';
import type { ToolListingArgs } from '../policy/listing.js';
import { definitionHash, type PinCheck, type ToolPins } from './pinning.js';
import type { Upstream } from './upstream.js';

export const SEPARATOR = '__';
const SOURCE_SAFE = /[^A-Za-z0-9_.:/-]/g;

/** A trust label for what a tool or server sends: `tool:<name>` with the characters a label allows. */
export function sourceOf(name: string): string {
  return `tool:${name.replace(SOURCE_SAFE, '_').slice(0, 128)}`;
}

/** Why a tool is not offered: the decision that hid it. */
export interface Hidden {
  decision: string;
  /** The stage whose verdict decided: `catalogue` for shadowing, pins and poisoning. */
  stage: string;
  reasons: Reason[];
}

export interface ToolEntry {
  upstream: Upstream;
  tool: Tool;
  /** The tool's name in the catalogue and the policy: `<server>.<tool>`. */
  name: string;
  /** The name the client sees. */
  exposed: string;
  /** The listing decision. */
  decision: string;
  hidden?: Hidden;
}

export interface Catalog {
  byExposed: Map<string, ToolEntry>;
  entries: ToolEntry[];
}

export interface CatalogDeps {
  upstreams: readonly Upstream[];
  cfg: McpConfig;
  pins: ToolPins;
  agent: string;
  session: string;
  /** `decide()` with the proxy's credentials. */
  decide(action: ActionInput): Promise<Decision>;
  /** The policy epoch decisions are made under now. */
  epoch(): Promise<number>;
  log(line: string): void;
}

/**
 * The tool catalogue the client sees. Every upstream tool is an action of kind `tool_listing` decided by
 * `decide()` — shadowing, pins, poisoning (the catalogue stage), the definition's texts (the screen stage) and
 * visibility (the authorize stage) — so each is audited, explained and replayed like any other decision. The
 * catalogue acts on the decision: it shows the tool or hides it with the decision's reasons, and after an allow
 * that used a pin-change approval it records the new pin. Allow and deny decisions are kept per (listing, policy
 * epoch), so a tools/list re-decides only what changed; a review is asked again, so an approval is seen at once.
 */
export class ToolCatalog {
  private current: Catalog | undefined;
  private loading: Promise<Catalog> | undefined;
  private readonly decided = new Map<string, { epoch: number; decision: Decision }>();
  private readonly logged = new Set<string>();

  constructor(private readonly deps: CatalogDeps) {}

  /** The last catalogue built, unless it was invalidated since. */
  get cached(): Catalog | undefined {
    return this.current;
  }

  /** The upstreams' lists changed (or one died or came back): the next load asks them again. */
  invalidate(): void {
    this.current = undefined;
  }

  load(fresh: boolean): Promise<Catalog> {
    if (!fresh && this.current) return Promise.resolve(this.current);
    if (!this.loading) {
      const load = this.build().finally(() => {
        if (this.loading === load) this.loading = undefined;
      });
      this.loading = load;
    }
    return this.loading;
  }

  private async build(): Promise<Catalog> {
    const { upstreams, cfg } = this.deps;
    const lists = await Promise.all(
      upstreams.map(async (u) => {
        if (!u.ready) return { u, tools: [] as Tool[] };
        try {
          return { u, tools: await u.tools() };
        } catch (err) {
          this.deps.log(`upstream ${u.name}: tools/list failed: ${(err as Error).message}`);
          return { u, tools: [] as Tool[] };
        }
      }),
    );
    const prefix = cfg.tool_prefix === 'always' || (cfg.tool_prefix === 'auto' && upstreams.length > 1);
    const owners = new Map<string, string[]>();
    for (const { u, tools } of lists)
      for (const tool of tools) owners.set(tool.name, [...(owners.get(tool.name) ?? []), u.name]);
    const entries: ToolEntry[] = [];
    const byExposed = new Map<string, ToolEntry>();
    const epoch = await this.deps.epoch();
    for (const { u, tools } of lists) {
      const own = new Set(tools.map((t) => t.name));
      for (const tool of tools) {
        const name = `${u.name}.${tool.name}`;
        const exposed = prefix ? `${u.name}${SEPARATOR}${tool.name}` : tool.name;
        const first = byExposed.get(exposed);
        // A shadowed tool is never offered, so it is not pinned either.
        const pin = first ? undefined : await this.deps.pins.check(u.name, tool);
        const args: ToolListingArgs = {
          server: u.name,
          name: tool.name,
          exposed,
          hash: pin?.hash ?? definitionHash(tool),
          ...(pin ? { pin: pinArgs(pin) } : {}),
          ...(first ? { shadowedBy: first.upstream.name } : {}),
          sameName: (owners.get(tool.name) ?? []).filter((s) => s !== u.name),
          mentions: mentions(tool, own, owners, u.name),
        };
        const d = await this.decideListing(name, args, definitionText(tool), epoch);
        const entry: ToolEntry = { upstream: u, tool, name, exposed, decision: 'effect' in d ? d.id : 'undecided' };
        entries.push(entry);
        if (!first) byExposed.set(exposed, entry);
        if (!('effect' in d)) {
          entry.hidden = { decision: entry.decision, stage: 'mcp', reasons: [d] };
          continue;
        }
        if (d.effect !== 'allow') entry.hidden = hiddenBy(d);
        if (pin) await this.afterDecision(entry, pin, d);
        this.report(entry, pin, d);
      }
    }
    const catalog = { byExposed, entries };
    this.current = catalog;
    return catalog;
  }

  /** The decision on one listing, or the reason it could not be decided (the tool is then hidden). */
  private async decideListing(
    tool: string,
    args: ToolListingArgs,
    content: string,
    epoch: number,
  ): Promise<Decision | Reason> {
    const action = {
      kind: 'tool_listing',
      agent: this.deps.agent,
      session: this.deps.session,
      tool,
      args: args as Record<string, unknown>,
      source: sourceOf(tool),
      ...(content ? { content } : {}),
    } satisfies ActionInput;
    const key = canonicalHash({ tool, args, content });
    const known = this.decided.get(key);
    if (known && known.epoch === epoch) return known.decision;
    let d: Decision;
    try {
      d = await this.deps.decide(action);
    } catch (err) {
      // Fail closed: a definition that cannot be decided is not offered (and not remembered: it is asked again).
      return {
        code: err instanceof GatehouseError ? err.code : 'internal.error',
        message: `the listing of ${tool} could not be decided: ${(err as Error).message}`,
      };
    }
    if (d.effect !== 'review') {
      if (this.decided.size >= 10_000) this.decided.clear();
      this.decided.set(key, { epoch, decision: d });
    }
    return d;
  }

  /**
   * The pin follows the final decision: a first sighting is pinned once allowed, a change adopted once an approval was
   * used, rejected once one was denied.
   */
  private async afterDecision(entry: ToolEntry, pin: PinCheck, d: Decision): Promise<void> {
    const server = entry.upstream.name;
    if (pin.status === 'pinned' && d.effect === 'allow') {
      await this.deps.pins.pinFirstSight(server, entry.tool, this.pinContext());
    }
    if (pin.status !== 'changed') return;
    if (d.effect === 'allow' && d.approval) {
      await this.deps.pins.accept(server, entry.tool.name, `approval:${d.approval.id}`, pin.hash, this.pinContext());
    } else if (d.effect === 'review' && d.approvalRequest && d.approvalRequest !== pin.approval) {
      await this.deps.pins.setApproval(server, entry.tool.name, pin.hash, d.approvalRequest);
    } else if (d.effect === 'deny' && d.reasons.some((r) => r.code === 'approval.denied')) {
      await this.deps.pins.reject(server, entry.tool.name, pin.hash);
    }
  }

  /** Diagnostics on stderr, once per finding; the audit log has the decision. */
  private report(entry: ToolEntry, pin: PinCheck | undefined, d: Decision): void {
    for (const r of d.reasons) {
      const line =
        r.code === 'mcp.pin.violation' || r.code === 'mcp.pin.review'
          ? `PIN VIOLATION: ${r.message}`
          : r.code.startsWith('mcp.shadowing.') || r.code === 'mcp.tool.shadowed'
            ? `SHADOWING: ${r.message}`
            : r.code === 'mcp.tool.poisoned'
              ? `tool ${entry.name}: ${r.message} (${r.evidence ?? ''})`
              : undefined;
      if (line && !this.logged.has(line)) {
        this.logged.add(line);
        this.deps.log(line);
      }
    }
    if (d.effect === 'review' && d.approvalRequest && pin?.status === 'changed') {
      const line = `the changed definition of ${entry.name} waits for approval ${d.approvalRequest}: gatehouse approvals approve ${d.approvalRequest}`;
      if (!this.logged.has(line)) {
        this.logged.add(line);
        this.deps.log(line);
      }
    }
  }

  private pinContext(): { agent: string; session: string } {
    return { agent: this.deps.agent, session: this.deps.session };
  }
}

/** The reasons that hid a tool: those of the verdicts that decided, not the permits before them. */
function hiddenBy(d: Decision): Hidden {
  const deciding = d.verdicts.filter((v) => v.effect === d.effect && v.reasons.length > 0);
  const stage = deciding.find((v) => v.stage !== 'gate')?.stage ?? deciding[0]?.stage ?? 'gate';
  const reasons = deciding.flatMap((v) => v.reasons);
  return { decision: d.id, stage, reasons: reasons.length > 0 ? reasons : d.reasons };
}

function pinArgs(pin: PinCheck): NonNullable<ToolListingArgs['pin']> {
  return {
    status: pin.status,
    hash: pin.pinnedHash,
    ...(pin.rejected ? { rejected: true } : {}),
    ...(pin.fields.length > 0 ? { changed: pin.fields } : {}),
  };
}

/** What the model reads of a definition: title, description and the texts inside its schemas. */
export function definitionText(tool: Tool): string {
  return [tool.title, tool.description, ...schemaTexts(tool.inputSchema), ...schemaTexts(tool.outputSchema)]
    .filter((t): t is string => !!t)
    .join('\n');
}

/** Tools of other servers that a description names: a way to steer the model to another server's tool. */
function mentions(tool: Tool, own: Set<string>, owners: Map<string, string[]>, server: string): string[] {
  const words = new Set((tool.description ?? '').split(/[^A-Za-z0-9_.-]+/));
  const out: string[] = [];
  for (const [other, servers] of owners) {
    if (own.has(other) || other.length < 4 || !words.has(other)) continue;
    for (const s of servers) if (s !== server) out.push(`${s}.${other}`);
  }
  return out.sort();
}

/** Descriptions and titles inside a JSON Schema: tool poisoning hides there too. */
function schemaTexts(schema: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 16 || schema === null || typeof schema !== 'object') return out;
  if (Array.isArray(schema)) {
    for (const s of schema) schemaTexts(s, out, depth + 1);
    return out;
  }
  for (const [k, v] of Object.entries(schema)) {
    if ((k === 'description' || k === 'title') && typeof v === 'string') out.push(v);
    else if (typeof v === 'object') schemaTexts(v, out, depth + 1);
  }
  return out;
}
