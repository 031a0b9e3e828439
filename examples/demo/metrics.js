/**
 * The demo's evaluation arithmetic, with no DOM in it so that vitest can check it in node
 * (test/unit/demo-metrics.test.ts): labels from file names and CSV, accuracy, a confusion
 * matrix, per-class precision and recall, a reliability diagram with its expected
 * calibration error, and temperature scaling fitted by minimizing the negative log
 * likelihood.
 *
 * Conventions, stated once:
 * - Classes are indices 0..k-1. A true label of -1 (or null/undefined) means "unlabelled":
 *   the item is left out of every metric.
 * - The predicted class of an item is its arg max (the model's top-1), whatever the
 *   page's abstention threshold says, so that accuracy does not move with the slider.
 * - Rows of the confusion matrix are true classes, columns predicted classes.
 * - Probabilities are rows of a softmax output. Temperature T rescales them as
 *   p_i^(1/T) / sum_j p_j^(1/T), which is softmax(z / T) for the logits z behind them
 *   (log p_i = z_i - logsumexp(z), and the constant cancels in the normalization).
 * @module
 */

/** Probabilities are clamped to this before a log, as inpage's postprocess does. */
export const EPS = 1e-30;

/** Whether a true label counts: a class index, not -1 / null / NaN. */
export function isLabelled(y) {
  return Number.isInteger(y) && y >= 0;
}

/**
 * The class named by a file's name, compared case-insensitively with `classes`: the whole
 * stem, then the stem without a trailing number, then each part between `_`, `-`, `.`,
 * spaces and digits, first match wins; the class index, or -1 when none matches.
 * A folder name works too: `circle/017.png` gives `circle`.
 * @param {string} path a file name or a relative path (`webkitRelativePath`)
 * @param {readonly string[]} classes class names by index
 * @returns {number}
 */
export function labelFromFileName(path, classes) {
  const lower = classes.map((c) => String(c).toLowerCase());
  const parts = String(path).split(/[\\/]/).filter(Boolean);
  const file = parts.pop() ?? '';
  const stem = file.replace(/\.[^.]*$/, '').toLowerCase();
  // "star_017" -> "star"; "big-star_3" is tried whole before its parts; "star_red_017"
  // gives "star" to a shape head and "red" to a colour head.
  const candidates = [stem, stem.replace(/[_\-\s.]*\d+$/, ''), ...stem.split(/[_\-\s.\d]+/)];
  for (const c of candidates) {
    const i = lower.indexOf(c);
    if (c && i >= 0) return i;
  }
  const folder = parts.pop();
  if (folder) {
    const i = lower.indexOf(folder.toLowerCase());
    if (i >= 0) return i;
  }
  return -1;
}

/** Splits one CSV line, with "quoted, fields" and "" as an escaped quote. */
function splitCsvLine(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/**
 * Reads a labels CSV: a header naming a `file` column (also `filename`, `name`, `path`)
 * and one or more label columns, or no header and `file,label` rows.
 * A label is a class name or a class index; `-1` or an empty cell is "unlabelled" (-1).
 * A name that is not a class is kept as -1 too and counted in `unknown`.
 * @param {string} text the CSV's text
 * @param {readonly string[] | Record<string, readonly string[]>} classes class names;
 *   for several label columns, an object of class names per column (`{ shape: [...], color: [...] }`)
 * @returns {{ columns: string[], rows: Map<string, Record<string, number>>, unknown: number }}
 *   `rows` maps a file's base name to its label index per column (`label` for a
 *   headerless or single-label CSV)
 */
export function parseLabelsCsv(text, classes) {
  const lines = String(text).replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '');
  const rows = new Map();
  let unknown = 0;
  if (lines.length === 0) return { columns: [], rows, unknown };
  const first = splitCsvLine(lines[0]).map((h) => h.toLowerCase());
  const fileNames = ['file', 'filename', 'name', 'path', 'image'];
  const hasHeader = first.some((h) => fileNames.includes(h));
  const fileCol = hasHeader ? first.findIndex((h) => fileNames.includes(h)) : 0;
  const columns = hasHeader ? first.filter((_, i) => i !== fileCol) : ['label'];
  const classesFor = (col) => (Array.isArray(classes) ? classes : classes[col] ?? classes.label ?? []);
  for (const line of hasHeader ? lines.slice(1) : lines) {
    const cells = splitCsvLine(line);
    const file = cells[fileCol];
    if (!file) continue;
    const labels = {};
    const valueCells = cells.filter((_, i) => i !== fileCol);
    columns.forEach((col, j) => {
      const raw = valueCells[j] ?? '';
      const names = classesFor(col);
      let y = -1;
      if (raw !== '' && raw !== '-1') {
        // A class name first (names may be digits, as in MNIST), then a class index.
        y = names.findIndex((n) => String(n).toLowerCase() === raw.toLowerCase());
        if (y < 0 && /^\d+$/.test(raw) && (names.length === 0 || Number(raw) < names.length)) y = Number(raw);
        if (y < 0) unknown++;
      }
      labels[col] = y;
    });
    rows.set(baseName(file), labels);
  }
  return { columns, rows, unknown };
}

