/**
 * A deterministic linear model over hashed character n-grams plus the rule engine's own output,
 * scored per window like the rules so a long document cannot dilute an attack. Pure and linear in
 * the input: one pass hashes every 3..5-gram into a fixed table of learned weights; no model call,
 * no network. Weights come from `scripts/train-screen.ts` as JSON (hashed buckets, no text); none ship
 * with the screener, because none has yet beaten the rules on held-out sources (eval-screen.ts).
 */
import { z } from 'zod';
import { GatehouseError } from '../src/core/errors.js';
import { CONFUSABLES } from '../src/screen/confusables.js';
import { WINDOW_CHARS } from '../src/screen/score.js';
import { CATEGORIES, type Category } from '../src/screen/types.js';

/** The weights do not parse or do not fit this code's feature layout. */
export class ModelError extends GatehouseError {
  constructor(message: string) {
    super('screen.model_invalid', message);
  }
}

export const MIN_N = 3;
export const MAX_N = 5;
const STRIDE = WINDOW_CHARS / 2;

/** Names of the rule features, in vector order. The weights file carries one weight per name. */
export const DENSE_FEATURES: readonly string[] = [
  'rule.score',
  'rule.count',
  ...CATEGORIES.map((c) => `category.${c}`),
];

/** What the rule engine reported for the same text: its public score and findings. */
export interface RuleFeatures {
  /** The screener's 0..10 score. */
  score: number;
  findings: readonly { rule: string; category: Category; score: number }[];
}

export interface ModelContribution {
  /** `ngram:"…"` (a 3..5-character piece of the folded input) or a rule feature name. */
  feature: string;
  /** What the feature added to the logit of the best window. */
  weight: number;
}

export interface ModelResult {
  /** 0..10: ten times the logistic of the best window's logit (class-balanced training, so 5 is even odds). */
  score: number;
  logit: number;
  /** The features that pushed the best window towards injection, strongest first. */
  features: ModelContribution[];
}

export interface ExplainOptions {
  /** How many contributions to return (default 8; 0 for none). */
  top?: number;
  /** Explain only at or above this score: explanations cost about twice the scoring itself. */
  minScore?: number;
}

const WeightsSchema = z
  .object({
    version: z.literal(1),
    bits: z.number().int().min(10).max(24),
    minN: z.literal(MIN_N),
    maxN: z.literal(MAX_N),
    window: z.literal(WINDOW_CHARS),
    bias: z.number().finite(),
    dense: z.record(z.string(), z.number().finite()),
    /** Little-endian int16 per bucket, base64; the weight is value × scale. */
    scale: z.number().positive().finite(),
    ngrams: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
  })
  .strict();
export type ModelWeights = z.infer<typeof WeightsSchema>;

