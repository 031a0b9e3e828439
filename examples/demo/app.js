/**
 * The inpage demo page. It uses inpage the way an app would: from the built ESM entry,
 * through the public API only (createRuntime, runtime.load, model.predict,
 * model.predictBatch, model.stats, model.info).
 */
import * as inpage from '../../dist/inpage.mjs';
import { drawLatency, drawReliability } from './charts.js';
import * as M from './metrics.js';

const { activate, createRuntime } = inpage;
/** inpage's model cache API (newer builds); the page works without it. */
const modelCache = inpage.cache;

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
};
const pct = (v, digits = 1) => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : 'n/a');
const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms` : '–');

const params = new URLSearchParams(location.search);
const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];
const IMAGE_EXT = /\.(png|jpe?g|gif|webp|bmp|avif)$/i;
const isImage = (f) => (f.type ? f.type.startsWith('image/') : IMAGE_EXT.test(f.name));

/** The demo's own models, beside this page (committed; made by scripts/train-demo.mjs). */
const here = (path) => new URL(path, import.meta.url).href;
const MODELS = {
  demo: { url: here('./model/model.json'), labels: here('./model/labels.json'), metrics: here('./model/metrics.json'), name: 'shapes' },
  multihead: {
    url: here('./model-multihead/model.json'), labels: here('./model-multihead/labels.json'),
    metrics: here('./model-multihead/metrics.json'), name: 'shapes-multihead',
  },
};

const state = {
  runtime: null,
  model: null,
  /** The backend the visitor asked for, or null for inpage's default ladder. */
  wanted: BACKENDS.includes(params.get('backend')) ? params.get('backend') : null,
  /** Which model: 'demo' | 'multihead' | 'custom'. */
  source: params.get('model') === 'multihead' ? 'multihead' : 'demo',
  customFiles: null,
  /** Classification heads of the loaded model: [{ name, output, labels, activation }]. */
  heads: [],
  imageInput: null,
  threshold: Number($('#threshold').value),
  /** Temperature fitted per head by the last labelled batch. */
  fitted: {},
  useTemperature: false,
  lastInput: null,
  seq: 0,
  history: [],
  lastRequests: 0,
  starting: null,
  objectUrls: [],
  batchAbort: null,
};

// ---------------------------------------------------------------- status and errors

function setStatus(text) {
  $('#status').textContent = text;
}

function showError(err, context) {
  const message = err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? err);
  // A visitor's mistake or an unavailable backend is reported on the page, not as a console error.
  console.warn(`[inpage demo] ${context}:`, err);
  const box = $('#errors');
  const item = el('div', { class: 'error' }, el('strong', { text: `${context}: ` }), message, el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', text: '×' }));
  item.querySelector('button').addEventListener('click', () => item.remove());
  box.append(item);
  while (box.children.length > 3) box.firstChild.remove();
}

function clearErrors() {
  $('#errors').replaceChildren();
}

// ---------------------------------------------------------------- runtime and model

/** What the page can tell about each backend before asking inpage for it. */
async function probeBackends() {
  const why = {};
  try {
    const gpu = navigator.gpu;
    if (!gpu) why.webgpu = 'this browser has no WebGPU';
    else if (!(await gpu.requestAdapter())) why.webgpu = 'no WebGPU adapter here';
  } catch (e) {
    why.webgpu = `WebGPU failed: ${e.message}`;
  }
  try {
    const c = new OffscreenCanvas(1, 1);
    if (!c.getContext('webgl2') && !c.getContext('webgl')) why.webgl = 'no WebGL on OffscreenCanvas';
  } catch {
    why.webgl = 'no OffscreenCanvas';
  }
  if (typeof WebAssembly !== 'object') why.wasm = 'no WebAssembly';
  for (const b of $('#backend-switch').querySelectorAll('button')) {
    const reason = why[b.dataset.backend];
    b.disabled = Boolean(reason);
    b.title = reason ?? `Run the model on ${b.textContent}`;
  }
}

function markBackend(backend) {
  $('#backend').textContent = backend ?? 'none';
  $('#backend').className = `pill ${backend ?? 'muted'}`;
  for (const b of $('#backend-switch').querySelectorAll('button')) {
    b.setAttribute('aria-pressed', String(b.dataset.backend === backend));
  }
  document.body.dataset.backend = backend ?? '';
}

async function fetchLabels(url) {
  try {
    const r = await fetch(url);
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

/**
 * The version under which inpage caches a demo model: a hash of its metrics.json, which
 * changes whenever scripts/train-demo.mjs makes different weights (its training is
 * deterministic). inpage's cache answers first, so without a new version a returning
 * visitor would keep an old model. Offline, the last version seen is used.
 */
async function modelVersion(m) {
  const key = `inpage-demo:version:${m.name}`;
  try {
    const r = await fetch(m.metrics, { cache: 'no-store' });
    if (r.ok) {
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await r.arrayBuffer()));
      const v = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');
      localStorage.setItem(key, v);
      return v;
    }
  } catch {
    // Offline without the service worker's copy: fall back to the last version seen.
  }
  return localStorage.getItem(key) ?? '1';
}

/** Drops cached versions of a demo model other than the one in use. */
async function pruneCache(name, version) {
  if (!modelCache) return;
  try {
    for (const e of await modelCache.list()) {
      if (e.name === name && e.version !== version) await modelCache.delete(name, e.version);
    }
  } catch {
    // The cache is a convenience here; a failure to prune is not the visitor's concern.
  }
}

/** The model's classification heads: one per labelled output, or the first output. */
function headsFor(info, labels, activation = 'none') {
  const rank2 = info.outputs.filter((o) => !o.shape || o.shape.length === 2);
  if (labels && !Array.isArray(labels) && typeof labels === 'object') {
    const named = info.outputs.filter((o) => Array.isArray(labels[o.name]));
    if (named.length) return named.map((o) => ({ name: o.name, output: o.name, labels: labels[o.name].map(String), activation }));
  }
  const outs = rank2.length ? rank2 : info.outputs.slice(0, 1);
  return outs.map((o, i) => ({
    name: o.name,
    output: o.name,
    labels: i === 0 && Array.isArray(labels) ? labels.map(String) : null,
    activation,
  }));
}

function classesOf(head, info) {
  if (head.labels) return head.labels.length;
  const o = info.outputs.find((x) => x.name === head.output);
  const k = o?.shape?.[o.shape.length - 1];
  return typeof k === 'number' ? k : 0;
}

/** An image input: [n, h, w, 1|3] or [n, 1|3, h, w] (or without the batch dimension). */
function imageInputOf(info) {
  const x = info.inputs[0];
  if (!x?.shape || info.inputs.length !== 1) return null;
  const s = x.shape;
  const chans = (v) => v === 1 || v === 3;
  if (s.length === 4 && chans(s[3])) return { layout: 'NHWC', h: s[1], w: s[2], c: s[3] };
  if (s.length === 4 && chans(s[1])) return { layout: 'NCHW', h: s[2], w: s[3], c: s[1] };
  if (s.length === 3 && chans(s[2])) return { layout: 'HWC', h: s[0], w: s[1], c: s[2] };
  return null;
}

/** The postprocess spec for a set of heads (one head: top level; several: `heads`). */
function postprocessFor(heads, extra = () => ({})) {
  if (heads.length === 1) {
    const h = heads[0];
    return { output: h.output, activation: h.activation, labels: h.labels ?? undefined, topK: 5, ...extra(h) };
  }
  return {
    heads: Object.fromEntries(heads.map((h) => [h.name, { activation: h.activation, labels: h.labels ?? undefined, topK: 5, ...extra(h) }])),
  };
}

/**
 * Per-request options: the threshold slider and, when chosen, the fitted temperature.
 * `includeOutputs` (the raw outputs, for the batch metrics) is a top-level option.
 */
function requestPostprocess({ includeOutputs = false, ...more } = {}) {
  const spec = postprocessFor(state.heads, (h) => ({
    threshold: state.threshold,
    temperature: state.useTemperature && state.fitted[h.name] ? state.fitted[h.name] : 1,
    ...more,
  }));
  if (includeOutputs) spec.includeOutputs = true;
  return spec;
}

/**
 * (Re)starts the runtime on the wanted backend and loads the current model. Backend
 * switches go through here: the old runtime is terminated, a new one is created.
 */
async function start() {
  const run = (state.starting = (async () => {
    const previous = state.runtime;
    state.model = null;
    state.runtime = null;
    if (previous) await previous.terminate().catch(() => undefined);
    markBackend(null);
    $('#backend').textContent = 'starting';
    setStatus(`Starting the runtime${state.wanted ? ` on ${state.wanted}` : ''}…`);
    const options = {
      // The worker is started from ./worker.js, which imports dist/inpage.worker.js: a
      // worker script inside this page's folder is in the service worker's scope, so the
      // model and WASM files it fetches are served from cache when offline.
      workerUrl: new URL('./worker.js', import.meta.url),
    };
    if (state.wanted) options.backends = [state.wanted];
    let runtime;
    try {
      runtime = await createRuntime(options);
    } catch (e) {
      showError(e, `Could not start ${state.wanted ?? 'any backend'}`);
      if (state.wanted) {
        state.wanted = null;
        return start();
      }
      setStatus('No backend could start.');
      return;
    }
    state.runtime = runtime;
    markBackend(runtime.backend);
    await loadModel(runtime);
  })());
  return run;
}

async function loadModel(runtime) {
  const progress = $('#load-progress');
  progress.hidden = false;
  progress.removeAttribute('value');
  const onProgress = ({ loaded, total }) => {
    progress.dataset.last = `${loaded}/${total}`;
    if (total > 0) {
      progress.max = total;
      progress.value = loaded;
      setStatus(`Downloading the model… ${(loaded / 1024).toFixed(0)} of ${(total / 1024).toFixed(0)} KB`);
    }
  };
  let labels = null;
  let spec;
  if (state.source === 'custom') {
    const files = state.customFiles;
    const labelFile = files.find((f) => /^labels\.json$/i.test(f.name));
    if (labelFile) {
      try {
        labels = JSON.parse(await labelFile.text());
      } catch (e) {
        showError(e, 'labels.json is not valid JSON; showing class indices');
      }
    }
    // model.json (or the one other .json) and the weight shards; other files dropped
    // with them (labels.json, metrics.json, a README) are not the model's.
    const jsons = files.filter((f) => /\.json$/i.test(f.name) && f !== labelFile);
    const modelJson = jsons.find((f) => f.name === 'model.json') ?? jsons[0];
    const folder = pathOf(modelJson).split('/').slice(-2, -1)[0];
    spec = { files: [modelJson, ...files.filter((f) => /\.bin$/i.test(f.name))], name: folder || modelJson.name.replace(/\.json$/i, ''), onProgress };
  } else {
    const m = MODELS[state.source];
    const [l, version] = await Promise.all([fetchLabels(m.labels), modelVersion(m)]);
    labels = l;
    // cache: true keeps the model in inpage's IndexedDB cache for offline visits.
    spec = { url: m.url, name: m.name, version, cache: true, onProgress };
  }
  setStatus('Loading the model…');
  const t0 = performance.now();
  let model;
  try {
    model = await loadWith(runtime, spec, labels);
  } catch (e) {
    progress.hidden = true;
    showError(e, 'Could not load the model');
    setStatus('The model did not load.');
    return;
  }
  if (state.runtime !== runtime) {
    await model.dispose().catch(() => undefined);
    return;
  }
  state.model = model;
  state.history.push({ p50: NaN, p95: NaN, mark: runtime.backend });
  state.lastRequests = 0;
  for (const id of ['#p50', '#p95', '#throughput']) $(id).textContent = '–';
  $('#requests').textContent = '0';
  drawLatency($('#latency-chart'), state.history);
  progress.hidden = true;
  const info = model.info;
  const elapsed = performance.now() - t0;
  const seconds = elapsed < 1000 ? `${elapsed.toFixed(0)} ms` : `${(elapsed / 1000).toFixed(1)} s`;
  setStatus(`${info.name} ready on ${info.backend} in ${seconds}`);
  $('#cache-status').textContent = state.source === 'custom'
    ? 'Model: read from your files.'
    : info.fromCache
    ? 'Model: from inpage\'s cache (IndexedDB).'
    : `Model: ${(info.bytes / 1024).toFixed(0)} KB downloaded${info.cacheError ? ` (not cached: ${info.cacheError.message})` : ''}.`;
  document.body.dataset.ready = 'true';
  document.body.dataset.fromCache = String(info.fromCache);
  renderSignature(info);
  renderHeads();
  renderFacts(info, seconds);
  if (state.source !== 'custom') void pruneCache(info.name, info.version).then(showCacheUsage);
  if (state.lastInput) void predict(state.lastInput);
}

/** Loads with the heads read from the model's outputs; a cache failure falls back to the network. */
async function loadWith(runtime, spec, labels) {
  const load = async (s) => {
    // The heads depend on the outputs, which are known only after loading: load once,
    // and pass the postprocess per request (see requestPostprocess).
    const model = await runtime.load(s);
    const activation = state.source === 'custom' ? $('#custom-activation')?.value ?? 'none' : 'none';
    state.heads = headsFor(model.info, labels, activation);
    state.imageInput = imageInputOf(model.info);
    return model;
  };
  try {
    return await load(spec);
  } catch (e) {
    if (!spec.cache || !/cache|indexeddb|idb/i.test(`${e?.code} ${e?.message}`)) throw e;
    showError(e, 'inpage\'s model cache failed; loading without it');
    return load({ ...spec, cache: false });
  }
}

// ---------------------------------------------------------------- the model card

function renderFacts(info, seconds) {
  const img = state.imageInput;
  $('#f-name').replaceChildren(`${info.name} (${info.format})`, el('div', { class: 'small muted', text: `version ${info.version}` }));
  // On WASM, the threads it runs: more than one where the page is cross-origin isolated.
  const threads = info.backend === 'wasm' ? ` · ${info.threads} thread${info.threads === 1 ? '' : 's'}` : '';
  $('#f-backend').textContent = `${info.backend}${threads} · ${state.runtime?.worker ? 'in a Web Worker' : 'on the page'}`;
  $('#f-bytes').textContent = `${(info.bytes / 1024).toFixed(0)} KB`;
  $('#f-source').textContent = state.source === 'custom' ? 'your files' : info.fromCache ? 'inpage cache (IndexedDB)' : 'network';
  $('#f-time').textContent = seconds;
  $('#f-input').textContent = img ? `${img.h ?? 'any'}×${img.w ?? 'any'}×${img.c} image` : shapeText(info.inputs[0]?.shape ?? null);
  $('#f-classes').replaceChildren(...state.heads.map((h) => el('div', {},
    state.heads.length > 1 ? el('span', { class: 'small', text: `${h.name}: ` }) : null,
    h.labels ? h.labels.map((l) => el('span', { class: 'chip', text: l })) : `${classesOf(h, info)} classes, no names`)));
}

// ---------------------------------------------------------------- the signature view

function shapeText(shape) {
  return shape ? `[${shape.map((d) => (d == null ? '?' : d)).join(', ')}]` : 'unknown';
}

function renderSignature(info) {
  const box = $('#signature');
  const row = (kind, t) => el('tr', {}, el('td', { text: kind }), el('td', {}, el('code', { text: t.name })), el('td', { text: t.dtype }), el('td', {}, el('code', { text: shapeText(t.shape) })));
  const img = state.imageInput;
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
  if (state.source === 'custom') {
    const sel = el('select', { id: 'custom-activation' },
      el('option', { value: 'none', text: 'outputs are probabilities' }),
      el('option', { value: 'softmax', text: 'apply softmax' }),
      el('option', { value: 'sigmoid', text: 'apply sigmoid' }));
    sel.value = state.heads[0]?.activation ?? 'none';
    sel.addEventListener('change', () => {
      for (const h of state.heads) h.activation = sel.value;
      if (state.lastInput) void predict(state.lastInput);
    });
    box.append(el('label', { class: 'small' }, 'Outputs: ', sel));
  }
  $('#tensor-run').hidden = Boolean(img);
  $('#try').classList.toggle('disabled', !img);
  $('#batch').classList.toggle('disabled', !img);
  $('#try .hint').textContent = img
    ? 'Pick, drop or paste an image, draw a shape, or point the camera at one.'
    : 'This model does not take images: run it under “Your own model” below.';
  if (!img) {
    $('#preview').hidden = true;
    $('#drop').classList.remove('has-image');
  }
}

// ---------------------------------------------------------------- predictions

function renderHeads() {
  const box = $('#heads');
  box.replaceChildren();
  const multi = state.heads.length > 1;
  if (multi) {
    box.append(el('div', { class: 'summary', 'data-testid': 'prediction', text: 'Waiting for an image…' }));
  }
  for (const h of state.heads) {
    box.append(el('div', { class: 'head', 'data-head': h.name },
      multi ? el('h3', { text: h.name }) : null,
      el('div', { class: 'top', 'data-testid': multi ? `prediction-${h.name}` : 'prediction', text: 'Waiting for an image…' }),
      el('div', { class: 'bars', 'data-testid': multi ? `bars-${h.name}` : 'bars' })));
  }
  const fitted = state.heads.some((h) => state.fitted[h.name]);
  $('#calib-label').hidden = !fitted;
}

function labelOf(h, c) {
  return c.label ?? (h.labels?.[c.index] ?? `class ${c.index}`);
}

function renderHead(h, p) {
  const box = $(`#heads .head[data-head="${CSS.escape(h.name)}"]`);
  if (!box) return;
  const top = box.querySelector('.top');
  const best = p.topK[0];
  if (p.index === -1) {
    top.replaceChildren(el('span', { class: 'label unsure', text: 'not sure' }),
      el('span', { class: 'conf', text: best ? ` best guess ${labelOf(h, best)} at ${pct(best.confidence)}` : '' }));
  } else {
    top.replaceChildren(el('span', { class: 'label', text: labelOf(h, p) }), el('span', { class: 'conf', text: ` ${pct(p.confidence)}` }));
  }
  top.dataset.label = p.index === -1 ? '' : labelOf(h, p);
  top.dataset.confidence = String(p.confidence);
  const bars = box.querySelector('.bars');
  bars.replaceChildren(...p.topK.map((c) =>
    el('div', { class: `bar${c.index === p.index ? ' best' : ''}` },
      el('span', { class: 'name', text: labelOf(h, c) }),
      el('span', { class: 'track' }, el('span', { class: 'fill', style: `width:${(c.confidence * 100).toFixed(1)}%` })),
      el('span', { class: 'value', text: pct(c.confidence) }))));
}

