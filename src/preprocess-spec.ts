/**
 * Resolving a PreprocessSpec against a model's input: every default settled, every
 * contradiction reported. Pure logic, shared by the engine and unit tests.
 */
import { InputError } from './errors.js';
import type { Fit, Layout, PreprocessSpec, TensorInfo } from './types.js';

export interface ResolvedPreprocess {
  input: string;
  /** `[height, width]`, or null to keep the image's own size. */
  size: [number, number] | null;
  fit: Fit;
  channels: 1 | 3;
  scale: number;
  mean: number[];
  std: number[];
  layout: Layout;
  dtype: 'float32' | 'int32';
  /** Whether the model input has a batch dimension to add. */
  batched: boolean;
}

const FITS: readonly Fit[] = ['stretch', 'cover', 'contain'];

function perChannel(v: number | number[] | undefined, channels: number, fallback: number, what: string): number[] {
  if (v === undefined) return Array(channels).fill(fallback);
  const arr = Array.isArray(v) ? v : Array(channels).fill(v);
  if (arr.length !== channels || arr.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new InputError(`preprocess.${what} must be a number or ${channels} numbers (one per channel), got ${JSON.stringify(v)}`);
  }
  return arr;
}

/** Guesses the layout of an image input: channels-first when dim 1 is 1 or 3 and the last is not. */
export function guessLayout(shape: readonly (number | null)[] | null): Layout {
  if (!shape || shape.length !== 4) return 'NHWC';
  const c1 = shape[1];
  const c3 = shape[3];
  return (c1 === 1 || c1 === 3) && c3 !== 1 && c3 !== 3 ? 'NCHW' : 'NHWC';
}

/**
 * Settles every field of `spec` for the model's inputs.
 * @throws InputError when the spec names an unknown input or the input is not an image
 */
export function resolvePreprocess(spec: PreprocessSpec | undefined, inputs: readonly TensorInfo[]): ResolvedPreprocess {
  const s = spec ?? {};
  const info = s.input === undefined ? inputs[0] : inputs.find((i) => i.name === s.input);
  if (!info) {
    throw new InputError(`preprocess.input "${s.input}" is not an input of the model (${inputs.map((i) => i.name).join(', ')})`);
  }
  const shape = info.shape;
  if (shape && shape.length !== 4 && shape.length !== 3) {
    throw new InputError(
      `Input ${info.name} has rank ${shape.length}; images feed inputs of rank 3 or 4 ([batch,] height, width, channels). Pass a TensorData instead`,
    );
  }
  const batched = !shape || shape.length === 4;
  const layout = s.layout ?? guessLayout(shape);
  if (layout !== 'NHWC' && layout !== 'NCHW') throw new InputError(`preprocess.layout must be 'NHWC' or 'NCHW', got ${JSON.stringify(layout)}`);
  const dims = shape ? (batched ? shape.slice(1) : shape) : [null, null, null];
  const [h, w, c] = layout === 'NCHW' ? [dims[1], dims[2], dims[0]] : [dims[0], dims[1], dims[2]];
  const channels = s.channels ?? (c === 1 ? 1 : 3);
  if (channels !== 1 && channels !== 3) throw new InputError(`preprocess.channels must be 1 or 3, got ${JSON.stringify(channels)}`);
  if (c != null && c !== channels) {
    throw new InputError(`preprocess.channels is ${channels} but input ${info.name} takes ${c} channels`);
  }
  let size: [number, number] | null = null;
  if (s.size) {
    const [sh, sw] = s.size;
    if (!Number.isInteger(sh) || !Number.isInteger(sw) || sh <= 0 || sw <= 0) {
      throw new InputError(`preprocess.size must be [height, width] in whole pixels, got ${JSON.stringify(s.size)}`);
    }
    if ((h != null && h !== sh) || (w != null && w !== sw)) {
      throw new InputError(`preprocess.size [${sh}, ${sw}] does not fit input ${info.name}, which takes ${h ?? '?'}x${w ?? '?'}`);
    }
    size = [sh, sw];
  } else if (h != null && w != null) {
    size = [h, w];
  }
  const fit = s.fit ?? 'stretch';
  if (!FITS.includes(fit)) throw new InputError(`preprocess.fit must be one of ${FITS.join(', ')}, got ${JSON.stringify(fit)}`);
  const dtype = info.dtype === 'int32' ? 'int32' : 'float32';
  const scale = s.scale ?? (dtype === 'int32' ? 1 : 1 / 255);
  if (!Number.isFinite(scale)) throw new InputError(`preprocess.scale must be a finite number, got ${JSON.stringify(s.scale)}`);
  const std = perChannel(s.std, channels, 1, 'std');
  if (std.some((x) => x === 0)) throw new InputError('preprocess.std must not contain 0');
  return { input: info.name, size, fit, channels, scale, mean: perChannel(s.mean, channels, 0, 'mean'), std, layout, dtype, batched };
}
