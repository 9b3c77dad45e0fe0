import { cli, useColor } from './common.js';

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
  const what = d.action.tool ?? d.action.kind ?? 'action';
  const reasons = d.reasons.filter((r) => !INFORMATIONAL.test(r.code));
  const why = reasons.length === 0 ? '' : ` ${reasons.map((r) => `${r.code}: ${r.message}`).join('; ')}`;
  const extra = [
    `tier ${d.tier}`,
    ...(d.flagged ? ['flagged'] : []),
    ...(d.approvalRequest ? [`approval ${d.approvalRequest}: gatehouse approvals approve ${d.approvalRequest}`] : []),
    `audit #${d.auditSeq}`,
  ].join(', ');
  return `${paint(d.effect.toUpperCase().padEnd(6), SGR[d.effect], color)} ${what}${why} ${paint(`(${extra})`, SGR.dim, color)}\n`;
}

/** A plain text table: columns padded to their widest cell, a header, no borders. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], color = useColor()): string {
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