function renderPrediction(p) {
  if (state.heads.length === 1) {
    renderHead(state.heads[0], p);
    return;
  }
  const parts = [];
  for (const h of state.heads) {
    const hp = p.heads?.[h.name];
    if (!hp) continue;
    renderHead(h, hp);
    parts.push(hp.index === -1 ? `${h.name}: not sure` : `${labelOf(h, hp)} ${pct(hp.confidence, 0)}`);
  }
  const summary = $('#heads .summary');
  summary.textContent = parts.join(' · ');
  summary.dataset.timing = String(p.timing.totalMs);
}

/** Classifies one input; only the latest answer is shown. */
async function predict(input) {
  state.lastInput = input;
  if (!state.model || !state.imageInput) return;
  const seq = ++state.seq;
  const model = state.model;
  let source = input.kind === 'pad' ? padForModel() : input.kind === 'video' ? $('#video') : input.blob;
  try {
    const p = await model.predict(source, { postprocess: requestPostprocess() });
    if (seq !== state.seq || model !== state.model) return;
    renderPrediction(p);
    $('#result').dataset.seq = String(seq);
    $('#result').dataset.backend = p.backend;
    $('#result').dataset.ms = p.timing.totalMs.toFixed(1);
  } catch (e) {
    if (model !== state.model || e?.code === 'DISPOSED') return;
    showError(e, 'Prediction failed');
  } finally {
    source = null;
  }
}

