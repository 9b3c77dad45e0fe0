/**
 * Trains the screening model (src/screen/model.ts): L2-regularised logistic regression over hashed
 * character n-grams of the canonical view plus the rule engine's output, by SGD in a fixed,
 * seeded order, so the same rows always give bit-identical weights.
 *
 *   npm run train:screen -- PATH --out WEIGHTS.json
 *
 * PATH is a JSONL file of {text, label, source, group}. The weights file holds numbers only: hashed
 * n-gram buckets carry no text. Report quality leave-source-out (scripts/eval-screen.ts), never on
 * the rows trained on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { normalize } from '../src/screen/normalize.js';
import { WINDOW_CHARS } from '../src/screen/score.js';
import { Screener, type ScreenOptions } from '../src/screen/screener.js';
import { DENSE_FEATURES, denseFeatures, type ModelWeights, type RuleFeatures, windowFeatures } from './screen-model.js';

export const Row = z.object({
  text: z.string(),
  label: z.union([z.literal(0), z.literal(1)]),
  source: z.string().min(1),
  group: z.string().min(1),
});
export type Row = z.infer<typeof Row>;

/** Reads a labelled JSONL file; a bad line is an error naming the file and line. */
export function readRows(path: string): Row[] {
  const rows: Row[] = [];
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (!line.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not JSON: ${(e as Error).message}`);
    }
    const parsed = Row.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${path}:${i + 1}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    rows.push(parsed.data);
  }
  return rows;
}

/** What the model sees of one text: the screener's canonical view and its public result. */
export interface Observed {
  canonical: string;
  rules: RuleFeatures;
}

/** Runs the rule engine on `text`, as the screener does before the model. */
export function observe(screener: Screener, text: string, opts: ScreenOptions = {}): Observed {
  const r = screener.screen(text, opts);
  return { canonical: normalize(text).views[0]!.text, rules: { score: r.score, findings: r.findings } };
}

export interface TrainOptions {
  bits: number;
  epochs: number;
  /** L2 strength per example. */
  lambda: number;
  lr: number;
  seed: number;
  /** False trains on the rule features alone (the n-gram table stays zero): the ablation eval-screen reports. */
  ngrams: boolean;
}

export const DEFAULTS: TrainOptions = { bits: 16, epochs: 8, lambda: 1e-4, lr: 0.2, seed: 20261206, ngrams: true };

/**
 * Groups left out of training. BIPIA's indirect attacks are its benign contexts with one ordinary-looking
 * request inserted ("recommend a book"): as positives they teach the model that documents are attacks.
 * Tool-call authorisation covers them, not the text detector (eval README).
 */
export const UNTRAINED_GROUPS: ReadonlySet<string> = new Set(['indirect_bipia']);

interface Example {
  idx: Int32Array;
  val: Float32Array;
  dense: Float64Array;
  y: number;
  w: number;
}

/** mulberry32: a small seeded generator, so the SGD order is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One example per window of each row. Classes weigh the same in total; within a class each source
 * weighs as the square root of its size, so one large source cannot define the class.
 */
function examples(rows: readonly Row[], seen: readonly Observed[], bits: number, ngrams: boolean): Example[] {
  const bySource = new Map<string, number>();
  for (const r of rows)
    bySource.set(`${r.label}\u0000${r.source}`, (bySource.get(`${r.label}\u0000${r.source}`) ?? 0) + 1);
  const classMass = [0, 0];
  for (const [k, n] of bySource) classMass[Number(k[0])]! += Math.sqrt(n);
  const out: Example[] = [];
  rows.forEach((r, i) => {
    const n = bySource.get(`${r.label}\u0000${r.source}`)!;
    const rowWeight = rows.length / 2 / classMass[r.label]! / Math.sqrt(n);
    const o = seen[i]!;
    const dense = denseFeatures(o.rules);
    const windows = ngrams ? windowFeatures(o.canonical, bits) : [new Map<number, number>()];
    for (const m of windows) {
      const keys = [...m.keys()].sort((a, b) => a - b);
      out.push({
        idx: Int32Array.from(keys),
        val: Float32Array.from(keys, (k) => m.get(k)!),
        dense,
        y: r.label,
        w: rowWeight / windows.length,
      });
    }
  });
  return out;
}

/** Logistic regression by SGD with a decaying step and lazily applied L2 (weights = scale × v). */
export function train(all: readonly Row[], observed: readonly Observed[], opts: TrainOptions = DEFAULTS): ModelWeights {
  if (all.length !== observed.length) throw new Error('train: rows and observations differ in length');
  const keep = [...all.keys()].filter((i) => !UNTRAINED_GROUPS.has(all[i]!.group));
  const rows = keep.map((i) => all[i]!);
  const seen = keep.map((i) => observed[i]!);
  const labels = new Set(rows.map((r) => r.label));
  if (labels.size !== 2) throw new Error('train: need both benign (0) and attack (1) rows');
  const ex = examples(rows, seen, opts.bits, opts.ngrams);
  const v = new Float64Array(1 << opts.bits);
  let scale = 1;
  const dense = new Float64Array(DENSE_FEATURES.length);
  let bias = 0;
  const next = rng(opts.seed);
  const order = Int32Array.from(ex.keys());
  let t = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    for (const k of order) {
      const e = ex[k]!;
      const lr = opts.lr / (1 + opts.lr * opts.lambda * t++);
      let z = bias;
      for (let i = 0; i < e.idx.length; i++) z += scale * v[e.idx[i]!]! * e.val[i]!;
      for (let i = 0; i < dense.length; i++) z += dense[i]! * e.dense[i]!;
      const p = 1 / (1 + Math.exp(-z));
      const g = (p - e.y) * e.w;
      scale *= 1 - lr * opts.lambda;
      const step = (lr * g) / scale;
      for (let i = 0; i < e.idx.length; i++) v[e.idx[i]!]! -= step * e.val[i]!;
      for (let i = 0; i < dense.length; i++) dense[i]! -= lr * (g * e.dense[i]! + opts.lambda * dense[i]!);
      bias -= lr * g;
      if (scale < 1e-6) {
        for (let i = 0; i < v.length; i++) v[i]! *= scale;
        scale = 1;
      }
    }
  }
  let maxAbs = 0;
  for (let i = 0; i < v.length; i++) maxAbs = Math.max(maxAbs, Math.abs(v[i]! * scale));
  const q = maxAbs > 0 ? maxAbs / 32767 : 1;
  const buf = Buffer.alloc(2 << opts.bits);
  for (let i = 0; i < v.length; i++) buf.writeInt16LE(Math.round((v[i]! * scale) / q), 2 * i);
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    version: 1,
    bits: opts.bits,
    minN: 3,
    maxN: 5,
    window: WINDOW_CHARS,
    bias: round(bias),
    dense: Object.fromEntries(DENSE_FEATURES.map((n, i) => [n, round(dense[i]!)])),
    scale: q,
    ngrams: buf.toString('base64'),
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const path = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--out');
  if (!path || !out) {
    console.error('usage: train-screen PATH --out WEIGHTS.json');
    process.exit(2);
  }
  const rows = readRows(path);
  const screener = new Screener();
  const seen = rows.map((r) => observe(screener, r.text));
  const w = train(rows, seen);
  writeFileSync(out, `${JSON.stringify(w)}\n`);
  const trained = rows.filter((r) => !UNTRAINED_GROUPS.has(r.group)).length;
  console.log(`trained on ${trained} of ${rows.length} rows; wrote ${out} (${w.bits}-bit table, bias ${w.bias})`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
