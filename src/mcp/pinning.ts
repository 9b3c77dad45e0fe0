import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditLog } from '../audit/log.js';
import { canonicalHash, canonicalize } from '../core/canonical.js';
import type { Clock } from '../core/clock.js';
import { NotFoundError } from '../core/errors.js';
import type { Store } from '../store/store.js';

const MIGRATIONS = [
  {
    version: 1,
    name: 'tool definition pins',
    sql: `
      CREATE TABLE mcp_pins (
        server TEXT NOT NULL,
        tool TEXT NOT NULL,
        hash TEXT NOT NULL,
        definition TEXT NOT NULL,
        pinned_at INTEGER NOT NULL,
        pinned_by TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (server, tool)
      );
      CREATE TABLE mcp_pin_changes (
        server TEXT NOT NULL,
        tool TEXT NOT NULL,
        hash TEXT NOT NULL,
        definition TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
        approval TEXT,
        PRIMARY KEY (server, tool, hash)
      );
    `,
  },
];

/** The parts of a tool definition a pin covers: what the model reads and what the server accepts. */
export function pinnedDefinition(tool: Tool): Record<string, unknown> {
  return {
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema ?? null,
    annotations: tool.annotations ?? null,
  };
}

/** SHA-256 of the canonical (RFC 8785) pinned definition. */
export function definitionHash(tool: Tool): string {
  return canonicalHash(pinnedDefinition(tool));
}

export type PinStatus =
  /** First sight: pinned once its listing is allowed (`pinFirstSight`). */
  | 'pinned'
  /** Same definition as pinned. */
  | 'match'
  /** Differs from the pin: a rug pull until an operator accepts it. */
  | 'changed';

export interface PinCheck {
  status: PinStatus;
  hash: string;
  pinnedHash: string;
  /** For `changed`: the approval request opened for this definition, if any. */
  approval: string | null;
  /** For `changed`: true the first time this changed definition is seen. */
  firstSighting: boolean;
  /** For `changed`: an operator denied this definition's approval request. */
  rejected: boolean;
  /** For `changed`: the top-level definition fields that differ from the pin. */
  fields: string[];
}

export interface PinRecord {
  server: string;
  tool: string;
  hash: string;
  pinnedAt: number;
  pinnedBy: string;
  seenAt: number;
  definition: Record<string, unknown>;
  /** Changed definitions seen since, newest first. */
  changes: { hash: string; firstSeen: number; lastSeen: number; status: string; approval: string | null }[];
}

interface PinRow {
  server: string;
  tool: string;
  hash: string;
  definition: string;
  pinned_at: number;
  pinned_by: string;
  seen_at: number;
}

interface ChangeRow {
  server: string;
  tool: string;
  hash: string;
  definition: string;
  first_seen: number;
  last_seen: number;
  status: string;
  approval: string | null;
}

/** Who saw it: the audit context of a pin event (the MCP session is the Gatehouse session). */
export interface PinContext {
  agent?: string;
  session?: string;
}

/**
 * Tool-definition pins: every (server, tool) definition is pinned by hash the first time it is seen; a later,
 * different definition (a "rug pull") is recorded as a change that stays unaccepted until an operator accepts
 * it (`gatehouse mcp pins accept`, or an approved pin-change request). Pinning, acceptance and resets are audit
 * events; what a change means for the agent is a `tool_listing` decision (`catalog.ts`), audited as such.
 *
 * @example
 * const pins = await ToolPins.open(gh.store, gh.audit, gh.clock);
 * const c = await pins.check('fs', tool);
 * if (c.status === 'changed') hide(tool);
 */
export class ToolPins {
  /** The pins kept in `store`, whose tables are migrated here. */
  static async open(store: Store, audit: AuditLog, clock: Clock): Promise<ToolPins> {
    await store.migrate('mcp', MIGRATIONS);
    return new ToolPins(store, audit, clock);
  }

