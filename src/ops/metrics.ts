/**
 * Evaluation and calibration arithmetic over plain arrays: accuracy, per-class precision /
 * recall / F1, the confusion matrix, log loss, expected calibration error with its bins,
 * abstention, temperature scaling and the choice of an abstention threshold. No tfjs and no
 * DOM: the page computes these from the raw outputs the engine returns, and unit tests
 * check them in node.
 *
 * Conventions, stated once:
 * - Classes are indices `0..k-1`. A label of -1 means unlabelled: the item is counted but
 *   left out of every metric.
 * - The predicted class of an item is its arg max (top-1), whatever the abstention
 *   threshold says; abstention is reported apart (`abstainRate`, `answeredAccuracy`).
 * - Rows of the confusion matrix are true classes, columns predicted classes.
 * - Logits: the output of a head whose activation is `'softmax'` is taken as logits; a head
 *   whose activation is `'none'` outputs probabilities already, and `log p` is taken as its
 *   logits (softmax(log p / T) is then softmax(z / T) for the logits z behind p).
 */
import { InputError } from '../errors.js';
import type { Activation } from '../types.js';
import { confidenceBin } from './drift.js';

/** Probabilities are clamped to this before a log, as the postprocess does. */
export const LOG_EPS = 1e-30;

/** One bin of a reliability diagram: items whose top-1 confidence lies in `[lower, upper)` (the last bin holds 1). */
export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean top-1 confidence of its items; NaN when it is empty. */
  confidence: number;
  /** Share of its items whose top-1 class is right; NaN when it is empty. */
  accuracy: number;
}

/** Metrics of one class. Undefined ratios (0/0) are NaN, not 0. */
export interface ClassMetrics {
  label: string | null;
  index: number;
  precision: number;
  recall: number;
  f1: number;
  /** Labelled items of this class. */
  support: number;
}

/** What `evaluate` reports for one head (and for each slice). Undefined values are NaN. */
export interface HeadMetrics {
  /** Items seen, labelled or not. */
  count: number;
  /** Items with a label. */
  labelled: number;
  /** Share of labelled items whose top-1 class is the label. */
  accuracy: number;
  /** Mean negative log-likelihood of the labels, in nats. */
  logLoss: number;
  /** Expected calibration error over `bins`. */
  ece: number;
  /** Share of all items (labelled or not) whose top-1 confidence is under the threshold. */
  abstainRate: number;
  /** Accuracy over the labelled items the model answered (not abstained). */
  answeredAccuracy: number;
  /** The threshold abstention was judged at. */
  threshold: number;
  perClass: ClassMetrics[];
  /** `confusion[true][predicted]` over labelled items. */
  confusion: number[][];
  /** The reliability diagram (labelled items). */
  bins: CalibrationBin[];
  /** Macro averages over the classes where each is defined. */
  macro: { precision: number; recall: number; f1: number };
}

/** Whether a label counts: a class index, not -1. */
export function isLabelled(y: number): boolean {
  return Number.isInteger(y) && y >= 0;
}

/** Index of the largest value (the first one on ties); -1 for an empty row. */
export function argmax(row: ArrayLike<number>): number {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if ((row[i] as number) > max) {
      max = row[i] as number;
      best = i;
    }
  }
  return best;
}

/**
 * The logits of a head's raw output row: the row itself for `'softmax'`, `log p` for
 * `'none'` (probabilities). `'sigmoid'` heads are multi-label and have none (undefined).
 */
export function toLogits(row: ArrayLike<number>, activation: Activation): Float64Array | undefined {
  if (activation === 'softmax') return Float64Array.from(row);
  if (activation === 'none') return Float64Array.from(row, (p) => Math.log(Math.max(p, LOG_EPS)));
  return undefined;
}

/** log softmax(z / T), with a log-sum-exp so that tiny probabilities stay finite. */
export function logSoftmax(z: ArrayLike<number>, temperature = 1): Float64Array {
  const out = new Float64Array(z.length);
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) max = Math.max(max, (z[i] as number) / temperature);
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += Math.exp((z[i] as number) / temperature - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < z.length; i++) out[i] = (z[i] as number) / temperature - lse;
  return out;
}

/**
 * The reliability diagram and expected calibration error (Guo et al., 2017): `bins`
 * equal-width bins of top-1 confidence, ECE = sum over bins of (n_b / N) * |accuracy_b - confidence_b|.
 * NaN for no item.
 */