/** Lower case, Latin skeleton for look-alike letters, every whitespace run one space: as UTF-16 units. */
export function fold(text: string): Uint16Array {
  const lower = text.toLowerCase();
  const out = new Uint16Array(lower.length);
  let n = 0;
  let space = true;
  for (let i = 0; i < lower.length; i++) {
    let c = lower.charCodeAt(i);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x3000) {
      if (space) continue;
      space = true;
      out[n++] = 0x20;
      continue;
    }
    space = false;
    const skel = c >= 0x80 ? CONFUSABLES.get(c) : undefined;
    if (skel !== undefined && skel.length === 1) c = skel.toLowerCase().charCodeAt(0);
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/**
 * Calls `visit(bucket, start, length)` for every 3..5-gram of `units`, in order. FNV-1a over the
 * code units, extended one unit at a time, then mixed so low bits depend on every unit.
 */
export function forEachNgram(
  units: Uint16Array,
  bits: number,
  visit: (bucket: number, start: number, length: number) => void,
): void {
  const mask = (1 << bits) - 1;
  const len = units.length;
  for (let i = 0; i + MIN_N <= len; i++) {
    let h = 0x811c9dc5;
    const end = Math.min(len, i + MAX_N);
    for (let j = i; j < end; j++) {
      h = Math.imul(h ^ units[j]!, 0x01000193);
      if (j - i + 1 >= MIN_N) {
        let m = h ^ (h >>> 15);
        m = Math.imul(m, 0x2c1b3c6d);
        m ^= m >>> 12;
        visit(m & mask, i, j - i + 1);
      }
    }
  }
}

/** Window k covers blocks k and k+1 (of STRIDE units each); a text shorter than one block is one window. */
export function windowCount(units: number): number {
  return Math.max(1, Math.ceil(units / STRIDE) - 1);
}

/** The rule features as a vector in DENSE_FEATURES order. */
export function denseFeatures(rules: RuleFeatures): Float64Array {
  if (!Number.isFinite(rules.score)) throw new ModelError('rule features: score must be a finite number');
  const v = new Float64Array(DENSE_FEATURES.length);
  v[0] = Math.min(10, Math.max(0, rules.score)) / 10;
  const distinct = new Set<string>();
  for (const f of rules.findings) {
    distinct.add(f.rule);
    const k = 2 + CATEGORIES.indexOf(f.category);
    if (k < 2) throw new ModelError(`rule features: unknown category ${JSON.stringify(f.category)}`);
    v[k] = Math.max(v[k]!, Math.min(10, Math.max(0, f.score)) / 10);
  }
  v[1] = Math.min(distinct.size, 8) / 8;
  return v;
}

/**
 * The n-gram features of each window as sparse bucket → value maps, value = count / √(n-grams in
 * the window). Training uses this; scoring computes the same sums without building maps.
 */
export function windowFeatures(text: string, bits: number): Map<number, number>[] {
  const units = fold(text);
  const blocks = Math.max(1, Math.ceil(units.length / STRIDE));
  const perBlock: Map<number, number>[] = Array.from({ length: blocks }, () => new Map());
  forEachNgram(units, bits, (b, start) => {
    const m = perBlock[Math.floor(start / STRIDE)]!;
    m.set(b, (m.get(b) ?? 0) + 1);
  });
  const out: Map<number, number>[] = [];
  for (let w = 0; w < windowCount(units.length); w++) {
    const merged = new Map(perBlock[w]);
    for (const [b, c] of perBlock[w + 1] ?? []) merged.set(b, (merged.get(b) ?? 0) + c);
    let total = 0;
    for (const c of merged.values()) total += c;
    const norm = total > 0 ? 1 / Math.sqrt(total) : 0;
    for (const [b, c] of merged) merged.set(b, c * norm);
    out.push(merged);
  }
  return out;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** A loaded weight table. Construct once; `score` allocates only small per-call arrays. */
export class ScreenModel {
  readonly bits: number;
  private readonly table: Float32Array;
  private readonly bias: number;
  private readonly dense: Float64Array;
  /** Scratch for explanations, all zero between calls. */
  private readonly sums: Float64Array;
  private readonly seen: Uint8Array;

  constructor(weights: unknown) {
    const parsed = WeightsSchema.safeParse(weights);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ModelError(`screening model weights: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    const w = parsed.data;
    const names = Object.keys(w.dense).sort();
    const expected = [...DENSE_FEATURES].sort();
    if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
      throw new ModelError(`screening model weights: dense features must be exactly ${DENSE_FEATURES.join(', ')}`);
    }
    const raw = Buffer.from(w.ngrams, 'base64');
    if (raw.length !== 2 << w.bits) {
      throw new ModelError(`screening model weights: ngrams holds ${raw.length} bytes, expected ${2 << w.bits}`);
    }
    this.bits = w.bits;
    this.table = new Float32Array(1 << w.bits);
    for (let i = 0; i < this.table.length; i++) this.table[i] = raw.readInt16LE(2 * i) * w.scale;
    this.bias = w.bias;
    this.dense = Float64Array.from(DENSE_FEATURES, (n) => w.dense[n]!);
    this.sums = new Float64Array(1 << w.bits);
    this.seen = new Uint8Array(1 << w.bits);
  }

  /**
   * Scores `text` (the screener's canonical view) together with the rule engine's output for it.
   * @example
   * const model = new ScreenModel(JSON.parse(readFileSync('weights.json', 'utf8')));
   * const r = screener.screen(text);
   * model.score(canonicalView, r).features; // [{ feature: 'ngram:"gnore"', weight: 0.41 }, …]
   */
  score(text: string, rules: RuleFeatures, opts: ExplainOptions = {}): ModelResult {
    const top = opts.top ?? 8;
    if (typeof text !== 'string') throw new ModelError('text must be a string');
    const dv = denseFeatures(rules);
    let base = this.bias;
    for (let i = 0; i < dv.length; i++) base += dv[i]! * this.dense[i]!;
    const units = fold(text);
    const blocks = Math.max(1, Math.ceil(units.length / STRIDE));
    const sums = new Float64Array(blocks);
    const counts = new Float64Array(blocks);
    const { table } = this;
    forEachNgram(units, this.bits, (b, start) => {
      const k = Math.floor(start / STRIDE);
      sums[k]! += table[b]!;
      counts[k]! += 1;
    });
    let best = 0;
    let bestZ = Number.NEGATIVE_INFINITY;
    for (let w = 0; w < windowCount(units.length); w++) {
      const n = counts[w]! + (counts[w + 1] ?? 0);
      const z = base + (n > 0 ? (sums[w]! + (sums[w + 1] ?? 0)) / Math.sqrt(n) : 0);
      if (z > bestZ) {
        bestZ = z;
        best = w;
      }
    }
    // Not rounded: attacks crowd near 10, and rounding there would merge scores a threshold must separate.
    const score = 10 * sigmoid(bestZ);
    const explain = top > 0 && score >= (opts.minScore ?? 0);
    return { score, logit: bestZ, features: explain ? this.explain(units, best, dv, top) : [] };
  }

  /**
   * The strongest positive contributions in window `w`: n-grams summed per bucket, and rule features.
   * Sums go into reused scratch arrays and only the winners' n-gram text is materialised.
   */
  private explain(units: Uint16Array, w: number, dv: Float64Array, k: number): ModelContribution[] {
    const lo = w * STRIDE;
    const slice = units.subarray(lo, Math.min(units.length, lo + 2 * STRIDE + MAX_N - 1));
    const starts = Math.min(slice.length, 2 * STRIDE);
    const { sums, seen, table } = this;
    const touched: number[] = [];
    let n = 0;
    forEachNgram(slice, this.bits, (b, start) => {
      if (start >= starts) return;
      n++;
      if (seen[b] === 0) {
        seen[b] = 1;
        touched.push(b);
      }
      sums[b]! += table[b]!;
    });
    const norm = n > 0 ? 1 / Math.sqrt(n) : 0;
    // Top k by insertion into a short sorted list: O(touched × k), cheaper than sorting every bucket.
    const top: number[] = [];
    for (const b of touched) {
      const v = sums[b]!;
      if (v <= 0 || (top.length === k && v <= sums[top[k - 1]!]!)) continue;
      let i = top.length === k ? k - 1 : top.length;
      while (i > 0 && sums[top[i - 1]!]! < v) {
        top[i] = top[i - 1]!;
        i--;
      }
      top[i] = b;
    }
    const out: ModelContribution[] = [];
    const texts = new Map<number, string>();
    const wanted = new Set(top);
    forEachNgram(slice, this.bits, (b, start, length) => {
      if (start < starts && wanted.has(b) && !texts.has(b)) {
        texts.set(b, String.fromCharCode(...slice.subarray(start, start + length)));
      }
    });
    for (const b of top) out.push({ feature: `ngram:${JSON.stringify(texts.get(b))}`, weight: sums[b]! * norm });
    for (const b of touched) {
      sums[b] = 0;
      seen[b] = 0;
    }
    DENSE_FEATURES.forEach((name, i) => {
      const c = dv[i]! * this.dense[i]!;
      if (c > 0) out.push({ feature: name, weight: c });
    });
    out.sort((a, b) => b.weight - a.weight || (a.feature < b.feature ? -1 : 1));
    return out.slice(0, k).map((c) => ({ feature: c.feature, weight: Math.round(c.weight * 1000) / 1000 }));
  }
}
