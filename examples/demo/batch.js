/**
 * Batch and calibration: a folder or many files classified with `predictBatch` (a table
 * of answers), judged with `model.evaluate` (accuracy, per-class precision / recall / F1,
 * confusion matrix, reliability diagram) and calibrated with `model.calibrate` (a
 * temperature per head, ECE before and after). The demo ships hard samples
 * (samples-hard/) that its shape model is over-confident on, to calibrate with one click.
 */
import { drawReliability } from './charts.js';
import { baseName, labelFromFileName, parseLabelsCsv } from './labels.js';
import { recordBatch } from './latency.js';
import { store } from './store.js';
import { classesOf, requestPostprocess } from './serving.js';
import { $, el, isImage, pathOf, pct, showError, stat } from './ui.js';

let objectUrls = [];
let abort = null;

/** Whether this build of inpage has the evaluation API. */
const canEvaluate = (model) => typeof model?.evaluate === 'function' && typeof model?.calibrate === 'function';

/** True class per file and head: the CSV where it has the file and a column for the head, else the file name. */
function truthFor(files, csv, heads) {
  return heads.map((h, hi) => files.map((f) => {
    const row = csv?.rows.get(baseName(f.name));
    if (row) {
      const col = h.name in row ? h.name : hi === 0 && 'label' in row ? 'label' : null;
      if (col) return row[col];
    }
    return h.labels ? labelFromFileName(pathOf(f), h.labels) : -1;
  }));
}

/** Of several CSVs (labels.csv, labels-multihead.csv), the one naming the most heads. */
async function pickCsv(csvFiles, heads) {
  const classes = Object.fromEntries(heads.map((h) => [h.name, h.labels ?? []]));
  classes.label = heads[0].labels ?? [];
  let best = { covered: -1, csv: null, file: null };
  for (const f of csvFiles) {
    const parsed = parseLabelsCsv(await f.text(), classes);
    const covered = heads.filter((h, i) => parsed.columns.includes(h.name) || (i === 0 && parsed.columns.includes('label'))).length;
    if (covered > best.covered) best = { covered, csv: parsed, file: f };
  }
  return best;
}

/** The samples `evaluate` and `calibrate` take: one label per head for a multi-head model. */
function samplesOf(files, truth, heads) {
  return files.map((input, i) => ({
    input,
    label: heads.length === 1 ? truth[0][i] : Object.fromEntries(heads.map((h, hi) => [h.name, truth[hi][i]])),
  }));
}

/** Reads the labelled files of a folder (or a file list) and runs them. */
export async function runBatch(list) {
  const { model, imageInput, heads, info } = store.get();
  if (!model || !imageInput) {
    showError(new Error('Load a model with an image input first'), 'Batch');
    return;
  }
  const all = [...list];
  const files = all.filter(isImage).sort((a, b) => pathOf(a).localeCompare(pathOf(b), undefined, { numeric: true }));
  if (!files.length) {
    showError(new Error('No images among the chosen files'), 'Batch');
    return;
  }
  const { csv, file: csvFile } = await pickCsv(all.filter((f) => /\.csv$/i.test(f.name)), heads);
  const truth = truthFor(files, csv, heads);
  const progress = $('#batch-progress');
  const status = $('#batch-status');
  const onProgress = (what) => (done, total) => {
    progress.max = total > 0 ? total : files.length;
    progress.value = done;
    status.textContent = `${what} ${done} of ${files.length} images…`;
  };
  progress.hidden = false;
  $('#batch-report').replaceChildren();
  $('#batch-table-box').hidden = true;
  $('#batch-cancel').hidden = false;
  abort = new AbortController();
  const t0 = performance.now();
  status.textContent = `Classifying ${files.length} images on ${info.backend}…`;
  let preds;
  let evaluation = null;
  try {
    preds = await model.predictBatch(files, {
      signal: abort.signal,
      postprocess: requestPostprocess({ raw: true }),
      // An evaluation, not live traffic: kept out of the monitoring window.
      monitor: false,
      onProgress: onProgress('Classified'),
    });
    recordBatch(preds);
    const seconds = (performance.now() - t0) / 1000;
    const summary = `${files.length} images in ${seconds.toFixed(1)} s (${(files.length / seconds).toFixed(0)} images/s) on ${info.backend}` +
      (csvFile ? ` · labels from ${csvFile.name}` : ' · labels from file names') + (csv?.unknown ? ` · ${csv.unknown} unknown label names ignored` : '');
    renderTable(files, truth, preds, heads);
    if (canEvaluate(model)) {
      evaluation = await evaluateAndCalibrate(model, samplesOf(files, truth, heads), { signal: abort.signal, onProgress });
    }
    status.textContent = summary;
  } catch (e) {
    if (e?.code === 'ABORTED') status.textContent = 'Batch cancelled.';
    else if (e?.code !== 'DISPOSED') showError(e, 'Batch failed');
    return;
  } finally {
    progress.hidden = true;
    $('#batch-cancel').hidden = true;
    abort = null;
  }
  const box = $('#batch-report');
  if (evaluation) renderReport(box, evaluation, heads, info);
  else box.replaceChildren(el('p', { class: 'small note', 'data-testid': 'no-evaluate', text: 'This build of inpage has no model.evaluate / model.calibrate: the table shows the answers, without metrics.' }));
}