export function reliability(confidence: ArrayLike<number>, correct: ArrayLike<boolean>, bins = 10): { ece: number; bins: CalibrationBin[] } {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new InputError(`bins must be a whole number >= 1, got ${bins}`);
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const okSum = new Array<number>(bins).fill(0);
  const n = confidence.length;
  for (let i = 0; i < n; i++) {
    const c = confidence[i] as number;
    const b = confidenceBin(c, bins);
    count[b]!++;
    confSum[b]! += c;
    if (correct[i]) okSum[b]!++;
  }
  let ece = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const k = count[b] as number;
    const conf = k ? (confSum[b] as number) / k : NaN;
    const acc = k ? (okSum[b] as number) / k : NaN;
    if (k) ece += (k / n) * Math.abs(acc - conf);
    out.push({ lower: b / bins, upper: (b + 1) / bins, count: k, confidence: conf, accuracy: acc });
  }
  return { ece: n ? ece : NaN, bins: out };
}

/**
 * Every metric of one head.
 * @param probs one row of class probabilities per item (the head's activation applied)
 * @param labels the true class per item, -1 for unlabelled
 * @param opts `logProbs`: exact log-probabilities per item for the log loss (default
 *   `log max(p, 1e-30)`); `threshold`: abstention level (default 0); `classNames` by index;
 *   `bins`: default 10
 */
