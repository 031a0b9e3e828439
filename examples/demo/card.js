/**
 * The model card ("Model") and the own-model panel ("Your own model"): the signature of
 * a dropped model, its activation choice and a run on zeros for a non-image input.
 */
import { store } from './store.js';
import { classesOf, setCustomFiles, switchModel } from './serving.js';
import { $, el, showError, clearErrors } from './ui.js';

function shapeText(shape) {
  return shape ? `[${shape.map((d) => (d == null ? '?' : d)).join(', ')}]` : 'unknown';
}

const FACTS = ['#f-name', '#f-backend', '#f-bytes', '#f-source', '#f-time', '#f-input', '#f-outputs', '#f-classes'];

function renderFacts({ info, heads, imageInput: img, runtime, source }) {
  if (!info) {
    // Nothing of the previous model stays on the card while the next one loads.
    for (const id of FACTS) $(id).textContent = '–';
    $('#f-name').textContent = 'loading…';
    return;
  }
  $('#f-name').replaceChildren(`${info.name} (${info.format})`, el('div', { class: 'small muted', text: `version ${info.version}` }));
  // On WASM, the threads it runs: more than one where the page is cross-origin isolated.
  const threads = info.backend === 'wasm' ? ` · ${info.threads} thread${info.threads === 1 ? '' : 's'}` : '';
  $('#f-backend').textContent = `${info.backend}${threads} · ${runtime?.worker ? 'in a Web Worker' : 'on the page'}`;
  $('#f-bytes').textContent = `${(info.bytes / 1024).toFixed(0)} KB`;
  $('#f-source').textContent = source === 'custom' ? 'your files' : info.fromCache ? 'inpage cache (IndexedDB)' : 'network';
  $('#f-time').textContent = info.loadTime ?? '–';
  $('#f-input').textContent = img ? `${img.h ?? 'any'}×${img.w ?? 'any'}×${img.c} image` : shapeText(info.inputs[0]?.shape ?? null);
  $('#f-outputs').textContent = info.outputs.map((o) => `${o.name} ${shapeText(o.shape)}`).join(', ');
  $('#f-classes').replaceChildren(...heads.map((h) => el('div', {},
    heads.length > 1 ? el('span', { class: 'small', text: `${h.name}: ` }) : null,
    h.labels ? h.labels.map((l) => el('span', { class: 'chip', text: l })) : `${classesOf(h, info)} classes, no names`)));
}

/** The own-model panel shows a signature only for a model dropped there. */
function renderSignature({ info, imageInput: img, source, heads }) {
  const box = $('#signature');
  if (source !== 'custom' || !info) {
    box.replaceChildren(source === 'custom' ? el('p', { class: 'small', text: 'Reading your model…' }) : '');
    $('#tensor-run').hidden = true;
    $('#run-output').textContent = '';
    return;
  }
  const row = (kind, t) => el('tr', {}, el('td', { text: kind }), el('td', {}, el('code', { text: t.name })), el('td', { text: t.dtype }), el('td', {}, el('code', { text: shapeText(t.shape) })));
  box.replaceChildren(
    el('p', { class: 'small' },
      el('strong', { text: info.name }), ` version ${info.version} · ${info.format} model · ${(info.bytes / 1024).toFixed(0)} KB of weights · on ${info.backend}${info.async ? ' · executeAsync' : ''}`),
    el('table', { class: 'sig', 'data-testid': 'signature-table' },
      el('thead', {}, el('tr', {}, el('th', { text: '' }), el('th', { text: 'name' }), el('th', { text: 'dtype' }), el('th', { text: 'shape' }))),
      el('tbody', {}, info.inputs.map((t) => row('input', t)), info.outputs.map((t) => row('output', t)))),
    el('p', { class: 'small' }, img
      ? `Image input (${img.layout}, ${img.h ?? 'any'}×${img.w ?? 'any'}, ${img.c} channel${img.c === 1 ? '' : 's'}): the “Try it” and batch panels run on this model.`
      : 'This input is not an image: “Run on zeros” runs the model on a tensor of zeros.'),
  );
  const sel = el('select', { id: 'custom-activation' },
    el('option', { value: 'none', text: 'outputs are probabilities' }),
    el('option', { value: 'softmax', text: 'apply softmax' }),
    el('option', { value: 'sigmoid', text: 'apply sigmoid' }));
  sel.value = heads[0]?.activation ?? 'none';
  sel.addEventListener('change', () => {
    store.set({ heads: store.get().heads.map((h) => ({ ...h, activation: sel.value })) });
  });
  box.append(el('label', { class: 'small' }, 'Outputs: ', sel));
  $('#tensor-run').hidden = Boolean(img);
}

/** Loads the visitor's model.json and shards. */
export async function loadCustom(list) {
  const files = [...list];
  if (!files.some((f) => /\.json$/i.test(f.name) && !/labels\.json$/i.test(f.name))) {
    showError(new Error('Drop model.json together with its .bin weight files'), 'Your own model');
    return;
  }
  clearErrors();
  setCustomFiles(files);
  const opt = $('#model-select option[value="custom"]');
  opt.disabled = false;
  $('#model-select').value = 'custom';
  await switchModel({ source: 'custom' });
}

async function runZeros() {
  const { model, info } = store.get();
  if (!model) return;
  const inputs = {};
  for (const t of info.inputs) {
    const shape = (t.shape ?? [1]).map((d) => (d == null ? 1 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = t.dtype === 'int32' ? new Int32Array(n) : t.dtype === 'bool' ? new Uint8Array(n) : new Float32Array(n);
    inputs[t.name] = { data, shape, dtype: t.dtype === 'bool' || t.dtype === 'int32' ? t.dtype : 'float32' };
  }
  try {
    const out = await model.run(inputs);
    $('#run-output').textContent = Object.entries(out)
      .map(([k, v]) => `${k}: [${v.shape.join(', ')}] ${Array.from(v.data.slice(0, 8), (x) => +Number(x).toFixed(4)).join(', ')}${v.data.length > 8 ? ', …' : ''}`)
      .join('\n');
  } catch (e) {
    showError(e, 'Run');
  }
}

export function setupCard() {
  store.on(['info', 'heads'], (s) => {
    renderFacts(s);
    renderSignature(s);
  });
  renderFacts(store.get());
  $('#run-zeros').addEventListener('click', runZeros);
  $('#model-files').addEventListener('change', (ev) => {
    if (ev.target.files?.length) void loadCustom(ev.target.files);
    ev.target.value = '';
  });
}