/**
 * Judges the model on labelled samples, fits a temperature, and judges again with it:
 * `evaluate` at the temperature in use, `calibrate` with `apply: true` (the model serves
 * the fitted temperature from then on), `evaluate` again for the reliability diagram after.
 * The samples do not become the drift reference (the monitoring panel sets that), except
 * for a model of one's own, which has no other.
 */
async function evaluateAndCalibrate(model, samples, { signal, onProgress = () => () => undefined } = {}) {
  // A model of one's own has no shipped reference: its evaluated batch becomes the reference.
  const reference = store.get().source === 'custom';
  const before = await model.evaluate(samples, { signal, reference, onProgress: onProgress('Evaluating') });
  const fit = await model.calibrate(samples, { signal, apply: true, onProgress: onProgress('Calibrating on') });
  const after = fit.applied ? await model.evaluate(samples, { signal, reference: false, onProgress: onProgress('Evaluating again') }) : before;
  // Later predictions from this page carry the fitted temperatures (see requestPostprocess).
  const fits = headFits(fit);
  const temperature = {};
  for (const [name, f] of Object.entries(fits)) if (f.temperature != null) temperature[name] = f.temperature;
  store.set({ temperature });
  return { before, after, fit, fits };
}

/** The fit of each head by name (a single-head model's fit under its one head). */
function headFits(fit) {
  const { heads } = store.get();
  if (fit.heads && Object.keys(fit.heads).length) return fit.heads;
  return { [heads[0].name]: fit };
}

const headReport = (r, name, multi) => (multi ? r.heads?.[name] : r) ?? r;

/**
 * The report of one evaluation: per head, the numbers, per-class table, confusion matrix
 * and reliability before and after calibration; test ids carry the head's name when there
 * are several (`accuracy-shape`).
 */
function renderReport(box, { before, after, fits }, heads, info) {
  box.replaceChildren();
  const multi = heads.length > 1;
  for (const head of heads) {
    const b = headReport(before, head.name, multi);
    const a = headReport(after, head.name, multi);
    const f = fits[head.name] ?? fits[Object.keys(fits)[0]];
    const k = classesOf(head, info) || b.confusion.length;
    const names = Array.from({ length: k }, (_, i) => head.labels?.[i] ?? String(i));
    const id = multi ? `-${head.name}` : '';
    const section = el('div', { class: 'head-report', 'data-head': head.name });
    if (multi) section.append(el('h3', { text: `Head “${head.name}”` }));
    box.append(section);
    if (!(b.labelled > 0)) {
      section.append(el('p', { class: 'small', 'data-testid': `accuracy${id}`, text: 'No labels for this head: accuracy and calibration need labelled items.' }));
      continue;
    }
    const fitted = f.temperature != null;
    section.append(el('div', { class: 'stats' },
      stat('accuracy', pct(b.accuracy), `accuracy${id}`),
      stat(`labelled of ${b.count}`, String(b.labelled)),
      stat('macro precision', pct(b.macro.precision)),
      stat('macro recall', pct(b.macro.recall)),
      stat('ECE before', pct(f.before.ece), `ece-before${id}`),
      stat(fitted ? `ECE after (T = ${f.temperature.toFixed(2)})` : 'ECE after (no T fitted)', pct(f.after.ece), `ece-after${id}`),
      // Scored on items the temperature was not fitted on (where the library reports it).
      f.heldOut ? stat('ECE after, held out', pct(f.heldOut.ece), `ece-held-out${id}`) : null,
      stat('NLL before → after', `${f.before.nll.toFixed(3)} → ${f.after.nll.toFixed(3)}`, null, 'narrow')));
    const perClass = el('table', { class: 'per-class', 'data-testid': `per-class${id}` },
      el('thead', {}, el('tr', {}, ['class', 'precision', 'recall', 'F1', 'support'].map((t) => el('th', { text: t })))),
      el('tbody', {}, b.perClass.map((c) => el('tr', {},
        el('td', { text: c.label ?? names[c.index] }), el('td', { text: pct(c.precision) }), el('td', { text: pct(c.recall) }),
        el('td', { text: pct(c.f1) }), el('td', { text: String(c.support) })))));
    const maxCell = Math.max(1, ...b.confusion.flat());
    const confusion = el('table', { class: 'confusion', 'data-testid': `confusion${id}` },
      el('thead', {}, el('tr', {}, el('th', { class: 'corner', text: 'true ↓ / predicted →' }), names.map((n) => el('th', { text: n })))),
      el('tbody', {}, b.confusion.map((row, i) => el('tr', {}, el('th', { text: names[i] }),
        row.map((v, j) => el('td', {
          class: i === j ? 'diag' : v ? 'off' : '',
          style: v ? `--a:${(0.12 + 0.88 * (v / maxCell)).toFixed(3)}` : '',
          text: String(v),
        }))))));
    const cBefore = el('canvas', { class: 'reliability', width: 320, height: 300, 'data-testid': `reliability-before${id}` });
    const cAfter = el('canvas', { class: 'reliability', width: 320, height: 300, 'data-testid': `reliability-after${id}` });
    section.append(
      el('div', { class: 'grid2' },
        el('div', {}, el('h4', { text: 'Per class' }), perClass),
        el('div', {}, el('h4', { text: 'Confusion matrix' }), el('div', { class: 'table-scroll' }, confusion))),
      el('h4', { text: 'Reliability' }),
      el('p', { class: 'small', text: 'The temperature T is fitted by inpage (model.calibrate) by minimizing the negative log-likelihood of the labelled items; the model serves it from then on.' }),
      el('div', { class: 'grid2' }, cBefore, cAfter));
    if (!fitted) {
      section.append(el('p', { class: 'small note', 'data-testid': `no-temperature${id}` },
        `No temperature fitted (${f.code ?? 'no fit'}): ${f.message ?? 'the labelled items give no finite optimum'}. The temperature stays as it was.`));
    }
    // Drawn after insertion so the canvases have their CSS size.
    requestAnimationFrame(() => {
      drawReliability(cBefore, b, 'Before');
      drawReliability(cAfter, a, fitted ? `After (T = ${f.temperature.toFixed(2)})` : 'After: no T fitted');
    });
  }
  renderTemperatureChoice();
}