export function evaluateHead(
  probs: readonly ArrayLike<number>[],
  labels: readonly number[],
  opts: { logProbs?: readonly ArrayLike<number>[]; threshold?: number; classNames?: readonly string[]; bins?: number } = {},
): HeadMetrics {
  if (probs.length !== labels.length) throw new InputError(`${probs.length} rows of probabilities but ${labels.length} labels`);
  const threshold = opts.threshold ?? 0;
  const k = probs.reduce((m, r) => Math.max(m, r.length), opts.classNames?.length ?? 0);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const confidence: number[] = [];
  const correct: boolean[] = [];
  let labelled = 0;
  let right = 0;
  let abstained = 0;
  let answered = 0;
  let answeredRight = 0;
  let nll = 0;
  for (let i = 0; i < probs.length; i++) {
    const row = probs[i] as ArrayLike<number>;
    const top = argmax(row);
    const conf = top >= 0 ? (row[top] as number) : 0;
    const abstain = top < 0 || conf < threshold;
    if (abstain) abstained++;
    const y = labels[i] as number;
    if (!isLabelled(y)) continue;
    if (y >= k) throw new InputError(`label ${y} is out of range for ${k} classes`);
    labelled++;
    const ok = top === y;
    if (ok) right++;
    if (!abstain) {
      answered++;
      if (ok) answeredRight++;
    }
    if (top >= 0) confusion[y]![top]!++;
    confidence.push(conf);
    correct.push(ok);
    const lp = opts.logProbs?.[i]?.[y] ?? Math.log(Math.max((row[y] as number) ?? 0, LOG_EPS));
    nll -= lp;
  }
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]![c] as number;
    let predicted = 0;
    for (let r = 0; r < k; r++) predicted += confusion[r]![c] as number;
    const support = (confusion[c] as number[]).reduce((a, b) => a + b, 0);
    const precision = predicted === 0 ? NaN : tp / predicted;
    const recall = support === 0 ? NaN : tp / support;
    const f1 = Number.isNaN(precision) || Number.isNaN(recall) ? NaN : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass.push({ label: opts.classNames?.[c] ?? null, index: c, precision, recall, f1, support });
  }
  const mean = (key: 'precision' | 'recall' | 'f1') => {
    const v = perClass.map((c) => c[key]).filter((x) => !Number.isNaN(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  };
  const rel = reliability(confidence, correct, opts.bins ?? 10);
  return {
    count: probs.length,
    labelled,
    accuracy: labelled ? right / labelled : NaN,
    logLoss: labelled ? nll / labelled : NaN,
    ece: rel.ece,
    abstainRate: probs.length ? abstained / probs.length : NaN,
    answeredAccuracy: answered ? answeredRight / answered : NaN,
    threshold,
    perClass,
    confusion,
    bins: rel.bins,
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
  };
}

/** Mean negative log-likelihood of the labelled items under softmax(z / T), in nats; NaN with none. */
export function nllAt(logits: readonly ArrayLike<number>[], labels: readonly number[], temperature = 1): number {
  let total = 0;
  let n = 0;
  for (let i = 0; i < logits.length; i++) {
    const y = labels[i] as number;
    if (!isLabelled(y)) continue;
    total -= logSoftmax(logits[i] as ArrayLike<number>, temperature)[y] as number;
    n++;
  }
  return n ? total / n : NaN;
}

/** ECE of the labelled items under softmax(z / T). */
export function eceAt(logits: readonly ArrayLike<number>[], labels: readonly number[], temperature = 1, bins = 10): number {
  const confidence: number[] = [];
  const correct: boolean[] = [];
  for (let i = 0; i < logits.length; i++) {
    const y = labels[i] as number;
    if (!isLabelled(y)) continue;
    const lp = logSoftmax(logits[i] as ArrayLike<number>, temperature);
    const top = argmax(lp);
    confidence.push(Math.exp(lp[top] as number));
    correct.push(top === y);
  }
  return reliability(confidence, correct, bins).ece;
}

/**
 * Why a temperature fit has no finite answer:
 * - `NO_FINITE_TEMPERATURE`: the NLL keeps falling as T goes to 0 (every labelled item's
 *   label is its top-1 class: sharpening without end only helps) or as T grows without
 *   bound (the labels score below the average class: the model knows less than chance).
 * - `NO_LABELLED_SAMPLES`: nothing to fit on.
 * - `UNSUPPORTED_ACTIVATION`: a sigmoid (multi-label) head; temperature scaling here is
 *   for softmax heads.
 */
export type TemperatureFitCode = 'NO_FINITE_TEMPERATURE' | 'NO_LABELLED_SAMPLES' | 'UNSUPPORTED_ACTIVATION';

/** The result of {@link fitTemperature}. */
export interface TemperatureFit {
  /** The T that minimises the NLL; `null` when there is none (see `code`). */
  temperature: number | null;
  /** Set when `temperature` is null. */
  code?: TemperatureFitCode;
  /** Where the NLL's infimum lies when no finite T reaches it: 0 (sharpen without end) or Infinity (flatten to uniform). */
  limit?: number;
  message?: string;
  /** Labelled items fitted on. */
  n: number;
}

/**
 * Temperature scaling (Guo et al., 2017): the T > 0 minimising the mean NLL of the labels
 * under softmax(z / T). With beta = 1 / T the NLL is convex (a log-sum-exp of terms linear in
 * beta, minus a linear term), its derivative is g(beta) = mean(E_softmax(beta z)[z] - z_y),
 * which rises from mean(mean_j z_j - z_y) at beta = 0 to mean(max_j z_j - z_y) as beta grows.
 * A finite minimum exists exactly when the first is < 0 < the second; it is found by
 * bisection on g to machine precision. Otherwise the result is coded, never a silent T = 1.
 */
export function fitTemperature(logits: readonly ArrayLike<number>[], labels: readonly number[]): TemperatureFit {
  const rows: ArrayLike<number>[] = [];
  const ys: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (!isLabelled(labels[i] as number)) continue;
    rows.push(logits[i] as ArrayLike<number>);
    ys.push(labels[i] as number);
  }
  const n = rows.length;
  if (n === 0) return { temperature: null, code: 'NO_LABELLED_SAMPLES', message: 'No labelled sample to fit a temperature on', n };
  let atZero = 0;
  let atInf = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    const z = rows[i] as ArrayLike<number>;
    let sum = 0;
    let max = -Infinity;
    for (let j = 0; j < z.length; j++) {
      sum += z[j] as number;
      max = Math.max(max, z[j] as number);
      scale = Math.max(scale, Math.abs(z[j] as number));
    }
    const zy = z[ys[i] as number] as number;
    atZero += sum / z.length - zy;
    atInf += max - zy;
  }
  atZero /= n;
  atInf /= n;
  const tiny = 1e-12 * Math.max(1, scale);
  if (atInf <= tiny) {
    return {
      temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: 0, n,
      message: `Every one of the ${n} labelled samples has its label as the top class: the NLL keeps falling as T goes to 0, so no finite temperature minimises it`,
    };
  }
  if (atZero >= -tiny) {
    return {
      temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: Infinity, n,
      message: `On the ${n} labelled samples the labels score no better than the average class: the NLL keeps falling as T grows, so no finite temperature minimises it`,
    };
  }
  const g = (beta: number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = rows[i] as ArrayLike<number>;
      let max = -Infinity;
      for (let j = 0; j < z.length; j++) max = Math.max(max, beta * (z[j] as number));
      let s = 0;
      let sz = 0;
      for (let j = 0; j < z.length; j++) {
        const e = Math.exp(beta * (z[j] as number) - max);
        s += e;
        sz += e * (z[j] as number);
      }
      total += sz / s - (z[ys[i] as number] as number);
    }
    return total / n;
  };
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && g(hi) < 0; i++) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (g(mid) < 0) lo = mid;
    else hi = mid;
  }
  return { temperature: 2 / (lo + hi), n };
}

