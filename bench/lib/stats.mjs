// Small statistics for the benchmark runner (node side).

/** The q-quantile (0..1) by linear interpolation; NaN for no values. */
export function quantile(values, q) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);

/** Rounds to `digits` decimals (numbers only; anything else passes through). */
export function round(v, digits = 2) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Per-round ratios a[i] / b[i] of two paired lists. */
export function ratios(a, b) {
  return a.map((x, i) => x / b[i]).filter((v) => Number.isFinite(v));
}

/** Per-round differences a[i] - b[i]. */
export function diffs(a, b) {
  return a.map((x, i) => x - b[i]).filter((v) => Number.isFinite(v));
}