function showPreview(blob) {
  const img = $('#preview');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
  img.hidden = false;
  $('#drop').classList.add('has-image');
}

function predictFile(file) {
  if (!file || !isImage(file)) {
    showError(new Error(`${file?.name ?? 'That'} is not an image`), 'Cannot predict');
    return;
  }
  showPreview(file);
  void predict({ kind: 'blob', blob: file });
}

// ---------------------------------------------------------------- drawing pad

const pad = $('#pad');
const padCtx = pad.getContext('2d', { willReadFrequently: true });
let stroke = null;

function clearPad() {
  padCtx.fillStyle = '#ffffff';
  padCtx.fillRect(0, 0, pad.width, pad.height);
}

function padPoint(ev) {
  const r = pad.getBoundingClientRect();
  return [((ev.clientX - r.left) / r.width) * pad.width, ((ev.clientY - r.top) / r.height) * pad.height];
}

/** The pad scaled down to the model's input size on the page, where the browser filters it well. */
function padForModel() {
  const h = state.imageInput?.h ?? pad.height;
  const w = state.imageInput?.w ?? pad.width;
  const small = document.createElement('canvas');
  small.width = w;
  small.height = h;
  const ctx = small.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(pad, 0, 0, w, h);
  return small;
}

pad.addEventListener('pointerdown', (ev) => {
  ev.preventDefault();
  pad.setPointerCapture?.(ev.pointerId);
  clearPad();
  const [x, y] = padPoint(ev);
  stroke = [[x, y]];
  padCtx.strokeStyle = $('#pen-color').value;
  padCtx.lineWidth = pad.width / 18;
  padCtx.lineCap = 'round';
  padCtx.lineJoin = 'round';
});
pad.addEventListener('pointermove', (ev) => {
  if (!stroke) return;
  const [x, y] = padPoint(ev);
  const [px, py] = stroke[stroke.length - 1];
  padCtx.beginPath();
  padCtx.moveTo(px, py);
  padCtx.lineTo(x, y);
  padCtx.stroke();
  stroke.push([x, y]);
});
const endStroke = () => {
  if (!stroke) return;
  const pts = stroke;
  stroke = null;
  if (pts.length < 2) return;
  const [x0, y0] = pts[0];
  const [x1, y1] = pts[pts.length - 1];
  const closed = Math.hypot(x1 - x0, y1 - y0) < pad.width * 0.2;
  if ($('#pen-fill').checked && closed) {
    padCtx.fillStyle = $('#pen-color').value;
    padCtx.beginPath();
    padCtx.moveTo(x0, y0);
    for (const [x, y] of pts.slice(1)) padCtx.lineTo(x, y);
    padCtx.closePath();
    padCtx.fill();
    padCtx.stroke();
  }
  void predict({ kind: 'pad' });
};
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);
$('#pad-clear').addEventListener('click', clearPad);
const markSwatch = () => {
  for (const b of document.querySelectorAll('.swatch')) b.setAttribute('aria-pressed', String(b.dataset.color === $('#pen-color').value));
};
for (const b of document.querySelectorAll('.swatch')) {
  b.addEventListener('click', () => {
    $('#pen-color').value = b.dataset.color;
    markSwatch();
  });
}
$('#pen-color').addEventListener('input', markSwatch);
markSwatch();
clearPad();

