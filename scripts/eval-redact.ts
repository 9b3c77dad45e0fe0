/**
 * Measures the redactor on a labelled JSONL corpus ({text, secret, kind, category, source}) and runs secretlint's
 * recommended preset on the same records for comparison. The corpus path is an argument; nothing of it is kept.
 *
 *   npm run eval:redact -- /path/to/dev.jsonl [more.jsonl …] [--misses] [--half inspect|blind]
 *
 * Several files are pooled; every source in them is held out in turn in the leave-one-source-out table. `--half`
 * keeps one half of every source, split by an FNV-1a hash of the text (the split of `eval:screen`): a rule change may
 * be debugged on `inspect` only; `blind` is the half that is only ever scored.
 */
import { readFileSync } from 'node:fs';
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import { z } from 'zod';
import { PII_KINDS, Redactor } from '../src/redact/redact.js';

const RecordSchema = z.object({
  text: z.string(),
  secret: z.boolean(),
  kind: z.string(),
  category: z.string(),
  source: z.string(),
});
type Rec = z.infer<typeof RecordSchema>;

const args = process.argv.slice(2);
const half = args.includes('--half') ? args[args.indexOf('--half') + 1] : undefined;
if (half !== undefined && half !== 'inspect' && half !== 'blind') {
  console.error('--half takes inspect or blind');
  process.exit(2);
}
const paths = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--half');
if (paths.length === 0) {
  console.error('usage: npm run eval:redact -- <corpus.jsonl> [more.jsonl …] [--misses] [--half inspect|blind]');
  process.exit(2);
}
const showMisses = args.includes('--misses');

/** FNV-1a of the text: which half of the split a record falls in (even: inspect, odd: blind), as in eval:screen. */
function halfOf(text: string): 'inspect' | 'blind' {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h & 1 ? 'blind' : 'inspect';
}

const records: Rec[] = [];
for (const path of paths) {
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const parsed = RecordSchema.safeParse(JSON.parse(line));
      if (!parsed.success) {
        console.error(`${path}:${i + 1}: ${parsed.error.issues[0]?.message}`);
        process.exit(2);
      }
      if (half === undefined || halfOf(parsed.data.text) === half) records.push(parsed.data);
    });
}

// Evaluated as a tool argument (the strictest destination): every PII kind, generic tier redacting, and the
// link allowlist a documentation-writing agent would be given.
const ALLOW = ['github.com', 'githubusercontent.com', 'shields.io', 'example.com'];
const redactor = new Redactor({ pii: [...PII_KINDS], allowDomains: ALLOW });
const slConfig = { rules: [{ id: recommended.meta.id, rule: recommended }] };

async function secretlintFlags(text: string): Promise<boolean> {
  const r = await lintSource({
    source: { content: text, filePath: '/eval/input.txt', ext: '.txt', contentType: 'text' },
    options: { config: slConfig },
  });
  return r.messages.length > 0;
}

// The public fixture sets reuse strings across files: the same text can be a true positive of one rule set and a
// false positive of another (a key of kind A in rule B's negatives, a dummy token in both a secretlint `ng` and
// `ok` fixture). No detector can score on both copies, so those records are also reported apart.
const labels = new Map<string, number>();
for (const r of records) labels.set(r.text, (labels.get(r.text) ?? 0) | (r.secret ? 1 : 2));
const conflicting = (r: Rec): boolean => labels.get(r.text) === 3;

interface Tally {
  n: number;
  ours: number;
  peer: number;
  /** Records whose exact text also carries the opposite label, and how many of those we flagged. */
  conflicts: number;
  oursConflicts: number;
  /** Flagged by a secret finding (rule table, generic tier, known secret), PII and URL checks left out. */
  oursSecret: number;
}
const bySource = new Map<string, Tally>();
const byCategory = new Map<string, Tally>();
const misses: string[] = [];
/** Per record: label and whether a secret finding (not PII or a link check) flagged it, for the held-out table. */
const scored: { source: string; secret: boolean; flagged: boolean; fill: boolean }[] = [];
/**
 * A documentation fill-in rather than a token: six or more `x`, `X` or `*` in a row (`AKCxxxxxxxx…`). Some fixture
 * sets label such strings positive, others negative; the detector treats them as placeholders, so the held-out
 * table also shows recall without them. The definition is fixed here and looks only at the text.
 */
