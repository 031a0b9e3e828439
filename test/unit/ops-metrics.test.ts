// Evaluation, calibration, threshold and drift arithmetic (src/ops): each checked against
// numbers worked out by hand in the comments, and against a second, independent computation
// (brute force, written another way) on seeded random data.
import { describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM module shared with the test pages
import { prng } from '../browser/pages/seeded.mjs';
import { psi } from '../../src/ops/drift.js';
import {
  chooseThreshold, crossFit, eceAt, evaluateHead, fitTemperature, logSoftmax, nllAt, reliability, toLogits,
} from '../../src/ops/metrics.js';

const softmax = (z: readonly number[], t = 1): number[] => {
  const m = Math.max(...z.map((v) => v / t));
  const e = z.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** Seeded, miscalibrated data: logits of k classes, labels drawn from softmax(z / trueT). */
function dataset(seed: number, n: number, k: number, trueT: number, unlabelledShare = 0) {
  const rnd = prng(seed) as () => number;
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => (rnd() - 0.5) * 8);
    const p = softmax(z, trueT);
    let u = rnd();
    let y = 0;
    while (y < k - 1 && u > (p[y] as number)) u -= p[y++] as number;
    logits.push(z);
    labels.push(rnd() < unlabelledShare ? -1 : y);
  }
  return { logits, labels };
}

describe('evaluateHead', () => {
  // Five items, three classes, threshold 0.55:
  //   a [.7 .2 .1] y=0: top 0, right, conf .7, answered
  //   b [.1 .6 .3] y=2: top 1, wrong, conf .6, answered
  //   c [.2 .3 .5] y=2: top 2, right, conf .5, abstains
  //   d [.3 .4 .3] unlabelled: top 1, conf .4, abstains (counted in abstainRate only)
  //   e [.05 .9 .05] y=1: top 1, right, conf .9, answered
  const probs = [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3], [0.05, 0.9, 0.05]];
  const labels = [0, 2, 2, -1, 1];
  const r = evaluateHead(probs, labels, { threshold: 0.55, classNames: ['a', 'b', 'c'] });

  it('counts, accuracy, abstention, answered accuracy', () => {
    expect(r.count).toBe(5);
    expect(r.labelled).toBe(4);
    expect(r.accuracy).toBe(3 / 4);
    expect(r.abstainRate).toBe(2 / 5); // c and d
    expect(r.answeredAccuracy).toBe(2 / 3); // a, b, e answered; a and e right
  });

  it('confusion matrix (rows true, columns predicted) and per-class metrics', () => {
    expect(r.confusion).toEqual([[1, 0, 0], [0, 1, 0], [0, 1, 1]]);
    // class 1: predicted twice (b, e), right once -> precision 1/2; recall 1/1; F1 = 2*.5*1/1.5
    // class 2: predicted once (c), right -> precision 1; two of class 2 -> recall 1/2
    expect(r.perClass.map((c) => [c.label, c.index, c.support])).toEqual([['a', 0, 1], ['b', 1, 1], ['c', 2, 2]]);
    expect(r.perClass.map((c) => c.precision)).toEqual([1, 0.5, 1]);
    expect(r.perClass.map((c) => c.recall)).toEqual([1, 1, 0.5]);
    expect(r.perClass[1]?.f1).toBeCloseTo(2 / 3, 12);
    expect(r.perClass[2]?.f1).toBeCloseTo(2 / 3, 12);
    expect(r.macro.f1).toBeCloseTo((1 + 2 / 3 + 2 / 3) / 3, 12);
  });

  it('log loss and ECE with its bins', () => {
    expect(r.logLoss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.3) + Math.log(0.5) + Math.log(0.9)) / 4, 12);
    // one labelled item per bin 5, 6, 7, 9: gaps |1-.5|, |0-.6|, |1-.7|, |1-.9| -> mean 1.5 / 4
    expect(r.ece).toBeCloseTo(0.375, 12);
    expect(r.bins).toHaveLength(10);
    expect(r.bins[6]).toEqual({ lower: 0.6, upper: 0.7, count: 1, confidence: 0.6, accuracy: 0 });
    expect(r.bins[0]?.count).toBe(0);
    expect(r.bins[0]?.accuracy).toBeNaN();
  });

  it('nothing labelled gives NaN metrics, not zeros', () => {
    const none = evaluateHead([[0.5, 0.5]], [-1]);
    expect(none.labelled).toBe(0);
    expect(none.accuracy).toBeNaN();
    expect(none.logLoss).toBeNaN();
    expect(none.ece).toBeNaN();
    expect(none.perClass[0]?.precision).toBeNaN();
    expect(() => evaluateHead([[0.5, 0.5]], [2])).toThrow(/out of range/);
  });

  it('agrees with a brute-force computation on random data', () => {
    const { logits, labels } = dataset(7, 400, 4, 2.5, 0.1);
    const probs = logits.map((z) => softmax(z));
    const r2 = evaluateHead(probs, labels, { threshold: 0.5 });
    // Reference, written the long way: one pass per metric.
    const lab = labels.map((y, i) => ({ y, p: probs[i] as number[] })).filter((x) => x.y >= 0);
    const top = (p: number[]) => p.indexOf(Math.max(...p));
    expect(r2.accuracy).toBeCloseTo(lab.filter((x) => top(x.p) === x.y).length / lab.length, 12);
    expect(r2.logLoss).toBeCloseTo(lab.reduce((s, x) => s - Math.log(x.p[x.y] as number), 0) / lab.length, 10);
    for (let c = 0; c < 4; c++) {
      const tp = lab.filter((x) => x.y === c && top(x.p) === c).length;
      expect(r2.perClass[c]?.precision).toBeCloseTo(tp / lab.filter((x) => top(x.p) === c).length, 12);
      expect(r2.perClass[c]?.recall).toBeCloseTo(tp / lab.filter((x) => x.y === c).length, 12);
    }
    let ece = 0;
    for (let b = 0; b < 10; b++) {
      const inBin = lab.filter((x) => {
        const c = Math.max(...x.p);
        return b === 9 ? c >= 0.9 : c >= b / 10 && c < (b + 1) / 10;
      });
      if (!inBin.length) continue;
      const conf = inBin.reduce((s, x) => s + Math.max(...x.p), 0) / inBin.length;
      const acc = inBin.filter((x) => top(x.p) === x.y).length / inBin.length;
      ece += (inBin.length / lab.length) * Math.abs(acc - conf);
    }
    expect(r2.ece).toBeCloseTo(ece, 12);
    const answered = lab.filter((x) => Math.max(...x.p) >= 0.5);
    expect(r2.answeredAccuracy).toBeCloseTo(answered.filter((x) => top(x.p) === x.y).length / answered.length, 12);
    expect(r2.abstainRate).toBeCloseTo(probs.filter((p) => Math.max(...p) < 0.5).length / probs.length, 12);
  });

  it('reliability rejects a bad bin count', () => {
    expect(() => reliability([0.5], [true], 0)).toThrow(/bins/);
  });
});