/** The "calibrated" switch beside the threshold: on, later predictions use the fitted temperatures. */
let fittedTemperature = {};
function renderTemperatureChoice() {
  fittedTemperature = store.get().temperature;
  const names = Object.entries(fittedTemperature);
  $('#calib-label').hidden = names.length === 0;
  $('#use-temperature').checked = names.length > 0;
  $('#temperature-value').textContent = names.map(([h, t]) => (store.get().heads.length > 1 ? `${h} ${t.toFixed(2)}` : t.toFixed(2))).join(', ');
}

function renderTable(files, truth, preds, heads) {
  for (const u of objectUrls) URL.revokeObjectURL(u);
  objectUrls = [];
  const table = $('#batch-table');
  const multi = heads.length > 1;
  const name = (h, i) => (i < 0 ? '–' : h.labels?.[i] ?? String(i));
  const headRow = el('tr', {}, el('th', { text: '' }), el('th', { text: 'file' }),
    heads.map((h) => [
      el('th', { text: multi ? `${h.name}: label` : 'label' }),
      el('th', { text: multi ? `${h.name}: predicted` : 'predicted' }),
      el('th', { text: 'confidence' })]));
  const LIMIT = 2000;
  const rows = files.slice(0, LIMIT).map((f, i) => {
    const url = URL.createObjectURL(f);
    objectUrls.push(url);
    return el('tr', {},
      el('td', {}, el('img', { src: url, alt: '', width: 32, height: 32 })),
      el('td', { text: pathOf(f) }),
      heads.map((h, hi) => {
        const y = truth[hi][i];
        const p = multi ? preds[i].heads?.[h.name] : preds[i];
        const mark = y < 0 ? '' : y === p.index ? 'ok' : 'bad';
        return [
          el('td', { text: y < 0 ? 'unlabelled' : name(h, y) }),
          el('td', { class: mark, text: `${name(h, p.index)}${mark === 'ok' ? ' ✓' : mark === 'bad' ? ' ✗' : ''}` }),
          el('td', { text: pct(p.confidence) })];
      }));
  });
  table.replaceChildren(el('thead', {}, headRow), el('tbody', {}, rows));
  if (files.length > LIMIT) table.append(el('caption', { text: `First ${LIMIT} of ${files.length} rows.` }));
  $('#batch-table-box').hidden = false;
}

/** Forgets the last report: it belongs to the previous model. */
function resetBatch() {
  $('#batch-report').replaceChildren();
  $('#batch-table-box').hidden = true;
  $('#batch-status').textContent = '';
  $('#calib-label').hidden = true;
  $('#use-temperature').checked = false;
  fittedTemperature = {};
}

export function setupBatch() {
  store.on(['model'], ({ model }) => {
    if (!model) resetBatch();
  });
  store.on(['imageInput', 'info'], ({ imageInput, info }) => {
    $('#batch').classList.toggle('disabled', Boolean(info) && !imageInput);
  });
  $('#use-temperature').addEventListener('change', (ev) => {
    store.set({ temperature: ev.target.checked ? fittedTemperature : {} });
  });
  for (const id of ['#batch-folder', '#batch-files']) {
    $(id).addEventListener('change', (ev) => {
      if (ev.target.files?.length) void runBatch(ev.target.files);
    });
  }
  $('#batch-cancel').addEventListener('click', () => abort?.abort());
}