  private constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Compares a definition with its pin; a first sighting is pinned only after its listing is allowed. */
  async check(server: string, tool: Tool): Promise<PinCheck> {
    const hash = definitionHash(tool);
    const now = this.clock.now();
    const definition = canonicalize(pinnedDefinition(tool));
    const outcome = await this.store.transaction(async () => {
      const pin = await this.store.get<PinRow>('SELECT * FROM mcp_pins WHERE server = ? AND tool = ?', [
        server,
        tool.name,
      ]);
      // Never seen: nothing is written until the listing's decision allows it (`pinFirstSight`), so a definition
      // that is denied on first sight (poisoned, not visible) never becomes the trusted baseline.
      if (!pin) {
        return {
          status: 'pinned' as const,
          pinnedHash: hash,
          approval: null,
          firstSighting: false,
          rejected: false,
          fields: [],
        };
      }
      if (pin.hash === hash) {
        await this.store.run('UPDATE mcp_pins SET seen_at = ? WHERE server = ? AND tool = ?', [now, server, tool.name]);
        return {
          status: 'match' as const,
          pinnedHash: hash,
          approval: null,
          firstSighting: false,
          rejected: false,
          fields: [],
        };
      }
      const change = await this.store.get<ChangeRow>(
        'SELECT * FROM mcp_pin_changes WHERE server = ? AND tool = ? AND hash = ?',
        [server, tool.name, hash],
      );
      if (change) {
        await this.store.run('UPDATE mcp_pin_changes SET last_seen = ? WHERE server = ? AND tool = ? AND hash = ?', [
          now,
          server,
          tool.name,
          hash,
        ]);
      } else {
        await this.store.run(
          `INSERT INTO mcp_pin_changes (server, tool, hash, definition, first_seen, last_seen, status, approval)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL)`,
          [server, tool.name, hash, definition, now, now],
        );
      }
      return {
        status: 'changed' as const,
        pinnedHash: pin.hash,
        approval: change?.approval ?? null,
        firstSighting: !change,
        rejected: change?.status === 'rejected',
        fields: changedFields(JSON.parse(pin.definition) as Record<string, unknown>, pinnedDefinition(tool)),
      };
    });
    return { ...outcome, hash };
  }

  /** Links an approval request to a changed definition (review mode). */
  async setApproval(server: string, tool: string, hash: string, approval: string): Promise<void> {
    await this.store.run('UPDATE mcp_pin_changes SET approval = ? WHERE server = ? AND tool = ? AND hash = ?', [
      approval,
      server,
      tool,
      hash,
    ]);
  }

  /**
   * Pins a definition seen for the first time, after its listing was allowed. A concurrent first sighting that
   * pinned first wins; this one is then judged against that pin at the next listing.
   */
  async pinFirstSight(
    server: string,
    tool: Tool,
    ctx: PinContext,
    by: { pinnedBy: string; actor: string } = { pinnedBy: 'first-sight', actor: 'mcp-proxy' },
  ): Promise<boolean> {
    const now = this.clock.now();
    const hash = definitionHash(tool);
    const { changes } = await this.store.run(
      `INSERT INTO mcp_pins (server, tool, hash, definition, pinned_at, pinned_by, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (server, tool) DO NOTHING`,
      [server, tool.name, hash, canonicalize(pinnedDefinition(tool)), now, by.pinnedBy, now],
    );
    if (changes === 0) return false;
    await this.audit.append(
      { type: 'mcp.pin.created', ...ctxFields(ctx), actor: by.actor, data: { server, tool: tool.name, hash } },
      { durable: true },
    );
    return true;
  }