/** The last part of a path. */
export function baseName(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

/** Index of the largest value (the first one on ties). */
export function argmax(row) {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (row[i] > max) {
      max = row[i];
      best = i;
    }
  }
  return best;
}

/** Keeps the items whose true label counts. */
function labelledPairs(yTrue, yPred) {
  if (yTrue.length !== yPred.length) throw new Error(`yTrue has ${yTrue.length} items but yPred has ${yPred.length}`);
  const t = [];
  const p = [];
  for (let i = 0; i < yTrue.length; i++) {
    if (!isLabelled(yTrue[i])) continue;
    t.push(yTrue[i]);
    p.push(yPred[i]);
  }
  return { t, p };
}

/**
 * Share of labelled items whose prediction equals the label; NaN with no labelled item.
 * @param {ArrayLike<number>} yTrue true class per item (-1 = unlabelled, skipped)
 * @param {ArrayLike<number>} yPred predicted class per item
 */
export function accuracy(yTrue, yPred) {
  const { t, p } = labelledPairs(yTrue, yPred);
  if (t.length === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < t.length; i++) if (t[i] === p[i]) ok++;
  return ok / t.length;
}

/**
 * Counts of (true, predicted) pairs: `m[t][p]`. Unlabelled items are skipped; a predicted
 * class outside 0..k-1 (an abstention, -1) is counted in `abstained[t]`, not in the matrix.
 * @param {ArrayLike<number>} yTrue
 * @param {ArrayLike<number>} yPred
 * @param {number} k number of classes
 * @returns {{ matrix: number[][], abstained: number[], total: number }}
 */
export function confusionMatrix(yTrue, yPred, k) {
  const matrix = Array.from({ length: k }, () => new Array(k).fill(0));
  const abstained = new Array(k).fill(0);
  const { t, p } = labelledPairs(yTrue, yPred);
  for (let i = 0; i < t.length; i++) {
    if (t[i] >= k) throw new Error(`true class ${t[i]} is out of range for ${k} classes`);
    if (Number.isInteger(p[i]) && p[i] >= 0 && p[i] < k) matrix[t[i]][p[i]]++;
    else abstained[t[i]]++;
  }
  return { matrix, abstained, total: t.length };
}

/**
 * Per-class precision, recall, F1 and support from a confusion matrix (rows true,
 * columns predicted). precision = TP / (column sum), recall = TP / (row sum incl.
 * abstentions when given); a 0/0 is NaN (shown as "n/a"), not 0. Macro averages are
 * over the classes where the value is defined.
 * @param {number[][]} matrix
 * @param {number[]} [abstained] per true class, counted as misses in recall
 */