// ---------------------------------------------------------------- camera

let cameraStream = null;
let cameraTimer = 0;

async function setupCamera() {
  const btn = $('#camera');
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) {
    $('#camera-box').hidden = true;
    return;
  }
  try {
    const devices = await md.enumerateDevices();
    if (!devices.some((d) => d.kind === 'videoinput')) {
      $('#camera-box').hidden = true;
      return;
    }
  } catch {
    // enumerateDevices may be refused; offer the button and let getUserMedia say.
  }
  btn.hidden = false;
  btn.addEventListener('click', async () => {
    const video = $('#video');
    if (cameraStream) {
      stopCamera();
      return;
    }
    try {
      cameraStream = await md.getUserMedia({ video: { width: { ideal: 320 }, height: { ideal: 240 } }, audio: false });
    } catch (e) {
      showError(e, 'Camera');
      return;
    }
    video.srcObject = cameraStream;
    video.hidden = false;
    await video.play();
    btn.textContent = 'Stop camera';
    const tick = async () => {
      if (!cameraStream) return;
      if (video.readyState >= 2) await predict({ kind: 'video' });
      cameraTimer = setTimeout(tick, 250);
    };
    void tick();
  });
}

function stopCamera() {
  clearTimeout(cameraTimer);
  for (const t of cameraStream?.getTracks() ?? []) t.stop();
  cameraStream = null;
  $('#video').hidden = true;
  $('#camera').textContent = 'Start camera';
  if (state.lastInput?.kind === 'video') state.lastInput = null;
}