  /**
   * Accepts a changed definition as the new pin (the newest pending change when `hash` is omitted).
   * Throws NotFoundError when there is no such change.
   */
  async accept(server: string, tool: string, actor: string, hash?: string, ctx: PinContext = {}): Promise<string> {
    const now = this.clock.now();
    const accepted = await this.store.transaction(async () => {
      const change = hash
        ? await this.store.get<ChangeRow>('SELECT * FROM mcp_pin_changes WHERE server = ? AND tool = ? AND hash = ?', [
            server,
            tool,
            hash,
          ])
        : await this.store.get<ChangeRow>(
            `SELECT * FROM mcp_pin_changes WHERE server = ? AND tool = ? AND status = 'pending' ORDER BY last_seen DESC LIMIT 1`,
            [server, tool],
          );
      if (!change) return undefined;
      const previous = await this.store.get<PinRow>('SELECT * FROM mcp_pins WHERE server = ? AND tool = ?', [
        server,
        tool,
      ]);
      await this.store.run(
        `INSERT INTO mcp_pins (server, tool, hash, definition, pinned_at, pinned_by, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (server, tool) DO UPDATE SET hash = excluded.hash, definition = excluded.definition,
           pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by, seen_at = excluded.seen_at`,
        [server, tool, change.hash, change.definition, now, actor, now],
      );
      await this.store.run(
        `UPDATE mcp_pin_changes SET status = 'accepted' WHERE server = ? AND tool = ? AND hash = ?`,
        [server, tool, change.hash],
      );
      return { hash: change.hash, previous: previous?.hash ?? null };
    });
    if (!accepted)
      throw new NotFoundError(`a changed definition of ${server}.${tool}${hash ? ` with hash ${hash}` : ''}`);
    await this.audit.append(
      {
        type: 'mcp.pin.accepted',
        ...ctxFields(ctx),
        actor,
        data: { server, tool, hash: accepted.hash, previous: accepted.previous },
      },
      { durable: true },
    );
    return accepted.hash;
  }

  /** Marks a changed definition rejected (its approval request was denied); it stays blocked. */
  async reject(server: string, tool: string, hash: string): Promise<void> {
    await this.store.run(`UPDATE mcp_pin_changes SET status = 'rejected' WHERE server = ? AND tool = ? AND hash = ?`, [
      server,
      tool,
      hash,
    ]);
  }

  /** Forgets the pins of a server (or one tool): the next definition seen is pinned afresh. Audited. */
  async reset(server: string, tool: string | undefined, actor: string): Promise<number> {
    const n = await this.store.transaction(async () => {
      const where = tool === undefined ? 'server = ?' : 'server = ? AND tool = ?';
      const params = tool === undefined ? [server] : [server, tool];
      await this.store.run(`DELETE FROM mcp_pin_changes WHERE ${where}`, params);
      return (await this.store.run(`DELETE FROM mcp_pins WHERE ${where}`, params)).changes;
    });
    await this.audit.append(
      { type: 'mcp.pin.reset', actor, data: { server, ...(tool ? { tool } : {}), removed: n } },
      { durable: true },
    );
    return n;
  }

  async list(server?: string): Promise<PinRecord[]> {
    const pins = await this.store.all<PinRow>(
      // The cast gives the optional parameter a type: PostgreSQL cannot infer one from `? IS NULL`.
      'SELECT * FROM mcp_pins WHERE (CAST(? AS TEXT) IS NULL OR server = ?) ORDER BY server, tool',
      [server ?? null, server ?? null],
    );
    const out: PinRecord[] = [];
    for (const p of pins) {
      const changes = await this.store.all<ChangeRow>(
        'SELECT * FROM mcp_pin_changes WHERE server = ? AND tool = ? ORDER BY last_seen DESC',
        [p.server, p.tool],
      );
      out.push({
        server: p.server,
        tool: p.tool,
        hash: p.hash,
        pinnedAt: p.pinned_at,
        pinnedBy: p.pinned_by,
        seenAt: p.seen_at,
        definition: JSON.parse(p.definition) as Record<string, unknown>,
        changes: changes.map((c) => ({
          hash: c.hash,
          firstSeen: c.first_seen,
          lastSeen: c.last_seen,
          status: c.status,
          approval: c.approval,
        })),
      });
    }
    return out;
  }
}

/** Names of the top-level definition fields that differ (what a violation's evidence shows; never content). */
export function changedFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonicalize(a[k] ?? null) !== canonicalize(b[k] ?? null)).sort();
}

function ctxFields(ctx: PinContext): { agent?: string; session?: string } {
  return { ...(ctx.agent ? { agent: ctx.agent } : {}), ...(ctx.session ? { session: ctx.session } : {}) };
}
