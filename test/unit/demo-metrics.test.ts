// The demo page's evaluation arithmetic (examples/demo/metrics.js), checked against
// numbers worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM module shared with the test pages
import { prng as mulberry32 } from '../browser/pages/seeded.mjs';
import {
  accuracy, argmax, calibration, confusionMatrix, crossFitEce, evaluate, fitTemperature, goldenSection,
  labelFromFileName, nll, parseLabelsCsv, perClassMetrics, reliability, temperatureScale,
} from '../../examples/demo/metrics.js';

const softmax = (z: number[], t = 1): number[] => {
  const m = Math.max(...z.map((v) => v / t));
  const e = z.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('labels from names and CSV', () => {
  const classes = ['circle', 'square', 'star'];

  it('reads the class from a file name or its folder', () => {
    expect(labelFromFileName('star_017.png', classes)).toBe(2);
    expect(labelFromFileName('Square-3.PNG', classes)).toBe(1);
    expect(labelFromFileName('circle.png', classes)).toBe(0);
    expect(labelFromFileName('samples/circle/0001.png', classes)).toBe(0);
    expect(labelFromFileName('photo_017.png', classes)).toBe(-1);
    expect(labelFromFileName('starfish_1.png', classes)).toBe(-1);
    expect(labelFromFileName('star_red_017.png', classes)).toBe(2);
    expect(labelFromFileName('star_red_017.png', ['blue', 'red'])).toBe(1);
    expect(labelFromFileName('big-star_3.png', ['star', 'big-star'])).toBe(1);
  });

  it('parses file,label rows with a header, names, indices, quotes and -1', () => {
    const csv = '\uFEFFfile,label\r\nstar_001.png,star\n"a, b.png",1\nx.png,-1\ny.png,\nz.png,hexagon\nsub/w.png,0\n';
    const { columns, rows, unknown } = parseLabelsCsv(csv, classes);
    expect(columns).toEqual(['label']);
    expect(rows.get('star_001.png')).toEqual({ label: 2 });
    expect(rows.get('a, b.png')).toEqual({ label: 1 });
    expect(rows.get('x.png')).toEqual({ label: -1 });
    expect(rows.get('y.png')).toEqual({ label: -1 });
    expect(rows.get('z.png')).toEqual({ label: -1 });
    expect(rows.get('w.png')).toEqual({ label: 0 });
    expect(unknown).toBe(1);
  });

  it('reads a headerless CSV and one with several label columns', () => {
    expect(parseLabelsCsv('a.png,2\nb.png,circle', classes).rows.get('b.png')).toEqual({ label: 0 });
    const multi = parseLabelsCsv('file,shape,color\na.png,star,red\nb.png,-1,blue', { shape: classes, color: ['red', 'blue'] });
    expect(multi.columns).toEqual(['shape', 'color']);
    expect(multi.rows.get('a.png')).toEqual({ shape: 2, color: 0 });
    expect(multi.rows.get('b.png')).toEqual({ shape: -1, color: 1 });
  });

  it('prefers a class name over an index when names are digits', () => {
    expect(parseLabelsCsv('a.png,5', ['3', '5']).rows.get('a.png')).toEqual({ label: 1 });
    expect(parseLabelsCsv('a.png,1', ['3', '5']).rows.get('a.png')).toEqual({ label: 1 });
  });
});

describe('accuracy, confusion matrix, precision and recall', () => {
  // Labelled pairs (true -> predicted): 0->0, 1->2, 2->2, 1->1; the -1 item is skipped.
  const yTrue = [0, 1, 2, -1, 1];
  const yPred = [0, 2, 2, 0, 1];

  it('skips unlabelled items', () => {
    expect(accuracy(yTrue, yPred)).toBe(3 / 4);
    expect(accuracy([-1, -1], [0, 1])).toBeNaN();
  });

  it('counts rows as true classes and columns as predictions', () => {
    const { matrix, total } = confusionMatrix(yTrue, yPred, 3);
    expect(matrix).toEqual([
      [1, 0, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    expect(total).toBe(4);
  });

  it('per-class precision, recall, F1 and macro averages', () => {
    const { matrix } = confusionMatrix(yTrue, yPred, 3);
    const { classes, macro } = perClassMetrics(matrix);
    // class 1: TP 1, predicted once (P = 1), two true items (R = 1/2), F1 = 2/3.
    expect(classes[1]).toMatchObject({ precision: 1, recall: 0.5, support: 2, predicted: 1 });
    expect(classes[1]!.f1).toBeCloseTo(2 / 3, 12);
    // class 2: predicted twice, right once (P = 1/2), its one item found (R = 1).
    expect(classes[2]).toMatchObject({ precision: 0.5, recall: 1 });
    expect(macro.precision).toBeCloseTo((1 + 1 + 0.5) / 3, 12);
    expect(macro.recall).toBeCloseTo((1 + 0.5 + 1) / 3, 12);
  });

  it('says n/a (NaN), not 0, for a class never predicted or never seen', () => {
    const { matrix } = confusionMatrix([0, 0, 1], [0, 0, 0], 3);
    const { classes, macro } = perClassMetrics(matrix);
    expect(classes[1]!.precision).toBeNaN(); // never predicted
    expect(classes[1]!.recall).toBe(0);
    expect(classes[2]!.recall).toBeNaN(); // no true item
    expect(classes[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(macro.recall).toBeCloseTo((1 + 0) / 2, 12);
  });

  it('keeps abstentions out of the matrix but counts them as misses in recall', () => {
    const cm = confusionMatrix([0, 0], [0, -1], 2);
    expect(cm.matrix).toEqual([[1, 0], [0, 0]]);
    expect(cm.abstained).toEqual([1, 0]);
    expect(perClassMetrics(cm.matrix, cm.abstained).classes[0]!.recall).toBe(0.5);
  });
});

describe('reliability and expected calibration error', () => {
  it('matches a hand-computed ECE', () => {
    // Bins of width 0.1: [0.9,1) has 0.95 (right): gap 0.05; [0.8,0.9) has 0.85 twice,
    // one right: gap |0.5 - 0.85| = 0.35; [0.6,0.7) 0.65 right: 0.35; [0.3,0.4) 0.35
    // wrong: 0.35. ECE = (0.05 + 2*0.35 + 0.35 + 0.35) / 5 = 0.29; MCE = 0.35.
    const r = reliability([0.95, 0.85, 0.85, 0.65, 0.35], [true, true, false, true, false]);
    expect(r.ece).toBeCloseTo(0.29, 12);
    expect(r.mce).toBeCloseTo(0.35, 12);
    expect(r.n).toBe(5);
    expect(r.bins[8]).toMatchObject({ count: 2, accuracy: 0.5 });
    expect(r.bins[8]!.confidence).toBeCloseTo(0.85, 12);
    expect(r.bins[0]!.count).toBe(0);
    expect(r.bins[0]!.accuracy).toBeNaN();
  });

  it('puts a confidence of 1 in the last bin and a boundary in the bin above it', () => {
    const r = reliability([1, 0.3, 0.7], [true, true, true], { bins: 10 });
    expect(r.bins[9]!.count).toBe(1);
    expect(r.bins[3]!.count).toBe(1);
    expect(r.bins[7]!.count).toBe(1);
  });

  it('is 0 for a perfectly calibrated set', () => {
    // Four items at 0.75, three right.
    expect(reliability([0.75, 0.75, 0.75, 0.75], [true, true, true, false]).ece).toBeCloseTo(0, 12);
  });

  it('leaves out unlabelled items', () => {
    const probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]];
    const c = calibration(probs, [0, -1, 1]);
    // Items 0 (0.9, right) and 2 (0.6, wrong): ECE = (0.1 + 0.6) / 2.
    expect(c.n).toBe(2);
    expect(c.ece).toBeCloseTo(0.35, 12);
  });
});

describe('temperature scaling', () => {
  it('p^(1/T) renormalized equals softmax(logits / T)', () => {
    const z = [2.0, -1.0, 0.5, 3.2];
    for (const t of [0.3, 1, 1.7, 5]) {
      const a = temperatureScale(softmax(z), t);
      const b = softmax(z, t);
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 12));
    }
    expect(() => temperatureScale([0.5, 0.5], 0)).toThrow(/temperature/);
  });

  it('stays finite when a probability is 0', () => {
    const p = temperatureScale([1, 0, 0], 2);
    expect(Array.from(p).every(Number.isFinite)).toBe(true);
    expect(p[0]).toBeCloseTo(1, 10);
  });

  it('NLL is the mean of -log p(true) and skips unlabelled items', () => {
    expect(nll([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], [0, -1])).toBeCloseTo(-Math.log(0.7), 12);
    expect(nll([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], [0, 2])).toBeCloseTo((-Math.log(0.7) - Math.log(0.8)) / 2, 12);
  });

  it('golden-section search finds the minimum of a unimodal function', () => {
    const { x } = goldenSection((v) => (v - 1.234) ** 2 + 3, -5, 5, 1e-8);
    expect(x).toBeCloseTo(1.234, 6);
  });

  it('recovers the analytic temperature of an overconfident two-class set', () => {
    // Every item has logits (4, 0), so p(class 0) = sigmoid(4) = 0.982, but only 3 in 4
    // are class 0. NLL(T) is least where sigmoid(4 / T) = 3/4: T = 4 / ln 3 = 3.6410.
    const row = softmax([4, 0]);
    const probs = [row, row, row, row, row, row, row, row];
    const y = [0, 0, 1, 0, 0, 0, 0, 1];
    const fit = fitTemperature(probs, y);
    expect(fit.temperature).toBeCloseTo(4 / Math.log(3), 3);
    expect(fit.nllAfter).toBeLessThan(fit.nllBefore);
    // At the optimum the NLL is the entropy of a 3:1 coin.
    expect(fit.nllAfter).toBeCloseTo(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), 6);
    // And every item now says 0.75 and three in four are right: ECE 0.
    expect(calibration(probs, y, fit.temperature).ece).toBeCloseTo(0, 4);
    expect(calibration(probs, y, 1).ece).toBeCloseTo(sigmoid(4) - 0.75, 10);
    // Cross-fitting: the even and the odd items are each 3:1 too, so the held-out ECE is 0 as well.
    expect(crossFitEce(probs, y)).toBeCloseTo(0, 4);
  });

  it('sharpens an underconfident set (T < 1) and agrees with a fine grid search', () => {
    // A seeded set: logits z, labels drawn from softmax(z / 0.5), shown to the fit as
    // softmax(z) (too flat): the fit should land near T = 0.5.
    const rand = mulberry32(7);
    const probs: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const z = [0, 1, 2, 3].map(() => 2 * (rand() - 0.5) * 2);
      const q = softmax(z, 0.5);
      let u = rand();
      let cls = 0;
      while (cls < 3 && u > q[cls]!) u -= q[cls++]!;
      probs.push(softmax(z));
      y.push(i % 97 === 0 ? -1 : cls);
    }
    const fit = fitTemperature(probs, y);
    expect(fit.temperature).toBeGreaterThan(0.42);
    expect(fit.temperature).toBeLessThan(0.58);
    let best = Infinity;
    let bestT = 0;
    for (let t = 0.3; t <= 0.8; t += 0.0005) {
      const v = nll(probs, y, t);
      if (v < best) [best, bestT] = [v, t];
    }
    expect(fit.temperature).toBeCloseTo(bestT, 2);
    expect(fit.nllAfter).toBeLessThanOrEqual(best + 1e-9);
    expect(calibration(probs, y, fit.temperature).ece).toBeLessThan(calibration(probs, y, 1).ece);
  });

  it('keeps T = 1 with no labelled item', () => {
    expect(fitTemperature([[0.5, 0.5]], [-1]).temperature).toBe(1);
  });

  it('flags a fit that runs to the bound (no wrong item) and evaluate keeps T = 1', () => {
    const probs = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.35, 0.65]];
    const y = [0, 1, 0, 1];
    const fit = fitTemperature(probs, y);
    expect(fit.atBound).toBe(true);
    expect(fit.temperature).toBeCloseTo(0.05, 3);
    expect(fitTemperature(probs, [0, 1, 1, 1]).atBound).toBe(false);
    const r = evaluate(probs, y, 2);
    expect(r.fitted).toBe(false);
    expect(r.temperature).toBe(1);
    expect(r.boundTemperature).toBeCloseTo(0.05, 3);
    expect(r.after.ece).toBe(r.before.ece);
    expect(r.nllAfter).toBe(r.nllBefore);
  });
});

describe('evaluate', () => {
  it('puts it together for one head, skipping unlabelled items', () => {
    const probs = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4]];
    const y = [0, 1, 1, -1, 2];
    const r = evaluate(probs, y, 3);
    expect(r.items).toBe(5);
    expect(r.labelled).toBe(4);
    expect(r.yPred).toEqual([0, 1, 2, 0, 2]);
    expect(r.accuracy).toBe(3 / 4);
    expect(r.confusion).toEqual([[1, 0, 0], [0, 1, 1], [0, 0, 1]]);
    expect(r.before.n).toBe(4);
    expect(r.nllBefore).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7) + Math.log(0.2) + Math.log(0.4)) / 4, 12);
    expect(r.fitted).toBe(true);
    expect(r.nllAfter).toBeLessThanOrEqual(r.nllBefore);
    expect(Number.isFinite(r.heldOutEce)).toBe(true);
    expect(argmax([0.1, 0.5, 0.5])).toBe(1);
  });
});

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