/**
 * NLL and ECE after temperature scaling on samples the temperature never saw: the labelled
 * samples are split by their rank among labelled ones (even / odd), T is fitted on each half
 * and applied to the other (where a half has no finite fit, `fallback` is used), and both
 * figures are taken over all of them. Measured on the samples T was fitted on, the ECE
 * flatters the fit; this does not.
 */
export function crossFit(logits: readonly ArrayLike<number>[], labels: readonly number[], fallback = 1, bins = 10): { nll: number; ece: number } {
  const idx: number[] = [];
  for (let i = 0; i < logits.length; i++) if (isLabelled(labels[i] as number)) idx.push(i);
  const halves = [idx.filter((_, r) => r % 2 === 0), idx.filter((_, r) => r % 2 === 1)];
  const confidence: number[] = [];
  const correct: boolean[] = [];
  let nll = 0;
  for (let h = 0; h < 2; h++) {
    const on = halves[1 - h] as number[];
    const t = fitTemperature(on.map((i) => logits[i] as ArrayLike<number>), on.map((i) => labels[i] as number)).temperature ?? fallback;
    for (const i of halves[h] as number[]) {
      const lp = logSoftmax(logits[i] as ArrayLike<number>, t);
      const top = argmax(lp);
      confidence.push(Math.exp(lp[top] as number));
      correct.push(top === labels[i]);
      nll -= lp[labels[i] as number] as number;
    }
  }
  return { nll: idx.length ? nll / idx.length : NaN, ece: reliability(confidence, correct, bins).ece };
}

/** A target for {@link chooseThreshold}: the precision to reach (highest coverage that reaches it) or the coverage to keep. */
export type ThresholdTarget = { precision: number } | { coverage: number };

/** The result of {@link chooseThreshold}. */
export interface ThresholdChoice {
  /** Answer when the top-1 confidence is >= this; abstain under it. */
  threshold: number;
  /** Accuracy of the labelled items answered at `threshold` (NaN when none is answered). */
  precision: number;
  /** Share of labelled items answered at `threshold`. */
  coverage: number;
  /** Whether the target is met; when not, `code` says so and `threshold` is the best there is. */
  reached: boolean;
  code?: 'TARGET_UNREACHABLE' | 'NO_LABELLED_SAMPLES';
  /** Labelled items judged. */
  n: number;
}

/**
 * The abstention threshold that meets a target on labelled items, judged on their top-1
 * confidence and whether their top-1 class is right. Candidates are the items' own
 * confidences (answer when confidence >= threshold).
 * - `{ precision: p }`: the lowest threshold (so the highest coverage) whose answered
 *   items are right at least that often. Unreachable: the threshold of highest precision,
 *   `reached: false`, code `TARGET_UNREACHABLE`.
 * - `{ coverage: c }`: the highest threshold that still answers at least that share.
 */
export function chooseThreshold(confidence: readonly number[], correct: readonly boolean[], target: ThresholdTarget): ThresholdChoice {
  const n = confidence.length;
  const want = 'precision' in target ? target.precision : target.coverage;
  if (!(want >= 0 && want <= 1)) throw new InputError(`the target must lie in [0, 1], got ${want}`);
  if (n === 0) return { threshold: 0, precision: NaN, coverage: NaN, reached: false, code: 'NO_LABELLED_SAMPLES', n };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (confidence[b] as number) - (confidence[a] as number));
  // Walk down the confidences; a threshold sits at the last item of each run of equal ones.
  const points: { threshold: number; precision: number; coverage: number }[] = [];
  let ok = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r] as number;
    if (correct[i]) ok++;
    const next = order[r + 1];
    if (next !== undefined && confidence[next] === confidence[i]) continue;
    points.push({ threshold: confidence[i] as number, precision: ok / (r + 1), coverage: (r + 1) / n });
  }
  if ('precision' in target) {
    let best: (typeof points)[number] | undefined;
    for (const p of points) if (p.precision >= want - 1e-12) best = p;
    if (best) return { ...best, reached: true, n };
    const top = points.reduce((a, b) => (b.precision > a.precision ? b : a));
    return { ...top, reached: false, code: 'TARGET_UNREACHABLE', n };
  }
  const found = points.find((p) => p.coverage >= want - 1e-12) as (typeof points)[number];
  return { ...found, reached: true, n };
}