describe('temperature fit', () => {
  it('finds T = 1 / ln 3 on a hand-solved case', () => {
    // Four items with logits [1, 0], three labelled 0 and one 1: dNLL/dbeta = sigmoid(beta) - 3/4,
    // zero at beta = ln 3.
    const z = [[1, 0], [1, 0], [1, 0], [1, 0]];
    const fit = fitTemperature(z, [0, 0, 0, 1]);
    expect(fit.temperature).toBeCloseTo(1 / Math.log(3), 10);
    expect(fit.n).toBe(4);
  });

  it('gives a coded result, not a silent T = 1, where no finite temperature exists', () => {
    // Every item right (with full confidence or not): the NLL falls as T -> 0.
    const allRight = fitTemperature([[5, 0, 0], [0, 30, 0], [0, 0, 1]], [0, 1, 2]);
    expect(allRight).toMatchObject({ temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: 0 });
    const oneHot = fitTemperature([toLogits([1, 0, 0], 'none') as Float64Array], [0]);
    expect(oneHot).toMatchObject({ temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: 0 });
    // Labels no better than the average class: NLL falls as T -> infinity.
    const chance = fitTemperature([[1, 0], [1, 0]], [0, 1]);
    expect(chance).toMatchObject({ temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: Infinity });
    expect(fitTemperature([[1, 0]], [-1])).toMatchObject({ temperature: null, code: 'NO_LABELLED_SAMPLES', n: 0 });
  });

  it('matches a brute-force grid search of the NLL', () => {
    for (const [seed, trueT] of [[1, 0.5], [2, 2], [3, 4]] as const) {
      const { logits, labels } = dataset(seed, 300, 5, trueT, 0.05);
      const fit = fitTemperature(logits, labels);
      expect(fit.temperature).not.toBeNull();
      const t = fit.temperature as number;
      // Grid over log T, 1% apart, then the best grid point is refined no further: the fit must
      // be at least as good as every grid point, and lie within one step of the best.
      let best = Infinity;
      let bestT = 0;
      for (let lt = Math.log(0.05); lt <= Math.log(50); lt += 0.01) {
        const v = nllAt(logits, labels, Math.exp(lt));
        if (v < best) {
          best = v;
          bestT = Math.exp(lt);
        }
      }
      expect(nllAt(logits, labels, t)).toBeLessThanOrEqual(best + 1e-12);
      expect(Math.abs(Math.log(t / bestT))).toBeLessThanOrEqual(0.011);
      // And the fit lowers the NLL below T = 1 whenever T is away from 1.
      expect(nllAt(logits, labels, t)).toBeLessThan(nllAt(logits, labels, 1));
    }
  });

  it('recovers the temperature the labels were drawn with', () => {
    const { logits, labels } = dataset(11, 4000, 4, 2.5);
    const t = fitTemperature(logits, labels).temperature as number;
    expect(t).toBeGreaterThan(2.5 * 0.85);
    expect(t).toBeLessThan(2.5 * 1.15);
    // Calibration lowers the ECE of such a model.
    expect(eceAt(logits, labels, t)).toBeLessThan(eceAt(logits, labels, 1));
  });

  it('cross-fitted NLL and ECE: each half scored at the temperature fitted on the other', () => {
    const { logits, labels } = dataset(13, 200, 3, 3, 0.1);
    const lab = labels.map((y, i) => i).filter((i) => (labels[i] as number) >= 0);
    const even = lab.filter((_, r) => r % 2 === 0);
    const odd = lab.filter((_, r) => r % 2 === 1);
    const tEven = fitTemperature(even.map((i) => logits[i] as number[]), even.map((i) => labels[i] as number)).temperature as number;
    const tOdd = fitTemperature(odd.map((i) => logits[i] as number[]), odd.map((i) => labels[i] as number)).temperature as number;
    // NLL of the odd half at tEven and the even half at tOdd, averaged over all labelled samples
    const nll = (nllAt(odd.map((i) => logits[i] as number[]), odd.map((i) => labels[i] as number), tEven) * odd.length +
      nllAt(even.map((i) => logits[i] as number[]), even.map((i) => labels[i] as number), tOdd) * even.length) / lab.length;
    const got = crossFit(logits, labels);
    expect(got.nll).toBeCloseTo(nll, 10);
    // Held out, the fit is judged no better than in-sample.
    const t = fitTemperature(logits, labels).temperature as number;
    expect(got.nll).toBeGreaterThanOrEqual(nllAt(logits, labels, t));
    expect(got.ece).toBeGreaterThanOrEqual(0);
    // A half with no finite fit uses the fallback temperature.
    const allRight = crossFit([[3, 0], [0, 3], [3, 0], [0, 3]], [0, 1, 0, 1], 1);
    expect(allRight.nll).toBeCloseTo(nllAt([[3, 0], [0, 3]], [0, 1], 1), 12);
  });

  it('log-softmax and logits of probabilities', () => {
    const lp = logSoftmax([2, 1, 0], 2);
    const p = softmax([2, 1, 0], 2);
    lp.forEach((v, i) => expect(Math.exp(v)).toBeCloseTo(p[i] as number, 14));
    // softmax(log p / T) rescales probabilities like softmax(z / T) rescales logits
    const z = toLogits(softmax([3, 1, 0]), 'none') as Float64Array;
    const rescaled = logSoftmax(z, 1.7).map(Math.exp);
    softmax([3, 1, 0], 1.7).forEach((v, i) => expect(rescaled[i]).toBeCloseTo(v, 12));
    expect(toLogits([0.2, 0.8], 'sigmoid')).toBeUndefined();
    // Exact log loss where probabilities underflow.
    expect(nllAt([[0, -2000]], [1])).toBeCloseTo(2000, 9);
  });
});

