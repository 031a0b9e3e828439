/**
 * Outputs to classifications: activation with temperature, top-k, abstention.
 * Pure logic over plain arrays, shared by the engine and unit tests.
 */
import { InpageError, InputError } from './errors.js';
import type { Activation, ClassScore, HeadPrediction, PostprocessSpec, TensorInfo } from './types.js';

type Row = ArrayLike<number>;

const ACTIVATIONS: readonly Activation[] = ['softmax', 'sigmoid', 'none'];

export function softmax(z: Row, temperature = 1): Float64Array {
  const out = new Float64Array(z.length);
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) max = Math.max(max, (z[i] as number) / temperature);
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const e = Math.exp((z[i] as number) / temperature - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < z.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/**
 * Applies the activation. With `'none'` the row is taken as probabilities already;
 * a temperature then rescales them as softmax(log p / T), which equals dividing the
 * logits by T for any model whose last layer is a softmax.
 */
export function activate(row: Row, activation: Activation, temperature = 1): Float64Array {
  if (!(temperature > 0)) throw new InputError(`postprocess.temperature must be > 0, got ${temperature}`);
  switch (activation) {
    case 'softmax':
      return softmax(row, temperature);
    case 'sigmoid':
      return Float64Array.from(row as ArrayLike<number>, (v) => 1 / (1 + Math.exp(-v / temperature)));
    case 'none': {
      if (temperature === 1) return Float64Array.from(row as ArrayLike<number>);
      return softmax(Float64Array.from(row as ArrayLike<number>, (p) => Math.log(Math.max(p, 1e-30))), temperature);
    }
    default:
      throw new InputError(`postprocess.activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`);
  }
}

/** The `k` largest scores, highest first (ties keep the lower index first). */
export function topK(probs: Row, k: number, labels?: readonly string[]): ClassScore[] {
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  return idx.slice(0, Math.max(0, Math.min(k, probs.length))).map((i) => ({
    label: labels?.[i] ?? null,
    index: i,
    confidence: probs[i] as number,
  }));
}

export type HeadSpec = Omit<PostprocessSpec, 'heads' | 'output'>;

/**
 * One row of one output to a head prediction. Under `threshold` the head abstains.
 * @throws InpageError `NON_FINITE_OUTPUT` when a score is NaN or infinite (a NaN in the
 *   input, or weights that overflow): no label is ever reported on such a score.
 */
export function classify(row: Row, spec: HeadSpec = {}): HeadPrediction {
  const probs = activate(row, spec.activation ?? 'none', spec.temperature ?? 1);
  const bad = probs.findIndex((p) => !Number.isFinite(p));
  if (bad >= 0) {
    throw new InpageError('NON_FINITE_OUTPUT', `The model's output has a non-finite score (${probs[bad]} for class ${bad}); check the input for NaN or infinite values. run() returns the raw numbers.`, {
      index: bad,
    });
  }
  const k = spec.topK ?? 5;
  const top = topK(probs, Math.max(1, k), spec.labels);
  const best = top[0] ?? { label: null, index: -1, confidence: 0 };
  const abstain = best.index < 0 || best.confidence < (spec.threshold ?? 0);
  return {
    label: abstain ? null : best.label,
    index: abstain ? -1 : best.index,
    confidence: best.confidence,
    topK: top.slice(0, k),
  };
}

/** Merges per-call options over the model's, field by field; heads merge by name. */
export function mergePostprocess(base: PostprocessSpec | undefined, over: PostprocessSpec | undefined): PostprocessSpec {
  if (!over) return base ?? {};
  const merged: PostprocessSpec = { ...base, ...over };
  if (base?.heads || over.heads) {
    const heads: NonNullable<PostprocessSpec['heads']> = { ...base?.heads };
    for (const [name, h] of Object.entries(over.heads ?? {})) heads[name] = { ...base?.heads?.[name], ...h };
    merged.heads = heads;
  }
  return merged;
}

/** Checks a postprocess spec against the model's outputs. */
export function checkPostprocess(spec: PostprocessSpec, outputs: readonly TensorInfo[]): void {
  const names = outputs.map((o) => o.name);
  const check = (name: string | undefined, where: string) => {
    if (name !== undefined && !names.includes(name)) {
      throw new InputError(`${where} "${name}" is not an output of the model (${names.join(', ')})`);
    }
  };
  check(spec.output, 'postprocess.output');
  for (const h of Object.keys(spec.heads ?? {})) check(h, 'postprocess.heads:');
  for (const h of [spec, ...Object.values(spec.heads ?? {})]) {
    if (h.activation !== undefined && !ACTIVATIONS.includes(h.activation)) {
      throw new InputError(`postprocess.activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(h.activation)}`);
    }
    if (h.temperature !== undefined && !(h.temperature > 0)) {
      throw new InputError(`postprocess.temperature must be > 0, got ${h.temperature}`);
    }
  }
}
