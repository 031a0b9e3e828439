// Deterministic test inputs, shared by node (helpers.ts) and both test pages, so a page
// can build a large input from { shape, dtype, seed } instead of receiving it as JSON.

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
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
 * A typed array of `shape`'s size filled from `seed`.
 * float32: uniform in [min, max) (default [0, 1)); int32 and uint8: integers in [min, max]
 * (default [0, 255]); bool: 0/1 in a Uint8Array.
 * @param {{ shape: number[], dtype: 'float32'|'int32'|'uint8'|'bool', seed: number, min?: number, max?: number }} spec
 */
export function seededArray({ shape, dtype, seed, min, max }) {
  const size = shape.reduce((a, b) => a * b, 1);
  const next = prng(seed);
  if (dtype === 'float32') {
    const lo = min ?? 0;
    const hi = max ?? 1;
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * next();
    return out;
  }
  if (dtype === 'bool') {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = next() < 0.5 ? 0 : 1;
    return out;
  }
  const lo = min ?? 0;
  const hi = max ?? 255;
  const out = dtype === 'uint8' ? new Uint8Array(size) : new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = lo + Math.floor((hi - lo + 1) * next());
  return out;
}

/** The TensorData an inpage `run` takes for a seeded spec (uint8 feeds int32 inputs). */
export function seededTensor(spec) {
  const data = seededArray(spec);
  const td = { data, shape: spec.shape };
  if (spec.dtype === 'float32' || spec.dtype === 'int32' || spec.dtype === 'bool') td.dtype = spec.dtype;
  return td;
}
