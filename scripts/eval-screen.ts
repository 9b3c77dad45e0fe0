/**
 * Measures injection screening on a labelled JSONL file ({text, label, source, group}).
 *
 *   npm run eval:screen -- PATH [--config gatehouse.yaml] [--leave-source-out] [--no-obfuscation] [--limit N]
 *
 * Prints per group TPR or FPR at the configured thresholds and TPR at 1 % FPR from a score sweep,
 * then the obfuscation suite: each transform applied to the detected attacks, with the share still
 * detected. Evaluation data is read from the path given and never copied into the project.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadConfigFile } from '../src/config/load.js';
import { ScreeningSchema } from '../src/config/sections/screening.js';
import { rot13 } from '../src/screen/decode.js';
import { Screener } from '../src/screen/screener.js';

const Row = z.object({
  text: z.string(),
  label: z.union([z.literal(0), z.literal(1)]),
  source: z.string(),
  group: z.string(),
});
type Row = z.infer<typeof Row>;

const args = process.argv.slice(2);
const path = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--config' && args[i - 1] !== '--limit');
if (!path) {
  console.error('usage: eval-screen PATH [--config FILE] [--leave-source-out] [--no-obfuscation] [--limit N]');
  process.exit(2);
}
const configFile = args.includes('--config') ? args[args.indexOf('--config') + 1] : undefined;
const screening = configFile ? loadConfigFile(configFile).screening : ScreeningSchema.parse({});
const limit = args.includes('--limit') ? Number(args[args.indexOf('--limit') + 1]) : Number.POSITIVE_INFINITY;
const { block_at: blockAt, review_at: reviewAt } = screening;

/** Benign groups the 1 % FPR operating point is calibrated on; system prompts are reported separately (target 2 %). */
const CALIBRATION = ['benign_documents', 'hard_negative_notinject', 'benign_instructions'];
const TARGET_ATTACKS = ['direct_hijack_extraction', 'jailbreak_in_the_wild', 'jailbreak_dan'];

const rows: Row[] = [];
for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
  if (!line.trim()) continue;
  const parsed = Row.safeParse(JSON.parse(line));
  if (!parsed.success) {
    console.error(`${path}:${i + 1}: ${parsed.error.issues[0]?.message}`);
    process.exit(2);
  }
  if (rows.length < limit) rows.push(parsed.data);
}

const screener = new Screener();
const opts = { blockAt, reviewAt };
const t0 = performance.now();
const scored = rows.map((r) => ({ ...r, score: screener.screen(r.text, opts).score }));
const ms = performance.now() - t0;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const share = (xs: readonly { score: number }[], thr: number) =>
  xs.length ? xs.filter((x) => x.score >= thr).length / xs.length : Number.NaN;

/** Lowest threshold whose FPR on `negatives` is at most `fpr` (scores are discrete, so sweep them). */
function thresholdAt(negatives: readonly { score: number }[], fpr: number): number {
  const cands = [...new Set([...negatives.map((n) => n.score), 0])].map((s) => s + 0.05).sort((a, b) => a - b);
  for (const t of cands) if (share(negatives, t) <= fpr) return Math.round(t * 100) / 100;
  return 10.05;
}

const groups = [...new Set(scored.map((r) => r.group))].sort();
const negatives = scored.filter((r) => CALIBRATION.includes(r.group) && r.label === 0);
const thr1 = thresholdAt(negatives, 0.01);
const thrBoth = Math.max(
  thr1,
  thresholdAt(
    scored.filter((r) => r.group === 'hard_negative_system_prompts'),
    0.02,
  ),
);

console.log(
  `screened ${scored.length} rows in ${(ms / 1000).toFixed(1)} s (${(ms / scored.length).toFixed(2)} ms/row)`,
);
console.log(
  `thresholds: review_at ${reviewAt}, block_at ${blockAt}; 1 % FPR operating point (on ${CALIBRATION.join(' + ')}): score >= ${thr1}`,
);
console.log(
  `operating point meeting both FPR targets (<= 1 % on that pool, <= 2 % on hard_negative_system_prompts): score >= ${thrBoth}\n`,
);
const header = [
  'group',
  'label',
  'n',
  `>=review(${reviewAt})`,
  `>=block(${blockAt})`,
  `@1%FPR(>=${thr1})`,
  `@targets(>=${thrBoth})`,
];
const table: string[][] = [];
for (const g of groups) {
  const xs = scored.filter((r) => r.group === g);
  const label = xs[0]!.label;
  table.push([
    g,
    label ? 'attack (TPR)' : 'benign (FPR)',
    String(xs.length),
    pct(share(xs, reviewAt)),
    pct(share(xs, blockAt)),
    pct(share(xs, thr1)),
    pct(share(xs, thrBoth)),
  ]);
}
const attacks = scored.filter((r) => TARGET_ATTACKS.includes(r.group));
const sysprompts = scored.filter((r) => r.group === 'hard_negative_system_prompts');
table.push([
  'TARGET attacks (TPR)',
  'attack',
  String(attacks.length),
  pct(share(attacks, reviewAt)),
  pct(share(attacks, blockAt)),
  pct(share(attacks, thr1)),
  pct(share(attacks, thrBoth)),
]);
table.push([
  'TARGET benign pool (FPR)',
  'benign',
  String(negatives.length),
  pct(share(negatives, reviewAt)),
  pct(share(negatives, blockAt)),
  pct(share(negatives, thr1)),
  pct(share(negatives, thrBoth)),
]);
table.push([
  'TARGET system prompts (FPR)',
  'benign',
  String(sysprompts.length),
  pct(share(sysprompts, reviewAt)),
  pct(share(sysprompts, blockAt)),
  pct(share(sysprompts, thr1)),
  pct(share(sysprompts, thrBoth)),
]);
printTable(header, table);

