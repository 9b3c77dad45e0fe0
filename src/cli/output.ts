import { cli, printJson, useColor } from './common.js';

/** The slice of a Decision the human summary shows. */
export interface DecisionLine {
  effect: 'allow' | 'deny' | 'review';
  tier: string;
  flagged: boolean;
  reasons: readonly { code: string; message: string }[];
  approvalRequest?: string;
  auditSeq: number;
  action: { kind?: string; tool?: string };
}

const SGR = { allow: '32', deny: '31', review: '33', dim: '2' } as const;

function paint(text: string, code: string, color: boolean): string {
  return color ? `\u001b[${code}m${text}\u001b[0m` : text;
}

// Codes that only describe the tier (catalogue.tier.low) say nothing a human needs on a summary line.
const INFORMATIONAL = /^catalogue\.tier\./;

/** One line per decision: effect, what was asked, the reasons that decided it, and where it is recorded. */
export function decisionSummary(d: DecisionLine, color = useColor()): string {
  const what = printable(d.action.tool ?? d.action.kind ?? 'action');
  const reasons = d.reasons.filter((r) => !INFORMATIONAL.test(r.code));
  const why = reasons.length === 0 ? '' : ` ${printable(reasons.map((r) => `${r.code}: ${r.message}`).join('; '))}`;
  const extra = [
    `tier ${d.tier}`,
    ...(d.flagged ? ['flagged'] : []),
    ...(d.approvalRequest ? [`approval ${d.approvalRequest}: gatehouse approvals approve ${d.approvalRequest}`] : []),
    `audit #${d.auditSeq}`,
  ].join(', ');
  return `${paint(d.effect.toUpperCase().padEnd(6), SGR[d.effect], color)} ${what}${why} ${paint(`(${extra})`, SGR.dim, color)}\n`;
}

// C0/C1 controls, DEL and bidirectional overrides: an agent-chosen name or argument must not move the operator's
// cursor, recolour the terminal or reorder what a line shows.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text as a terminal may show it: every control or bidi character written as its `\u` escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A plain text table: columns padded to their widest cell, a header, no borders; cells made printable. */
export function table(header: readonly string[], cells: readonly (readonly string[])[], color = useColor()): string {
  const rows = cells.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${paint(line(header), '1', color)}\n${rows.map((r) => `${line(r)}\n`).join('')}`;
}

/** Human output on a terminal unless --json asked for JSON; JSON whenever stdout is piped. */
export function wantsHuman(opts: { json?: boolean }): boolean {
  return opts.json !== true && cli().isTTY;
}

/**
 * What a list command prints: a table on a terminal; the JSON object when piped or with --json, so a script never
 * parses columns meant for a person.
 */
export function printList(
  opts: { json?: boolean },
  json: unknown,
  view: { header: readonly string[]; rows: readonly (readonly string[])[]; empty: string },
): void {
  if (!wantsHuman(opts)) printJson(json);
  else cli().stdout(view.rows.length === 0 ? `${view.empty}\n` : table(view.header, view.rows));
}

/** An instant as a terminal shows it: ISO 8601 to the second, UTC. */
export function when(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
