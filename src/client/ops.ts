/**
 * Evaluation, calibration, threshold choice and drift references on the page: samples go
 * through the model's batch path (`predictBatch` with the raw outputs), and the arithmetic of
 * src/ops/metrics.ts runs on the outputs the engine returns.
 */
import { CONFIDENCE_BINS } from '../defaults.js';
import { InputError } from '../errors.js';
import { confidenceBin } from '../ops/drift.js';
import {
  argmax, chooseThreshold, crossFit, eceAt, evaluateHead, fitTemperature, isLabelled, logSoftmax, nllAt, toLogits,
  type HeadMetrics, type ThresholdChoice,
} from '../ops/metrics.js';
import { activate } from '../postprocess.js';
import type {
  Activation, CalibrationResult, DriftReference, EvaluateOptions, EvaluationReport, HeadCalibration,
  LabelledSample, ModelInfo, PostprocessSpec, Prediction, PredictBatchOptions, SampleLabel, TensorData, TensorInfo, ThresholdOptions,
} from '../types.js';

/** One head as the served model reads it: its output and the postprocess in force for it. */
export interface Head {
  name: string;
  activation: Activation;
  temperature: number;
  threshold: number;
  labels: readonly string[] | undefined;
}

/**
 * The heads of a postprocess, as the engine applies it: the primary one (`output`, else the
 * first of `heads`, else the first output) with the top-level fields under its own, and each
 * of `heads` with its own fields only.
 */
export function headsOf(post: PostprocessSpec, outputs: readonly TensorInfo[]): { primary: Head; heads: Head[] } {
  const names = Object.keys(post.heads ?? {});
  const primaryName = post.output ?? names[0] ?? (outputs[0] as TensorInfo).name;
  const own = post.heads?.[primaryName];
  const make = (name: string, s: Omit<PostprocessSpec, 'heads' | 'output'>): Head => ({
    name,
    activation: s.activation ?? 'none',
    temperature: s.temperature ?? 1,
    threshold: s.threshold ?? 0,
    labels: s.labels,
  });
  return {
    primary: make(primaryName, own ? { ...post, ...own } : post),
    heads: names.map((n) => make(n, post.heads?.[n] ?? {})),
  };
}

/** A postprocess with one head's temperature or threshold changed, where the engine reads it. */
export function withHeadSetting(post: PostprocessSpec, head: string, primary: string, key: 'temperature' | 'threshold', value: number): PostprocessSpec {
  const next: PostprocessSpec = { ...post };
  if (post.heads?.[head]) next.heads = { ...post.heads, [head]: { ...post.heads[head], [key]: value } };
  else if (head === primary) next[key] = value;
  else next.heads = { ...post.heads, [head]: { [key]: value } };
  return next;
}

/** The class index of a label; -1 for none. */
function labelIndex(label: SampleLabel, head: Head, classes: number): number {
  if (label === undefined || label === null || label === -1) return -1;
  if (typeof label === 'string') {
    const i = head.labels?.indexOf(label) ?? -1;
    if (i < 0) {
      throw new InputError(head.labels
        ? `Label "${label}" is not a class of ${head.name} (${head.labels.join(', ')})`
        : `Label "${label}" is a name, but ${head.name} has no postprocess.labels; give class indices`, { label, head: head.name });
    }
    return i;
  }
  if (!Number.isInteger(label) || label < -1 || label >= classes) {
    throw new InputError(`Label ${String(label)} of ${head.name} must be a class index in 0..${classes - 1}, a class name, or -1 / null for none`, { label, head: head.name });
  }
  return label;
}

function labelFor(l: LabelledSample['label'], head: Head, primary: string): SampleLabel {
  if (l !== null && typeof l === 'object') return (l as Record<string, SampleLabel>)[head.name];
  return head.name === primary ? l : undefined;
}

/** The samples' outputs and labels, head by head, in sample order. */
export interface Collected {
  primary: Head;
  heads: Head[];
  /** By head name: one raw output row per sample. */
  rows: Map<string, ArrayLike<number>[]>;
  /** By head name: one class index per sample (-1 unlabelled). */
  labels: Map<string, number[]>;
  slices: (string | undefined)[];
}

/** What ops need of a model: its info, its postprocess now, and its batch path. */
export interface OpsTarget {
  readonly info: ModelInfo;
  postprocess(): PostprocessSpec;
  predictBatch(inputs: AsyncIterable<unknown>, opts: PredictBatchOptions): Promise<Prediction[]>;
}

