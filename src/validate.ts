/**
 * Checks of model inputs against what the model declares, done on the page before
 * anything is posted, with messages that say what would be valid.
 */
import { InputError } from './errors.js';
import type { DType, TensorData, TensorInfo, TypedArray } from './types.js';

/** A TensorData whose dtype is settled. */
export interface CheckedTensor extends TensorData {
  dtype: DType;
}

const ARRAY_DTYPE = new Map<unknown, DType>([[Float32Array, 'float32'], [Int32Array, 'int32'], [Uint8Array, 'bool']]);

export function isTensorData(x: unknown): x is TensorData {
  return typeof x === 'object' && x !== null && 'data' in x && 'shape' in x && ArrayBuffer.isView((x as TensorData).data);
}

export function describeShape(shape: readonly (number | null)[] | null): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : 'any shape';
}

function describeInputs(spec: readonly TensorInfo[]): string {
  return spec.map((s) => `${s.name} (${s.dtype} ${describeShape(s.shape)})`).join(', ');
}

/** Which typed arrays may feed an input of this dtype. */
function accepts(expected: string, arr: TypedArray, declared: DType | undefined): DType | null {
  if (expected === 'float32') return arr instanceof Float32Array && (!declared || declared === 'float32') ? 'float32' : null;
  if (expected === 'int32') {
    return (arr instanceof Int32Array || arr instanceof Uint8Array) && (!declared || declared === 'int32') ? 'int32' : null;
  }
  if (expected === 'bool') return arr instanceof Uint8Array && (!declared || declared === 'bool') ? 'bool' : null;
  return null;
}

function checkOne(name: string, t: TensorData, info: TensorInfo): CheckedTensor {
  if (!isTensorData(t)) {
    throw new InputError(`Input ${name} must be { data: Float32Array | Int32Array | Uint8Array, shape: number[] }`, { input: name });
  }
  const arrayType = ARRAY_DTYPE.get(t.data.constructor);
  if (!arrayType) {
    throw new InputError(`Input ${name} has a ${t.data.constructor.name}; use a Float32Array, Int32Array or Uint8Array`, {
      input: name,
    });
  }
  if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new InputError(`Input ${name} has shape ${JSON.stringify(t.shape)}; a shape is a list of whole numbers >= 0`, {
      input: name,
    });
  }
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) {
    throw new InputError(
      `Input ${name} has ${t.data.length} values but shape ${describeShape(t.shape)} needs ${size}`,
      { input: name, shape: t.shape, length: t.data.length },
    );
  }
  const expected = info.shape;
  if (expected) {
    const fits = expected.length === t.shape.length && expected.every((d, i) => d === null || d === t.shape[i]);
    if (!fits) {
      throw new InputError(
        `Input ${name} has shape ${describeShape(t.shape)} but the model expects ${describeShape(expected)} (? = any size)`,
        { input: name, shape: t.shape, expected },
      );
    }
  }
  const dtype = accepts(info.dtype, t.data, t.dtype);
  if (!dtype) {
    const want = info.dtype === 'float32' ? 'a Float32Array' : info.dtype === 'int32' ? 'an Int32Array (or Uint8Array)' : 'a Uint8Array of 0/1';
    throw new InputError(
      `Input ${name} is ${t.dtype ?? arrayType} (${t.data.constructor.name}) but the model expects ${info.dtype}: pass ${want}`,
      { input: name, dtype: t.dtype ?? arrayType, expected: info.dtype },
    );
  }
  return { data: t.data, shape: t.shape, dtype };
}

/**
 * Checks inputs for `run`: one TensorData for a one-input model, or a map by input name.
 * @throws InputError (`INPUT_INVALID`) naming what the model expects
 */
export function checkInputs(
  inputs: TensorData | Record<string, TensorData>,
  spec: readonly TensorInfo[],
): Record<string, CheckedTensor> {
  if (inputs == null || typeof inputs !== 'object') {
    throw new InputError(`Expected a TensorData or a map of them by input name: ${describeInputs(spec)}`);
  }
  if (isTensorData(inputs)) {
    if (spec.length !== 1) {
      throw new InputError(
        `The model has ${spec.length} inputs; pass a map by name: ${describeInputs(spec)}`,
        { expected: spec.map((s) => s.name) },
      );
    }
    const only = spec[0] as TensorInfo;
    return { [only.name]: checkOne(only.name, inputs, only) };
  }
  const given = Object.keys(inputs);
  const known = new Set(spec.map((s) => s.name));
  const unknown = given.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new InputError(
      `Unknown input ${unknown.map((n) => `"${n}"`).join(', ')}; the model's inputs are ${describeInputs(spec)}`,
      { unknown, expected: [...known] },
    );
  }
  const missing = spec.filter((s) => !(s.name in inputs)).map((s) => s.name);
  if (missing.length) {
    throw new InputError(`Missing input ${missing.join(', ')}; the model's inputs are ${describeInputs(spec)}`, {
      missing, expected: [...known],
    });
  }
  const out: Record<string, CheckedTensor> = {};
  for (const s of spec) out[s.name] = checkOne(s.name, (inputs as Record<string, TensorData>)[s.name] as TensorData, s);
  return out;
}
