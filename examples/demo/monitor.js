/**
 * Monitoring: what the model has been answering, from `model.stats()`: the top-1
 * confidence histogram, the abstain rate, answers per class, and drift (population
 * stability index) against a reference, set with `model.setReference` from 300 shipped
 * images of the training distribution (samples-reference/). Drawings unlike the training shapes (scribbles) move the confidence
 * and class mix away from the reference, and the PSI rises.
 */
import { drawHistogram } from './charts.js';
import { onStats } from './latency.js';
import { predictFile } from './try.js';
import { sampleFiles } from './samples.js';
import { store } from './store.js';
import { $, el, pct, showError } from './ui.js';

let reference = null;

/** Whether this build of inpage monitors predictions. */
const canMonitor = (model) => typeof model?.setReference === 'function';

async function setReference({ model, source }) {
  reference = null;
  $('#monitor-reference').textContent = '';
  $('#monitor-sent').textContent = '';
  if (!canMonitor(model)) return;
  if (source === 'custom') {
    $('#monitor-reference').textContent = 'No reference for a model of your own: drift is shown once a reference is set (an evaluated batch becomes one).';
    return;
  }
  try {
    const files = (await sampleFiles('samples-reference')).filter((f) => f.type.startsWith('image/'));
    if (store.get().model !== model) return;
    reference = await model.setReference(files);
    $('#monitor-reference').textContent = `Reference: the model's answers to ${files.length} images of its training distribution (samples-reference/).`;
  } catch (e) {
    if (e?.code !== 'DISPOSED') showError(e, 'Setting the drift reference');
  }
}

function render(s) {
  const { heads, threshold } = store.get();
  const n = s.predictions ?? 0;
  $('#monitor-predictions').textContent = String(n);
  $('#abstain-rate').textContent = n ? pct(s.abstainRate) : '–';
  drawHistogram($('#confidence-histogram'), s.confidence.bins, { reference: reference?.confidenceBins, threshold });
  const names = heads[0]?.labels ?? [];
  const max = Math.max(1, ...s.classCounts);
  $('#class-counts').replaceChildren(...s.classCounts.map((c, i) => el('div', { class: 'bar' },
    el('span', { class: 'name', text: names[i] ?? `class ${i}` }),
    el('span', { class: 'track' }, el('span', { class: 'fill', style: `width:${((100 * c) / max).toFixed(1)}%` })),
    el('span', { class: 'value', text: String(c) }))));
  const d = s.drift;
  const box = $('#drift');
  box.dataset.alarm = String(Boolean(d?.alarm));
  $('#drift-class-psi').textContent = d ? d.classPsi.toFixed(3) : '–';
  $('#drift-confidence-psi').textContent = d ? d.confidencePsi.toFixed(3) : '–';
  $('#drift-alarm').textContent = !d ? 'no reference yet' : d.alarm ? 'drift alarm: unlike the reference' : n < 30 ? 'too few answers to judge' : 'no drift';
  $('#drift-alarm').className = `pill ${d?.alarm ? 'alarm' : d && n >= 30 ? 'ok' : 'muted'}`;
}

/** Sends the shipped samples (other images of the training distribution) as live requests, one after the other. */
async function sendTraffic() {
  const button = $('#send-samples');
  button.disabled = true;
  try {
    const files = (await sampleFiles('samples')).filter((f) => f.type.startsWith('image/'));
    for (const f of files) await predictFile(f);
    $('#monitor-sent').textContent = `Sent ${files.length} samples.`;
  } catch (e) {
    showError(e, 'Sending samples');
  } finally {
    button.disabled = false;
  }
}

export function setupMonitor() {
  // A new model, or another version promoted: a fresh reference for what now answers.
  store.on(['info'], (s) => {
    if (!s.info || !s.model) return;
    const supported = canMonitor(s.model);
    $('#monitor').hidden = !supported;
    if (!supported) return;
    // Nothing of the previous model's window stays on screen until the next poll.
    reference = null;
    render({ predictions: 0, abstainRate: NaN, confidence: { bins: new Array(10).fill(0) }, classCounts: [] });
    void setReference(s);
  });
  onStats((s) => {
    if (!$('#monitor').hidden && s.confidence) render(s);
  });
  $('#send-samples').addEventListener('click', () => void sendTraffic());
}
