import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ArgRuleConfig } from '../config/sections/policy.js';
import type { ToolConfig } from '../config/sections/tools.js';
import { argKind } from '../policy/tools.js';

/** A catalogue entry as it is written to `tools:` in gatehouse.yaml: only the fields that differ from defaults. */
export type SuggestedEntry = Pick<ToolConfig, 'risk'> &
  Partial<Pick<ToolConfig, 'description' | 'output' | 'sink' | 'reads' | 'destructive' | 'dry_run'>> & {
    args?: Record<string, Partial<ArgRuleConfig>>;
  };

/** What `gatehouse mcp init` proposes for one upstream tool, and why. */
export interface Suggestion {
  /** The catalogue and policy name, `<server>.<tool>`. */
  name: string;
  server: string;
  tool: string;
  entry: SuggestedEntry;
  /** One line per field: which annotation (or its absence) led to it. */
  basis: string[];
}

const DESCRIPTION_MAX = 120;

/**
 * The catalogue entry a tool's own annotations suggest. Annotations are hints from the server, not facts, and the
 * MCP defaults are the cautious ones (a tool is destructive and open-world unless it says otherwise), so a missing
 * annotation never lowers the tier: `readOnlyHint` → low, `destructiveHint: false` → medium, anything else → high
 * with approval. Open-world tools send data out (an external sink) and return third-party content; every result
 * is screened, because the server, not its user, decides what a result says. Arguments whose names make them
 * paths, URLs or commands get the checks of that kind.
 *
 * @example
 * suggestEntry('fs', { name: 'read_file', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } });
 * // → { name: 'fs.read_file', entry: { risk: 'low', output: 'untrusted', reads: 'private', … }, basis: [...] }
 */
export function suggestEntry(server: string, tool: Tool, siblings: readonly string[] = []): Suggestion {
  const a = tool.annotations ?? {};
  const readOnly = a.readOnlyHint === true;
  const openWorld = a.openWorldHint !== false;
  const basis: string[] = [];
  const entry: SuggestedEntry = { risk: 'high' };
  if (readOnly) {
    entry.risk = 'low';
    basis.push('risk low: readOnlyHint');
  } else if (a.destructiveHint === false) {
    entry.risk = 'medium';
    basis.push('risk medium: destructiveHint false (changes state, not destructively)');
  } else {
    entry.destructive = true;
    basis.push(
      a.destructiveHint === true
        ? 'risk high: destructiveHint'
        : 'risk high: no readOnlyHint or destructiveHint (MCP assumes destructive)',
    );
    const dry = dryRunSibling(tool.name, siblings);
    if (dry) {
      entry.dry_run = `${server}.${dry}`;
      basis.push(`dry_run ${server}.${dry}: a tool of the same server by that name`);
    }
  }
  // Always: the server, not its user, chooses what a result says.
  entry.output = 'untrusted';
  if (openWorld) {
    entry.sink = 'external';
    entry.reads = 'public';
    basis.push(
      a.openWorldHint === true
        ? 'sink external, reads public: openWorldHint'
        : 'sink external, reads public: no openWorldHint (MCP assumes an open world)',
    );
  } else {
    entry.reads = 'private';
    if (!readOnly) entry.sink = 'internal';
    basis.push(`${readOnly ? '' : 'sink internal, '}reads private: openWorldHint false (local data)`);
  }
  const args = checkedArgs(tool);
  if (args.size > 0) {
    entry.args = Object.fromEntries([...args.keys()].map((n) => [n, {}]));
    basis.push(`args checked by kind: ${[...args].map(([n, k]) => `${n} (${k})`).join(', ')}`);
  }
  const description = oneLine(tool.title ?? tool.description);
  if (description) entry.description = description;
  return { name: `${server}.${tool.name}`, server, tool: tool.name, entry, basis };
}

const NO_RULE: ArgRuleConfig = { required: false, builtin: true, private_networks: 'deny' };

/** Top-level input properties whose names make them paths, URLs or commands (policy/tools.ts argKind). */
function checkedArgs(tool: Tool): Map<string, string> {
  const props = tool.inputSchema.properties;
  const out = new Map<string, string>();
  if (typeof props !== 'object' || props === null) return out;
  for (const name of Object.keys(props).sort()) {
    const kind = argKind(name, NO_RULE);
    if (kind !== 'value') out.set(name, kind);
  }
  return out;
}

/** A same-server tool that previews this one: `<tool>_dry_run`, `dry_run_<tool>`, `preview_<tool>`. */
function dryRunSibling(tool: string, siblings: readonly string[]): string | undefined {
  const names = new Set(siblings);
  return [`${tool}_dry_run`, `${tool}_dryrun`, `dry_run_${tool}`, `preview_${tool}`, `${tool}_preview`].find((n) =>
    names.has(n),
  );
}

function oneLine(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > DESCRIPTION_MAX ? `${line.slice(0, DESCRIPTION_MAX - 1)}…` : line || undefined;
}
