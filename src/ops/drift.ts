/**
 * Drift of what a model predicts in the field against a reference: the population stability
 * index (PSI) of two histograms. Pure arithmetic; the engine's stats window feeds it.
 */

/** Share given to an empty bin before the log, so PSI stays finite (the usual convention). */
export const PSI_EPS = 1e-4;

/**
 * Population stability index of `actual` against `expected`, both histograms of counts over
 * the same bins (a missing bin counts 0): sum over bins of (a_i - e_i) * ln(a_i / e_i), with
 * a_i, e_i the shares of each histogram and an empty bin's share raised to {@link PSI_EPS}.
 * 0 means the same distribution; under 0.1 is commonly read as no shift, 0.1 to 0.25 as a
 * moderate one and over 0.25 as a significant one. NaN when either histogram is empty.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const bins = Math.max(expected.length, actual.length);
  const te = expected.reduce((a, b) => a + b, 0);
  const ta = actual.reduce((a, b) => a + b, 0);
  if (!(te > 0) || !(ta > 0)) return NaN;
  let total = 0;
  for (let i = 0; i < bins; i++) {
    const e = Math.max((expected[i] ?? 0) / te, PSI_EPS);
    const a = Math.max((actual[i] ?? 0) / ta, PSI_EPS);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** Bin of a confidence in `bins` equal-width bins of [0, 1] (1 goes in the last). */
export function confidenceBin(confidence: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(confidence * bins)));
}