export function perClassMetrics(matrix, abstained) {
  const k = matrix.length;
  const classes = [];
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    let predicted = 0;
    for (let r = 0; r < k; r++) predicted += matrix[r][c];
    const support = matrix[c].reduce((a, b) => a + b, 0) + (abstained?.[c] ?? 0);
    const precision = predicted === 0 ? NaN : tp / predicted;
    const recall = support === 0 ? NaN : tp / support;
    const f1 = Number.isNaN(precision) || Number.isNaN(recall) ? NaN
      : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    classes.push({ precision, recall, f1, support, predicted, tp });
  }
  const mean = (key) => {
    const v = classes.map((c) => c[key]).filter((x) => !Number.isNaN(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  };
  return { classes, macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') } };
}

/**
 * Probabilities rescaled by a temperature: p_i^(1/T) renormalized, computed in log space
 * (softmax of log(p) / T), which equals softmax(logits / T) for a softmax model.
 * @param {ArrayLike<number>} probs one row of probabilities
 * @param {number} temperature T > 0; T > 1 flattens, T < 1 sharpens
 * @returns {Float64Array}
 */
export function temperatureScale(probs, temperature) {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}`);
  const n = probs.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    out[i] = Math.log(Math.max(probs[i], EPS)) / temperature;
    if (out[i] > max) max = out[i];
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(out[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/**
 * Mean negative log likelihood of the true classes under temperature T, over labelled
 * items: mean of -log softmax(log p / T)[y], in nats. Done with a log-sum-exp so that
 * tiny probabilities stay finite.
 * @param {ArrayLike<ArrayLike<number>>} probs one row per item
 * @param {ArrayLike<number>} yTrue true class per item (-1 skipped)
 * @param {number} [temperature=1]
 */
export function nll(probs, yTrue, temperature = 1) {
  let total = 0;
  let n = 0;
  for (let i = 0; i < probs.length; i++) {
    const y = yTrue[i];
    if (!isLabelled(y)) continue;
    const row = probs[i];
    let max = -Infinity;
    for (let j = 0; j < row.length; j++) max = Math.max(max, Math.log(Math.max(row[j], EPS)) / temperature);
    let sum = 0;
    for (let j = 0; j < row.length; j++) sum += Math.exp(Math.log(Math.max(row[j], EPS)) / temperature - max);
    const logZ = max + Math.log(sum);
    total += logZ - Math.log(Math.max(row[y], EPS)) / temperature;
    n++;
  }
  return n ? total / n : NaN;
}

/**
 * Reliability diagram and expected calibration error (Guo et al., 2017) over labelled
 * items: `bins` equal-width bins of the top-1 confidence, bin b holding [b/B, (b+1)/B)
 * (the last bin also holds 1). ECE = sum over bins of (n_b / N) * |accuracy_b - confidence_b|;
 * MCE is the largest gap over non-empty bins.
 * @param {ArrayLike<number>} confidence top-1 confidence per item
 * @param {ArrayLike<boolean>} correct whether the top-1 class was right, per item
 * @param {{ bins?: number, labelled?: ArrayLike<boolean> }} [opts] bins: default 10;
 *   labelled: which items count (default all)
 * @returns {{ ece: number, mce: number, n: number, bins: { lo: number, hi: number, count: number, confidence: number, accuracy: number }[] }}
 */
export function reliability(confidence, correct, opts = {}) {
  const B = opts.bins ?? 10;
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`bins must be a whole number >= 1, got ${B}`);
  const count = new Array(B).fill(0);
  const confSum = new Array(B).fill(0);
  const okSum = new Array(B).fill(0);
  let n = 0;
  for (let i = 0; i < confidence.length; i++) {
    if (opts.labelled && !opts.labelled[i]) continue;
    const c = confidence[i];
    const b = Math.min(B - 1, Math.max(0, Math.floor(c * B)));
    count[b]++;
    confSum[b] += c;
    okSum[b] += correct[i] ? 1 : 0;
    n++;
  }
  let ece = 0;
  let mce = 0;
  const bins = [];
  for (let b = 0; b < B; b++) {
    const conf = count[b] ? confSum[b] / count[b] : NaN;
    const acc = count[b] ? okSum[b] / count[b] : NaN;
    if (count[b]) {
      const gap = Math.abs(acc - conf);
      ece += (count[b] / n) * gap;
      mce = Math.max(mce, gap);
    }
    bins.push({ lo: b / B, hi: (b + 1) / B, count: count[b], confidence: conf, accuracy: acc });
  }
  return { ece: n ? ece : NaN, mce: n ? mce : NaN, n, bins };
}

/**
 * Top-1 confidence and correctness of each labelled item after temperature T, and the
 * reliability diagram over them.
 * @param {ArrayLike<ArrayLike<number>>} probs
 * @param {ArrayLike<number>} yTrue (-1 skipped)
 * @param {number} [temperature=1]
 * @param {number} [bins=10]
 */
export function calibration(probs, yTrue, temperature = 1, bins = 10) {
  const confidence = [];
  const correct = [];
  for (let i = 0; i < probs.length; i++) {
    if (!isLabelled(yTrue[i])) continue;
    const p = temperature === 1 ? probs[i] : temperatureScale(probs[i], temperature);
    const top = argmax(p);
    confidence.push(p[top]);
    correct.push(top === yTrue[i]);
  }
  return reliability(confidence, correct, { bins });
}

/**
 * Golden-section search for the minimum of a unimodal function on [lo, hi].
 * @param {(x: number) => number} f
 * @returns {{ x: number, fx: number, evaluations: number }}
 */
export function goldenSection(f, lo, hi, tol = 1e-5, maxIter = 200) {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  let evaluations = 2;
  for (let i = 0; i < maxIter && b - a > tol; i++) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
    evaluations++;
  }
  const x = (a + b) / 2;
  return { x, fx: f(x), evaluations: evaluations + 1 };
}

/**
 * Fits the temperature that minimizes the mean NLL of the labelled items (temperature
 * scaling, Guo et al., 2017), by golden-section search on log T in [log min, log max].
 * The NLL is convex in 1/T (a log-sum-exp of terms linear in 1/T, minus a linear term),
 * so it is unimodal in log T and the search finds the global minimum on the interval;
 * it lands on a bound when the minimum lies beyond it (for instance when every item is
 * right with confidence near 1, where the NLL keeps falling as T goes to 0).
 * @param {ArrayLike<ArrayLike<number>>} probs softmax rows, one per item
 * @param {ArrayLike<number>} yTrue true class per item (-1 skipped)
 * @param {{ min?: number, max?: number, tol?: number }} [opts] default range [0.05, 20],
 *   tolerance 1e-4 in log T
 * @returns {{ temperature: number, nllBefore: number, nllAfter: number, n: number, atBound: boolean }}
 *   atBound: the search ended on a bound of the range, so the data give no finite optimum
 *   inside it (typically: no labelled item is wrong, and the NLL keeps falling as T -> 0)
 */
export function fitTemperature(probs, yTrue, opts = {}) {
  const min = opts.min ?? 0.05;
  const max = opts.max ?? 20;
  const tol = opts.tol ?? 1e-4;
  const n = Array.from(yTrue).filter(isLabelled).length;
  const nllBefore = nll(probs, yTrue, 1);
  if (n === 0) return { temperature: 1, nllBefore, nllAfter: nllBefore, n, atBound: false };
  const lo = Math.log(min);
  const hi = Math.log(max);
  const { x } = goldenSection((logT) => nll(probs, yTrue, Math.exp(logT)), lo, hi, tol);
  let temperature = Math.exp(x);
  let nllAfter = nll(probs, yTrue, temperature);
  const atBound = x - lo <= 10 * tol || hi - x <= 10 * tol;
  // Never report a fit worse than leaving the model alone (only possible at a bound).
  if (!(nllAfter <= nllBefore)) {
    temperature = 1;
    nllAfter = nllBefore;
  }
  return { temperature, nllBefore, nllAfter, n, atBound };
}

/**
 * Everything the batch view shows for one classification head.
 * @param {ArrayLike<ArrayLike<number>>} probs softmax rows, one per item
 * @param {ArrayLike<number>} yTrue true class per item (-1 = unlabelled)
 * @param {number} k number of classes
 * When the fit runs to a bound of its range (`fitted: false`; with no wrong item the NLL
 * falls all the way to T -> 0), no temperature is fitted: T stays 1 and "after" equals
 * "before", rather than reporting a sharpening that the data cannot support.
 * @param {{ bins?: number, heldOut?: boolean }} [opts] heldOut (default true): also
 *   report the ECE after temperature scaling by 2-fold cross-fitting (T fitted on the
 *   even items is scored on the odd ones and the other way round), since an ECE measured
 *   on the items T was fitted on flatters the fit
 */
export function evaluate(probs, yTrue, k, opts = {}) {
  const bins = opts.bins ?? 10;
  const yPred = Array.from(probs, (row) => argmax(row));
  const labelled = Array.from(yTrue).filter(isLabelled).length;
  const cm = confusionMatrix(yTrue, yPred, k);
  const fit = fitTemperature(probs, yTrue);
  const fitted = labelled > 0 && !fit.atBound;
  const temperature = fitted ? fit.temperature : 1;
  const before = calibration(probs, yTrue, 1, bins);
  const after = fitted ? calibration(probs, yTrue, temperature, bins) : before;
  const result = {
    items: probs.length,
    labelled,
    accuracy: accuracy(yTrue, yPred),
    yPred,
    confusion: cm.matrix,
    perClass: perClassMetrics(cm.matrix, cm.abstained),
    temperature,
    fitted,
    boundTemperature: fit.atBound ? fit.temperature : NaN,
    nllBefore: fit.nllBefore,
    nllAfter: fitted ? fit.nllAfter : fit.nllBefore,
    before,
    after,
    heldOutEce: NaN,
  };
  if ((opts.heldOut ?? true) && labelled >= 4) result.heldOutEce = crossFitEce(probs, yTrue, bins);
  return result;
}

/**
 * ECE after temperature scaling on items the temperature never saw: labelled items are
 * split by their rank among labelled items (even / odd), T is fitted on each half and
 * applied to the other (T = 1 where a half's fit runs to a bound, as in `evaluate`),
 * and one reliability diagram is made over all of them.
 */
export function crossFitEce(probs, yTrue, bins = 10) {
  const idx = [];
  for (let i = 0; i < probs.length; i++) if (isLabelled(yTrue[i])) idx.push(i);
  const halves = [idx.filter((_, r) => r % 2 === 0), idx.filter((_, r) => r % 2 === 1)];
  const confidence = [];
  const correct = [];
  for (let h = 0; h < 2; h++) {
    const fitOn = halves[1 - h];
    const fit = fitTemperature(fitOn.map((i) => probs[i]), fitOn.map((i) => yTrue[i]));
    const temperature = fit.atBound ? 1 : fit.temperature;
    for (const i of halves[h]) {
      const p = temperatureScale(probs[i], temperature);
      const top = argmax(p);
      confidence.push(p[top]);
      correct.push(top === yTrue[i]);
    }
  }
  return reliability(confidence, correct, { bins }).ece;
}