describe('chooseThreshold', () => {
  // Confidences .9 .8 .7 .6 .5 with right, right, wrong, right, wrong. Answering down to:
  //   .9 -> 1/1, .8 -> 2/2, .7 -> 2/3, .6 -> 3/4, .5 -> 3/5 (precision); coverage k/5.
  const conf = [0.7, 0.9, 0.5, 0.6, 0.8];
  const ok = [false, true, false, true, true];

  it('for a target precision, the lowest threshold that reaches it', () => {
    expect(chooseThreshold(conf, ok, { precision: 0.75 })).toMatchObject({ threshold: 0.6, precision: 0.75, coverage: 0.8, reached: true, n: 5 });
    expect(chooseThreshold(conf, ok, { precision: 1 })).toMatchObject({ threshold: 0.8, coverage: 0.4, reached: true });
    expect(chooseThreshold(conf, ok, { precision: 0.7 })).toMatchObject({ threshold: 0.6 });
    expect(chooseThreshold(conf, ok, { precision: 0 })).toMatchObject({ threshold: 0.5, coverage: 1 });
  });

  it('for a target coverage, the highest threshold that keeps it', () => {
    expect(chooseThreshold(conf, ok, { coverage: 0.5 })).toMatchObject({ threshold: 0.7, coverage: 0.6, precision: 2 / 3 });
    expect(chooseThreshold(conf, ok, { coverage: 1 })).toMatchObject({ threshold: 0.5, coverage: 1 });
  });

  it('ties share a threshold; an unreachable target is coded', () => {
    expect(chooseThreshold([0.9, 0.9, 0.5], [true, false, true], { precision: 0.6 })).toMatchObject({ threshold: 0.5, precision: 2 / 3 });
    expect(chooseThreshold([0.9, 0.9, 0.5], [true, false, true], { precision: 0.9 })).toMatchObject({ reached: false, code: 'TARGET_UNREACHABLE', threshold: 0.5 });
    expect(chooseThreshold([], [], { precision: 0.9 })).toMatchObject({ reached: false, code: 'NO_LABELLED_SAMPLES' });
    expect(() => chooseThreshold(conf, ok, { precision: 1.5 })).toThrow(/\[0, 1\]/);
  });

  it('agrees with a brute-force scan of every threshold', () => {
    const rnd = prng(5) as () => number;
    const c = Array.from({ length: 200 }, () => Math.round(rnd() * 50) / 50);
    const k = c.map((v) => rnd() < v);
    const at = (t: number) => {
      const ans = c.map((v, i) => [v, k[i]] as const).filter(([v]) => v >= t);
      return { precision: ans.filter(([, r]) => r).length / ans.length, coverage: ans.length / c.length };
    };
    const candidates = [...new Set(c)].sort((a, b) => a - b);
    for (const target of [0.6, 0.8, 0.9]) {
      const best = candidates.find((t) => at(t).precision >= target);
      const got = chooseThreshold(c, k, { precision: target });
      expect(got.threshold).toBe(best);
      expect(got.precision).toBeCloseTo(at(best as number).precision, 12);
    }
    for (const target of [0.3, 0.75]) {
      const best = [...candidates].reverse().find((t) => at(t).coverage >= target);
      expect(chooseThreshold(c, k, { coverage: target }).threshold).toBe(best);
    }
  });
});

describe('psi', () => {
  it('hand-computed values', () => {
    // shares .5/.5 vs .9/.1: .4 ln 1.8 + (-.4) ln .2
    expect(psi([50, 50], [90, 10])).toBeCloseTo(0.4 * Math.log(1.8) - 0.4 * Math.log(0.2), 12);
    expect(psi([3, 1, 4], [30, 10, 40])).toBe(0);
    // an empty bin counts as a share of 1e-4
    expect(psi([100, 0], [50, 50])).toBeCloseTo((0.5 - 1) * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 12);
    // missing bins count 0; empty histograms give NaN
    expect(psi([1, 1], [1, 1, 0])).toBe(0);
    expect(psi([], [1])).toBeNaN();
  });

  it('is symmetric and grows with the shift', () => {
    expect(psi([10, 30, 60], [40, 40, 20])).toBeCloseTo(psi([40, 40, 20], [10, 30, 60]), 12);
    expect(psi([50, 50], [60, 40])).toBeLessThan(psi([50, 50], [80, 20]));
  });
});