// ---------------------------------------------------------------- latency chart

async function pollStats() {
  const model = state.model;
  if (model && !document.hidden) {
    try {
      const s = await model.stats();
      if (model === state.model && s.requests > 0) {
        $('#p50').textContent = ms(s.latencyMs.p50);
        $('#p95').textContent = ms(s.latencyMs.p95);
        $('#requests').textContent = String(s.requests);
        $('#throughput').textContent = s.throughputPerSec > 0 ? `${s.throughputPerSec.toFixed(1)}/s` : '–';
        state.history.push({ p50: s.latencyMs.p50, p95: s.latencyMs.p95 });
        state.lastRequests = s.requests;
      }
    } catch {
      // The model was disposed by a backend switch between the check and the call.
    }
  }
  if (state.history.length > 60) state.history.splice(0, state.history.length - 60);
  drawLatency($('#latency-chart'), state.history);
}

// ---------------------------------------------------------------- batch mode

async function filesFromDrop(dt) {
  const entries = [...(dt.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dt.files];
  const out = [];
  const walk = async (entry, path) => {
    if (entry.isFile) {
      const f = await new Promise((ok, fail) => entry.file(ok, fail));
      Object.defineProperty(f, 'relativePath', { value: path + f.name });
      out.push(f);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${path}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

const pathOf = (f) => f.webkitRelativePath || f.relativePath || f.name;

/** True class per file and head: the CSV where it has the file and a column for the head, else the file name. */
function truthFor(files, csv) {
  return state.heads.map((h, hi) => files.map((f) => {
    const row = csv?.rows.get(M.baseName(f.name));
    if (row) {
      const col = h.name in row ? h.name : hi === 0 && 'label' in row ? 'label' : null;
      if (col) return row[col];
    }
    return h.labels ? M.labelFromFileName(pathOf(f), h.labels) : -1;
  }));
}

async function runBatch(list) {
  if (!state.model || !state.imageInput) {
    showError(new Error('Load a model with an image input first'), 'Batch');
    return;
  }
  const all = [...list];
  const csvFiles = all.filter((f) => /\.csv$/i.test(f.name));
  const files = all.filter(isImage).sort((a, b) => pathOf(a).localeCompare(pathOf(b), undefined, { numeric: true }));
  if (!files.length) {
    showError(new Error('No images among the chosen files'), 'Batch');
    return;
  }
  const model = state.model;
  const heads = state.heads;
  // Of several CSVs (labels.csv, labels-multihead.csv), the one naming the most heads.
  let csv = null;
  let csvFile = null;
  const classes = Object.fromEntries(heads.map((h) => [h.name, h.labels ?? []]));
  classes.label = heads[0].labels ?? [];
  let best = -1;
  for (const f of csvFiles) {
    const parsed = M.parseLabelsCsv(await f.text(), classes);
    const covered = heads.filter((h, i) => parsed.columns.includes(h.name) || (i === 0 && parsed.columns.includes('label'))).length;
    if (covered > best) [best, csv, csvFile] = [covered, parsed, f];
  }
  const truth = truthFor(files, csv);
  const progress = $('#batch-progress');
  const status = $('#batch-status');
  progress.hidden = false;
  progress.max = files.length;
  progress.value = 0;
  $('#batch-report').replaceChildren();
  $('#batch-table-box').hidden = true;
  $('#batch-cancel').hidden = false;
  const ac = new AbortController();
  state.batchAbort = ac;
  const t0 = performance.now();
  status.textContent = `Classifying ${files.length} images on ${model.info.backend}…`;
  let preds;
  try {
    preds = await model.predictBatch(files, {
      signal: ac.signal,
      // The raw outputs give every class's probability, which the metrics need.
      postprocess: requestPostprocess({ includeOutputs: true, temperature: 1, threshold: 0 }),
      onProgress: (done, total) => {
        progress.value = done;
        status.textContent = `Classified ${done} of ${total} images…`;
      },
    });
  } catch (e) {
    progress.hidden = true;
    $('#batch-cancel').hidden = true;
    if (e?.code === 'ABORTED') status.textContent = 'Batch cancelled.';
    else if (e?.code !== 'DISPOSED') showError(e, 'Batch failed');
    return;
  } finally {
    state.batchAbort = null;
  }
  const seconds = (performance.now() - t0) / 1000;
  progress.hidden = true;
  $('#batch-cancel').hidden = true;
  status.textContent = `${files.length} images in ${seconds.toFixed(1)} s (${(files.length / seconds).toFixed(0)} images/s) on ${model.info.backend}` +
    (csvFile ? ` · labels from ${csvFile.name}` : ' · labels from file names') + (csv?.unknown ? ` · ${csv.unknown} unknown label names ignored` : '');
  const reports = heads.map((h, hi) => {
    const probs = preds.map((p) => {
      const out = p.outputs?.[h.output];
      return out ? Array.from(activate(out.data, h.activation ?? 'none', 1)) : [];
    });
    const k = classesOf(h, model.info) || (probs[0]?.length ?? 0);
    return { head: h, probs, truth: truth[hi], k, result: M.evaluate(probs, truth[hi], k) };
  });
  renderBatchReport(reports);
  renderBatchTable(files, reports);
}

function stat(label, value, testid, extra = '') {
  return el('div', { class: `stat ${extra}` }, el('span', { class: 'v', 'data-testid': testid, text: value }), el('span', { class: 'k', text: label }));
}

function renderBatchReport(reports) {
  const box = $('#batch-report');
  box.replaceChildren();
  const multi = reports.length > 1;
  for (const { head, result: r, k } of reports) {
    const names = Array.from({ length: k }, (_, i) => head.labels?.[i] ?? String(i));
    const section = el('div', { class: 'head-report', 'data-head': head.name });
    const suffix = multi ? `-${head.name}` : '';
    if (multi) section.append(el('h3', { text: `Head “${head.name}”` }));
    if (r.labelled === 0) {
      section.append(el('p', { class: 'small', 'data-testid': `accuracy${suffix}`, text: 'No labels for this head: accuracy and calibration need labelled items.' }));
      box.append(section);
      continue;
    }
    section.append(el('div', { class: 'stats' },
      stat('accuracy', pct(r.accuracy), `accuracy${suffix}`),
      stat(`labelled of ${r.items}`, String(r.labelled)),
      stat('macro precision', pct(r.perClass.macro.precision)),
      stat('macro recall', pct(r.perClass.macro.recall)),
      stat('ECE before', pct(r.before.ece), `ece-before${suffix}`),
      stat(r.fitted ? `ECE after (T = ${r.temperature.toFixed(2)})` : 'ECE after (no T fitted)', pct(r.after.ece), `ece-after${suffix}`),
      stat('ECE after, held out', pct(r.heldOutEce)),
      stat('NLL before → after', `${r.nllBefore.toFixed(3)} → ${r.nllAfter.toFixed(3)}`, null, 'narrow')));

    const perClass = el('table', { class: 'per-class', 'data-testid': `per-class${suffix}` },
      el('thead', {}, el('tr', {}, ['class', 'precision', 'recall', 'F1', 'support'].map((t) => el('th', { text: t })))),
      el('tbody', {}, r.perClass.classes.map((c, i) => el('tr', {},
        el('td', { text: names[i] }), el('td', { text: pct(c.precision) }), el('td', { text: pct(c.recall) }),
        el('td', { text: pct(c.f1) }), el('td', { text: String(c.support) })))));

    const maxCell = Math.max(1, ...r.confusion.flat());
    const confusion = el('table', { class: 'confusion', 'data-testid': `confusion${suffix}` },
      el('thead', {}, el('tr', {}, el('th', { class: 'corner', text: 'true ↓ / predicted →' }), names.map((n) => el('th', { text: n })))),
      el('tbody', {}, r.confusion.map((row, i) => el('tr', {}, el('th', { text: names[i] }),
        row.map((v, j) => el('td', {
          class: i === j ? 'diag' : v ? 'off' : '',
          style: v ? `--a:${(0.12 + 0.88 * (v / maxCell)).toFixed(3)}` : '',
          text: String(v),
        }))))));

    const before = el('canvas', { class: 'reliability', width: 300, height: 240, 'data-testid': `reliability-before${suffix}` });
    const after = el('canvas', { class: 'reliability', width: 300, height: 240, 'data-testid': `reliability-after${suffix}` });
    section.append(
      el('div', { class: 'grid2' },
        el('div', {}, el('h4', { text: 'Per class' }), perClass),
        el('div', {}, el('h4', { text: 'Confusion matrix' }), el('div', { class: 'table-scroll' }, confusion))),
      el('h4', { text: 'Reliability' }),
      el('p', { class: 'small', text: 'Blue bars: accuracy per confidence bin; red line: the bin’s mean confidence, red shade: the gap between them; dashed: perfect calibration. The temperature T is fitted in this page by minimizing the negative log-likelihood of the labelled items; “held out” scores each half with the T fitted on the other half.' }),
      el('div', { class: 'grid2' }, before, after));
    if (!r.fitted) {
      section.append(el('p', { class: 'small note' },
        `No temperature fitted: the search ran to its bound (T = ${r.boundTemperature.toFixed(2)}), `,
        'so the labelled items give no finite optimum (with no wrong answer the likelihood keeps rising as T → 0). T stays 1.'));
      box.append(section);
      requestAnimationFrame(() => {
        drawReliability(before, r.before, 'Before (T = 1)');
        drawReliability(after, r.after, 'After: no T fitted');
      });
      continue;
    }
    const apply = el('label', { class: 'apply' }, el('input', { type: 'checkbox', 'data-head': head.name }), ` Use T = ${r.temperature.toFixed(2)} for “${head.name}” in later predictions`);
    const cb = apply.querySelector('input');
    cb.checked = state.useTemperature && state.fitted[head.name] === r.temperature;
    cb.addEventListener('change', () => {
      state.useTemperature = cb.checked;
      for (const other of document.querySelectorAll('.apply input')) other.checked = cb.checked;
      $('#use-temperature').checked = cb.checked;
      if (state.lastInput) void predict(state.lastInput);
    });
    section.append(apply);
    box.append(section);
    state.fitted[head.name] = r.temperature;
    // Drawn after insertion so the canvases have their CSS size.
    requestAnimationFrame(() => {
      drawReliability(before, r.before, 'Before (T = 1)');
      drawReliability(after, r.after, `After (T = ${r.temperature.toFixed(2)})`);
    });
  }
  const fitted = reports.filter((x) => x.result.fitted);
  $('#calib-label').hidden = fitted.length === 0;
  $('#temperature-value').textContent = fitted.map((x) => (reports.length > 1 ? `${x.head.name} ${x.result.temperature.toFixed(2)}` : x.result.temperature.toFixed(2))).join(', ');
}

function renderBatchTable(files, reports) {
  for (const u of state.objectUrls) URL.revokeObjectURL(u);
  state.objectUrls = [];
  const table = $('#batch-table');
  const multi = reports.length > 1;
  const name = (h, i) => (i < 0 ? '–' : h.labels?.[i] ?? String(i));
  const head = el('tr', {}, el('th', { text: '' }), el('th', { text: 'file' }),
    reports.map(({ head: h }) => [
      el('th', { text: multi ? `${h.name}: label` : 'label' }),
      el('th', { text: multi ? `${h.name}: predicted` : 'predicted' }),
      el('th', { text: 'confidence' })]));
  const LIMIT = 2000;
  const rows = files.slice(0, LIMIT).map((f, i) => {
    const url = URL.createObjectURL(f);
    state.objectUrls.push(url);
    return el('tr', {},
      el('td', {}, el('img', { src: url, alt: '', width: 32, height: 32 })),
      el('td', { text: pathOf(f) }),
      reports.map(({ head: h, truth, result, probs }) => {
        const y = truth[i];
        const p = result.yPred[i];
        const mark = y < 0 ? '' : y === p ? 'ok' : 'bad';
        return [
          el('td', { text: y < 0 ? 'unlabelled' : name(h, y) }),
          el('td', { class: mark, text: `${name(h, p)}${mark === 'ok' ? ' ✓' : mark === 'bad' ? ' ✗' : ''}` }),
          el('td', { text: pct(probs[i][p] ?? NaN) })];
      }));
  });
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
  if (files.length > LIMIT) table.append(el('caption', { text: `First ${LIMIT} of ${files.length} rows.` }));
  $('#batch-table-box').hidden = false;
}

// ---------------------------------------------------------------- your own model

async function loadCustom(list) {
  const files = [...list];
  if (!files.some((f) => /\.json$/i.test(f.name) && !/labels\.json$/i.test(f.name))) {
    showError(new Error('Drop model.json together with its .bin weight files'), 'Your own model');
    return;
  }
  state.customFiles = files;
  state.source = 'custom';
  state.lastInput = null;
  resetBatch();
  const opt = $('#model-select option[value="custom"]');
  opt.disabled = false;
  $('#model-select').value = 'custom';
  clearErrors();
  if (!state.runtime) await start();
  else {
    await state.starting;
    await state.model?.dispose().catch(() => undefined);
    state.model = null;
    await loadModel(state.runtime);
  }
}

$('#run-zeros').addEventListener('click', async () => {
  const model = state.model;
  if (!model) return;
  const inputs = {};
  for (const t of model.info.inputs) {
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
});

// ---------------------------------------------------------------- wiring

$('#file').addEventListener('change', (ev) => {
  const f = ev.target.files?.[0];
  if (f) predictFile(f);
  ev.target.value = '';
});

$('#threshold').addEventListener('input', (ev) => {
  state.threshold = Number(ev.target.value);
  $('#threshold-value').textContent = `${Math.round(state.threshold * 100)}%`;
  if (state.lastInput && state.lastInput.kind !== 'video') void predict(state.lastInput);
});

$('#use-temperature').addEventListener('change', (ev) => {
  state.useTemperature = ev.target.checked;
  for (const other of document.querySelectorAll('.apply input')) other.checked = ev.target.checked;
  if (state.lastInput) void predict(state.lastInput);
});

for (const b of $('#backend-switch').querySelectorAll('button')) {
  b.addEventListener('click', async () => {
    if (state.runtime?.backend === b.dataset.backend && state.model) return;
    state.wanted = b.dataset.backend;
    clearErrors();
    await state.starting;
    await start();
  });
}

/** Forgets the last batch and its fitted temperatures: they belong to the previous model. */
function resetBatch() {
  state.fitted = {};
  state.useTemperature = false;
  $('#use-temperature').checked = false;
  $('#batch-report').replaceChildren();
  $('#batch-table-box').hidden = true;
  $('#batch-status').textContent = '';
}

$('#model-select').addEventListener('change', async (ev) => {
  const v = ev.target.value;
  if (v === state.source) return;
  state.source = v;
  resetBatch();
  clearErrors();
  await state.starting;
  if (state.model) await state.model.dispose().catch(() => undefined);
  state.model = null;
  if (state.runtime) await loadModel(state.runtime);
  else await start();
});

$('#batch-folder').addEventListener('change', (ev) => {
  if (ev.target.files?.length) void runBatch(ev.target.files);
});
$('#batch-files').addEventListener('change', (ev) => {
  if (ev.target.files?.length) void runBatch(ev.target.files);
});
$('#batch-cancel').addEventListener('click', () => state.batchAbort?.abort());
$('#model-files').addEventListener('change', (ev) => {
  if (ev.target.files?.length) void loadCustom(ev.target.files);
  ev.target.value = '';
});

/** Drops anywhere: model files load a model, one image predicts, several run a batch. */
async function onDrop(ev, target) {
  ev.preventDefault();
  document.body.classList.remove('dragging');
  const files = await filesFromDrop(ev.dataTransfer);
  if (!files.length) return;
  const modelish = files.some((f) => /\.json$/i.test(f.name) && !/labels\.json$/i.test(f.name)) && files.some((f) => /\.bin$/i.test(f.name));
  if (target === 'model' || modelish) return loadCustom(files);
  const images = files.filter(isImage);
  if (images.length === 1 && !files.some((f) => /\.csv$/i.test(f.name))) return predictFile(images[0]);
  return runBatch(files);
}

document.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', (ev) => {
  if (!ev.relatedTarget) document.body.classList.remove('dragging');
});
document.addEventListener('drop', (ev) => void onDrop(ev, ev.target.closest?.('#model-drop') ? 'model' : null));

document.addEventListener('paste', (ev) => {
  const file = [...(ev.clipboardData?.files ?? [])].find(isImage);
  if (file) {
    ev.preventDefault();
    predictFile(file);
  }
});

window.addEventListener('online', () => ($('#net').hidden = true));
window.addEventListener('offline', () => ($('#net').hidden = false));
$('#net').hidden = navigator.onLine;

async function showCacheUsage() {
  if (!modelCache) return;
  try {
    const models = await modelCache.list();
    const bytes = models.reduce((n, m) => n + m.bytes, 0);
    $('#cache-usage').textContent = `inpage cache: ${models.length} model${models.length === 1 ? '' : 's'}, ${(bytes / 1024).toFixed(0)} KB`;
    $('#cache-clear').hidden = models.length === 0;
  } catch {
    $('#cache-usage').textContent = 'inpage cache: unavailable here';
  }
}

$('#cache-clear').addEventListener('click', async () => {
  await modelCache?.clear().catch((e) => showError(e, 'Clearing the cache'));
  await showCacheUsage();
});

async function registerServiceWorker() {
  const note = $('#sw-status');
  if (!('serviceWorker' in navigator)) {
    note.textContent = 'Offline support: not in this browser.';
    return;
  }
  try {
    await navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: './' });
    const reg = await navigator.serviceWorker.ready;
    note.textContent = navigator.serviceWorker.controller
      ? 'Offline support: ready; this page was served by its service worker.'
      : 'Offline support: ready (page, library and demo models cached).';
    document.body.dataset.sw = reg.active ? 'ready' : '';
  } catch (e) {
    note.textContent = `Offline support: unavailable (${e.message}).`;
  }
}

if (state.source === 'multihead') $('#model-select').value = 'multihead';
markBackend(null);
drawLatency($('#latency-chart'), []);
setInterval(pollStats, 1000);
void probeBackends();
void setupCamera();
void registerServiceWorker();
void start();