const FILL_IN = /x{6,}|X{6,}|\*{6,}/;
let oursMs = 0;
for (const r of records) {
  const t0 = performance.now();
  const findings = redactor.scan(r.text, { destination: 'tool_args' });
  oursMs += performance.now() - t0;
  const ours = findings.length > 0;
  const oursSecret = findings.some((f) => f.category === 'secret' || f.category === 'known_secret');
  // PII and exfiltration records are measured in the tables above; the held-out table is about credentials.
  if (r.category === 'secret' || !r.secret)
    scored.push({ source: r.source, secret: r.secret, flagged: oursSecret, fill: FILL_IN.test(r.text) });
  const peer = await secretlintFlags(r.text);
  const label = r.secret ? 'positive' : 'negative';
  const key = `${label}  ${r.source}`;
  for (const [map, k] of [
    [bySource, key],
    [byCategory, `${label}  ${r.category}${r.secret ? '' : ` / ${r.kind.replace(/^[^/]+\//, '').slice(0, 40)}`}`],
  ] as const) {
    const t = map.get(k) ?? { n: 0, ours: 0, peer: 0, conflicts: 0, oursConflicts: 0, oursSecret: 0 };
    t.n++;
    if (ours) t.ours++;
    if (oursSecret) t.oursSecret++;
    if (peer) t.peer++;
    if (conflicting(r)) {
      t.conflicts++;
      if (ours) t.oursConflicts++;
    }
    map.set(k, t);
  }
  if (showMisses && ours !== r.secret)
    misses.push(
      `${r.secret ? 'MISS' : 'FP  '}${conflicting(r) ? '*' : ' '}[${r.source.slice(0, 12)}] ${r.kind}  ${findings.map((f) => f.kind).join(',')}  ${JSON.stringify(r.text.slice(0, 160))}`,
    );
}

const pct = (a: number, n: number): string => `${((100 * a) / n).toFixed(1)}%`.padStart(7);
function table(title: string, map: Map<string, Tally>): void {
  console.log(`\n${title}`);
  console.log(
    `${'set'.padEnd(78)} ${'n'.padStart(5)}  ${'gatehouse'.padStart(9)}  ${'secretlint'.padStart(10)}  ${'conflicts'.padStart(9)}  ${'gatehouse w/o'.padStart(13)}  ${'secrets only'.padStart(12)}`,
  );
  for (const [k, t] of [...map.entries()].sort()) {
    const clean = t.n - t.conflicts;
    const without = clean > 0 ? pct(t.ours - t.oursConflicts, clean) : '      -';
    console.log(
      `${k.padEnd(78)} ${String(t.n).padStart(5)}  ${pct(t.ours, t.n).padStart(9)}  ${pct(t.peer, t.n).padStart(10)}  ${String(t.conflicts).padStart(9)}  ${without.padStart(13)}  ${pct(t.oursSecret, t.n).padStart(12)}`,
    );
  }
}
/**
 * Leave-one-source-out: the rule table is written from format documentation, not fit to these records, but its
 * authors have seen the public fixture sets. Each fixture source in turn is the held-out set (its recall and its
 * near-miss false-positive rate, secret findings only), beside the same figures pooled over every other source
 * (in-distribution). A source whose held-out recall is far below the pooled one shows tuning to the others.
 */
function leaveOneSourceOut(): void {
  const sources = [...new Set(records.map((r) => r.source))].sort();
  const rate = (rs: { secret: boolean; flagged: boolean }[], positive: boolean): string => {
    const sel = rs.filter((r) => r.secret === positive);
    return sel.length === 0 ? '      -' : pct(sel.filter((r) => r.flagged).length, sel.length);
  };
  console.log('\nleave-one-source-out (secret findings only; recall on positives, FP rate on negatives)');
  console.log(
    `${'held-out source'.padEnd(62)} ${'n'.padStart(5)}  ${'recall'.padStart(7)}  ${'FP'.padStart(7)}  ${'rest recall'.padStart(11)}  ${'rest FP'.padStart(7)}  ${'fill-in pos'.padStart(11)}  ${'recall w/o'.padStart(10)}`,
  );
  for (const src of sources) {
    const held = scored.filter((r) => r.source === src);
    const rest = scored.filter((r) => r.source !== src);
    const fills = held.filter((r) => r.secret && r.fill).length;
    console.log(
      `${src.slice(0, 62).padEnd(62)} ${String(held.length).padStart(5)}  ${rate(held, true)}  ${rate(held, false)}  ${rate(rest, true).padStart(11)}  ${rate(rest, false)}  ${String(fills).padStart(11)}  ${rate(
        held.filter((r) => !r.fill),
        true,
      ).padStart(10)}`,
    );
  }
}

console.log(`files: ${paths.join(', ')}${half ? `; half: ${half} (split by FNV-1a of the text)` : ''}`);
console.log(`allow_domains: ${ALLOW.join(', ')}`);
console.log(
  `records: ${records.length}; rule table ${redactor.engine.version}, ${redactor.engine.stats().rules} rules`,
);
console.log('positive rows: recall (share flagged); negative rows: false-positive rate (share flagged)');
console.log(
  "conflicts: records whose exact text also appears with the opposite label; 'gatehouse w/o': the rate without them",
);
console.log(
  "'secrets only': share flagged by a secret finding alone (PII and link checks, on for every record, left out)",
);
table('by source', bySource);
leaveOneSourceOut();
table('by category (negatives by kind)', byCategory);
console.log(`\ngatehouse scan time: ${oursMs.toFixed(0)} ms for ${records.length} records`);
if (showMisses) for (const m of misses) console.log(m);