if (args.includes('--leave-source-out')) {
  console.log('\nleave-source-out: the detector has no learned component (rules and weights are fixed), so only the');
  console.log('operating point is fitted. Each source is held out in turn: the 1 % FPR threshold is chosen on the');
  console.log('benign calibration rows of the other sources and applied to the held-out source.\n');
  const sources = [...new Set(scored.map((r) => r.source))].sort();
  const lso: string[][] = [];
  for (const s of sources) {
    const held = scored.filter((r) => r.source === s);
    const thr = thresholdAt(
      negatives.filter((r) => r.source !== s),
      0.01,
    );
    lso.push([
      s.slice(0, 60),
      held[0]!.label ? 'TPR' : 'FPR',
      String(held.length),
      String(thr),
      pct(share(held, thr)),
      pct(share(held, blockAt)),
    ]);
  }
  printTable(['held-out source', 'metric', 'n', 'thr@1%FPR', 'rate@thr', `rate@block(${blockAt})`], lso);
}

// The transforms of the obfuscation suite (research note section 2), written independently of the normaliser.
const HOMOGLYPHS: Record<string, string> = {
  a: 'а',
  c: 'с',
  e: 'е',
  o: 'о',
  p: 'р',
  x: 'х',
  y: 'у',
  i: 'і',
  s: 'ѕ',
  j: 'ј',
  A: 'А',
  B: 'В',
  C: 'С',
  E: 'Е',
  H: 'Н',
  K: 'К',
  M: 'М',
  O: 'О',
  P: 'Р',
  T: 'Т',
  X: 'Х',
};
const LEET: Record<string, string> = {
  a: '4',
  e: '3',
  i: '1',
  o: '0',
  s: '5',
  t: '7',
  A: '4',
  E: '3',
  I: '1',
  O: '0',
  S: '5',
  T: '7',
};
const TRANSFORMS: Record<string, (t: string) => string> = {
  'zero-width': (t) => [...t].join('\u200b'),
  'tag smuggling': (t) =>
    `Hi! ${[...t].map((c) => (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f ? String.fromCodePoint(0xe0000 + c.charCodeAt(0)) : c)).join('')}`,
  homoglyphs: (t) => [...t].map((c) => HOMOGLYPHS[c] ?? c).join(''),
  fullwidth: (t) =>
    [...t]
      .map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c === ' ' ? '\u3000' : c))
      .join(''),
  leet: (t) => [...t].map((c) => LEET[c] ?? c).join(''),
  'letter spacing': (t) =>
    t
      .split(/\s+/)
      .map((w) => [...w].join(' '))
      .join('   '),
  base64: (t) => Buffer.from(t, 'utf8').toString('base64'),
  rot13: (t) => rot13(t),
};

if (!args.includes('--no-obfuscation')) {
  const detected = scored.filter((r) => r.label === 1 && r.score >= blockAt);
  console.log(
    `\nobfuscation suite: ${detected.length} attacks detected at block_at ${blockAt}; share still blocked after each transform`,
  );
  const obf: string[][] = [];
  for (const [name, fn] of Object.entries(TRANSFORMS)) {
    let kept = 0;
    let keptReview = 0;
    for (const r of detected) {
      const s = screener.screen(fn(r.text), opts).score;
      if (s >= blockAt) kept++;
      if (s >= reviewAt) keptReview++;
    }
    obf.push([name, String(detected.length), pct(kept / detected.length), pct(keptReview / detected.length)]);
  }
  printTable(['transform', 'n', 'still blocked', 'still >= review'], obf);
}

function printTable(head: string[], body: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
  console.log(line(head));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of body) console.log(line(r));
}