/**
 * Runs every sample through the batch path with the raw outputs, labels resolved per head.
 * Only labels and slice names are kept on the page, not the inputs.
 */
export async function collect<T extends LabelledSample>(
  target: OpsTarget,
  samples: Iterable<T> | AsyncIterable<T>,
  opts: RequestOptionsLike & { sliceBy?: EvaluateOptions<T>['sliceBy']; batchSize?: number; onProgress?: (done: number, total: number) => void },
): Promise<Collected> {
  if (samples == null || (typeof (samples as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (samples as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
    throw new InputError('Samples must be an array or (async) iterable of { input, label }');
  }
  const post = target.postprocess();
  const { primary, heads } = headsOf(post, target.info.outputs);
  const kept: { label: LabelledSample['label']; slice: string | undefined }[] = [];
  async function* inputs(): AsyncGenerator<unknown> {
    for await (const s of samples) {
      if (s === null || typeof s !== 'object' || !('input' in s)) throw new InputError('Each sample must be { input, label }');
      const slice = opts.sliceBy?.(s);
      kept.push({ label: s.label, slice: slice == null ? undefined : String(slice) });
      yield s.input;
    }
  }
  const batchOpts: PredictBatchOptions = { postprocess: { includeOutputs: true }, monitor: false };
  if (opts.signal) batchOpts.signal = opts.signal;
  if (opts.timeoutMs !== undefined) batchOpts.timeoutMs = opts.timeoutMs;
  if (opts.batchSize !== undefined) batchOpts.batchSize = opts.batchSize;
  if (opts.onProgress) batchOpts.onProgress = opts.onProgress;
  const predictions = await target.predictBatch(inputs(), batchOpts);
  const rows = new Map<string, ArrayLike<number>[]>();
  const labels = new Map<string, number[]>();
  for (const h of [primary, ...heads]) {
    if (rows.has(h.name)) continue;
    const r = predictions.map((p) => rowOf(p.outputs?.[h.name], h.name));
    rows.set(h.name, r);
    labels.set(h.name, kept.map((k, i) => labelIndex(labelFor(k.label, h, primary.name), h, (r[i] as ArrayLike<number>).length)));
  }
  return { primary, heads, rows, labels, slices: kept.map((k) => k.slice) };
}

type RequestOptionsLike = { signal?: AbortSignal; timeoutMs?: number };

function rowOf(t: TensorData | undefined, name: string): ArrayLike<number> {
  if (!t) throw new InputError(`The model returned no output ${name}`);
  return t.data;
}

/** Probabilities and exact log-probabilities of one head's rows at a temperature. */
function scored(rows: readonly ArrayLike<number>[], head: Head, temperature: number): { probs: Float64Array[]; logProbs?: Float64Array[] } {
  const probs = rows.map((r) => activate(r, head.activation, temperature));
  if (head.activation === 'sigmoid') return { probs };
  return { probs, logProbs: rows.map((r) => logSoftmax(toLogits(r, head.activation) as Float64Array, temperature)) };
}

function headMetrics(c: Collected, head: Head, keep: (i: number) => boolean, bins: number): HeadMetrics {
  const rows = (c.rows.get(head.name) as ArrayLike<number>[]).filter((_, i) => keep(i));
  const labels = (c.labels.get(head.name) as number[]).filter((_, i) => keep(i));
  const s = scored(rows, head, head.temperature);
  return evaluateHead(s.probs, labels, {
    ...(s.logProbs ? { logProbs: s.logProbs } : {}),
    threshold: head.threshold,
    ...(head.labels ? { classNames: head.labels } : {}),
    bins,
  });
}

/** The full report from collected outputs. */
export function report(c: Collected, bins = CONFIDENCE_BINS): EvaluationReport {
  const part = (keep: (i: number) => boolean) => {
    const out: HeadMetrics & { heads?: Record<string, HeadMetrics> } = headMetrics(c, c.primary, keep, bins);
    if (c.heads.length) out.heads = Object.fromEntries(c.heads.map((h) => [h.name, headMetrics(c, h, keep, bins)]));
    return out;
  };
  const result: EvaluationReport = part(() => true);
  const names = [...new Set(c.slices.filter((s): s is string => s !== undefined))];
  if (names.length) result.slices = Object.fromEntries(names.map((n) => [n, part((i) => c.slices[i] === n)]));
  return result;
}

/** The drift reference of the primary head's answers: counts per top-1 class and confidence bin. */
export function referenceOf(c: Collected): DriftReference {
  const head = c.primary;
  const classCounts: number[] = [];
  const confidenceBins = new Array<number>(CONFIDENCE_BINS).fill(0);
  for (const row of c.rows.get(head.name) as ArrayLike<number>[]) {
    const p = activate(row, head.activation, head.temperature);
    const top = argmax(p);
    if (top >= 0) {
      while (classCounts.length <= top) classCounts.push(0);
      classCounts[top]!++;
    }
    confidenceBins[confidenceBin(top >= 0 ? (p[top] as number) : 0, CONFIDENCE_BINS)]!++;
  }
  return { classCounts, confidenceBins };
}

/** Temperature fits of every head from collected outputs. */
export function calibration(c: Collected, bins = CONFIDENCE_BINS): Omit<CalibrationResult, 'applied'> {
  const fitHead = (head: Head): HeadCalibration => {
    const rows = c.rows.get(head.name) as ArrayLike<number>[];
    const labels = c.labels.get(head.name) as number[];
    const labelled = labels.filter(isLabelled).length;
    const logits = rows.map((r) => toLogits(r, head.activation));
    if (logits.some((l) => l === undefined)) {
      const none = { nll: NaN, ece: NaN };
      return {
        temperature: null, code: 'UNSUPPORTED_ACTIVATION', labelled, before: none, after: none, heldOut: none,
        message: `${head.name} uses a sigmoid (multi-label) activation; temperature scaling is fitted on softmax heads`,
      };
    }
    const z = logits as Float64Array[];
    const before = { nll: nllAt(z, labels, head.temperature), ece: eceAt(z, labels, head.temperature, bins) };
    const fit = fitTemperature(z, labels);
    const out: HeadCalibration = { temperature: fit.temperature, before, after: before, heldOut: crossFit(z, labels, head.temperature, bins), labelled };
    if (fit.temperature === null) {
      if (fit.code) out.code = fit.code;
      if (fit.limit !== undefined) out.limit = fit.limit;
      if (fit.message) out.message = fit.message;
    } else {
      out.after = { nll: nllAt(z, labels, fit.temperature), ece: eceAt(z, labels, fit.temperature, bins) };
    }
    return out;
  };
  const result: Omit<CalibrationResult, 'applied'> = fitHead(c.primary);
  if (c.heads.length) result.heads = Object.fromEntries(c.heads.map((h) => [h.name, h.name === c.primary.name ? { ...result } : fitHead(h)]));
  return result;
}

/** The new postprocess that serves the fitted temperatures (finite fits only), or undefined when nothing changes. */
export function calibratedPostprocess(post: PostprocessSpec, c: Collected, fit: Omit<CalibrationResult, 'applied'>): PostprocessSpec | undefined {
  let next = post;
  let changed = false;
  const fits: [string, number | null][] = fit.heads ? Object.entries(fit.heads).map(([n, h]) => [n, h.temperature]) : [[c.primary.name, fit.temperature]];
  for (const [name, t] of fits) {
    if (t === null) continue;
    next = withHeadSetting(next, name, c.primary.name, 'temperature', t);
    changed = true;
  }
  return changed ? next : undefined;
}

/** The threshold choice on one head of collected outputs. */
export function threshold(c: Collected, opts: ThresholdOptions): ThresholdChoice & { head: string } {
  const head = opts.head === undefined ? c.primary : [c.primary, ...c.heads].find((h) => h.name === opts.head);
  if (!head) throw new InputError(`chooseThreshold: "${opts.head}" is not a head of the model (${[c.primary, ...c.heads].map((h) => h.name).join(', ')})`);
  const rows = c.rows.get(head.name) as ArrayLike<number>[];
  const labels = c.labels.get(head.name) as number[];
  const confidence: number[] = [];
  const correct: boolean[] = [];
  rows.forEach((r, i) => {
    const y = labels[i] as number;
    if (!isLabelled(y)) return;
    const p = activate(r, head.activation, head.temperature);
    const top = argmax(p);
    confidence.push(p[top] as number);
    correct.push(top === y);
  });
  const target = opts.precision !== undefined ? { precision: opts.precision } : { coverage: opts.coverage as number };
  const want = 'precision' in target ? target.precision : target.coverage;
  if (typeof want !== 'number' || !(want >= 0 && want <= 1)) {
    throw new InputError(`chooseThreshold takes { precision } or { coverage } in [0, 1], got ${JSON.stringify(opts.precision ?? opts.coverage)}`);
  }
  return { ...chooseThreshold(confidence, correct, target), head: head.name };
}
