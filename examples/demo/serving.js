/**
 * The runtime and the model: starting inpage on a backend, loading the demo's models or
 * the visitor's own, and the postprocess options every request carries.
 */
import { createRuntime } from '../../dist/inpage.mjs';
import * as inpage from '../../dist/inpage.mjs';
import { store } from './store.js';
import { $, pathOf, setStatus, showError } from './ui.js';

/** inpage's model cache API; the page works without it. */
export const modelCache = inpage.cache;

const here = (path) => new URL(path, import.meta.url).href;
const demoModel = (folder, name) => ({
  url: here(`./${folder}/model.json`), labels: here(`./${folder}/labels.json`), metrics: here(`./${folder}/metrics.json`), name,
});
/** The demo's own models, beside this page (committed; made by scripts/train-demo.mjs). */
export const MODELS = {
  demo: demoModel('model', 'shapes'),
  multihead: demoModel('model-multihead', 'shapes-multihead'),
  /** The shape model's successor: same name, another version (see versions.js). */
  v2: demoModel('model-v2', 'shapes'),
};

/** Called with each model once it is ready (the panels that read it listen here too). */
const readyListeners = new Set();
export function onModelReady(fn) {
  readyListeners.add(fn);
}

export async function fetchJson(url) {
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
const versionKey = (m) => `inpage-demo:version:${m.metrics}`;

export async function modelVersion(m) {
  const key = versionKey(m);
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

/**
 * Drops cached versions of a demo model's name other than the current ones of the demo's
 * models under that name (the shape model and its successor share one).
 */
export async function pruneCache(name) {
  if (!modelCache) return;
  const keep = Object.values(MODELS).filter((m) => m.name === name).map((m) => localStorage.getItem(versionKey(m)));
  try {
    for (const e of await modelCache.list()) {
      if (e.name === name && !keep.includes(e.version)) await modelCache.delete(name, e.version);
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

export function classesOf(head, info) {
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

/**
 * What the model serves with, given at load: class names per head. `evaluate`,
 * `calibrate` and the monitoring read the heads from it; each request adds the
 * threshold and temperature in use (see requestPostprocess).
 */
export function servedPostprocess(labels) {
  if (Array.isArray(labels)) return { labels: labels.map(String), topK: 5 };
  if (labels && typeof labels === 'object') {
    return { heads: Object.fromEntries(Object.entries(labels).map(([k, l]) => [k, { labels: l.map(String), topK: 5 }])) };
  }
  return undefined;
}

/** The postprocess spec for a set of heads (one head: top level; several: `heads`). */
function postprocessFor(heads, extra) {
  if (heads.length === 1) {
    const h = heads[0];
    return { output: h.output, activation: h.activation, labels: h.labels ?? undefined, topK: 5, ...extra(h) };
  }
  return {
    heads: Object.fromEntries(heads.map((h) => [h.name, { activation: h.activation, labels: h.labels ?? undefined, topK: 5, ...extra(h) }])),
  };
}

/**
 * Per-request postprocess: the threshold slider and the temperature in use, unless
 * `raw` (threshold 0, T = 1: what evaluation and calibration need).
 */
export function requestPostprocess({ raw = false } = {}) {
  const { heads, threshold, temperature } = store.get();
  return postprocessFor(heads, (h) => ({
    threshold: raw ? 0 : threshold,
    temperature: raw ? 1 : temperature[h.name] ?? 1,
  }));
}

let starting = Promise.resolve();
/** Resolves when the start or model switch under way has ended. */
export const settled = () => starting;

/**
 * (Re)starts the runtime on the wanted backend and loads the current model. Backend
 * switches go through here: the old runtime is terminated, a new one is created.
 */
export function start() {
  starting = starting.then(async () => {
    const previous = store.get().runtime;
    store.set({ runtime: null, model: null, info: null, temperature: {} });
    if (previous) await previous.terminate().catch(() => undefined);
    for (;;) {
      const { wanted } = store.get();
      setStatus(`Starting the runtime${wanted ? ` on ${wanted}` : ''}…`);
      const options = {
        // The worker is started from ./worker.js, which imports dist/inpage.worker.js: a
        // worker script inside this page's folder is in the service worker's scope, so the
        // model and WASM files it fetches are served from cache when offline.
        workerUrl: new URL('./worker.js', import.meta.url),
      };
      if (wanted) options.backends = [wanted];
      try {
        const runtime = await createRuntime(options);
        store.set({ runtime });
        await loadModel(runtime);
        return;
      } catch (e) {
        showError(e, `Could not start ${wanted ?? 'any backend'}`);
        if (!wanted) {
          setStatus('No backend could start.');
          return;
        }
        store.set({ wanted: null });
      }
    }
  });
  return starting;
}

/** Loads another model on the running runtime (or starts one). */
export function switchModel(patch) {
  const { runtime } = store.get();
  if (!runtime) {
    store.set(patch);
    return start();
  }
  starting = starting.then(async () => {
    const { model } = store.get();
    store.set({ ...patch, model: null, info: null, temperature: {} });
    await model?.dispose().catch(() => undefined);
    await loadModel(store.get().runtime);
  });
  return starting;
}

/** The files of a model of one's own: model.json (or the one other .json), shards and labels. */
let customFiles = [];
export function setCustomFiles(files) {
  customFiles = files;
}

async function customSpec(onProgress) {
  const labelFile = customFiles.find((f) => /^labels\.json$/i.test(f.name));
  let labels = null;
  if (labelFile) {
    try {
      labels = JSON.parse(await labelFile.text());
    } catch (e) {
      showError(e, 'labels.json is not valid JSON; showing class indices');
    }
  }
  // Other files dropped with the model (metrics.json, a README) are not the model's.
  const jsons = customFiles.filter((f) => /\.json$/i.test(f.name) && f !== labelFile);
  const modelJson = jsons.find((f) => f.name === 'model.json') ?? jsons[0];
  const folder = pathOf(modelJson).split('/').slice(-2, -1)[0];
  const name = folder || modelJson.name.replace(/\.json$/i, '');
  return { labels, spec: { files: [modelJson, ...customFiles.filter((f) => /\.bin$/i.test(f.name))], name, onProgress } };
}

/** Download progress, then "preparing" while the backend builds and warms the model. */
function progressReporter(backend) {
  const progress = $('#load-progress');
  progress.hidden = false;
  progress.removeAttribute('value');
  return ({ loaded, total }) => {
    progress.dataset.last = `${loaded}/${total}`;
    if (!(total > 0)) return;
    progress.max = total;
    progress.value = loaded;
    setStatus(loaded < total
      ? `Downloading the model… ${(loaded / 1024).toFixed(0)} of ${(total / 1024).toFixed(0)} KB`
      : `Preparing the model on ${backend} (building it and compiling its kernels)…`);
    if (loaded >= total) progress.removeAttribute('value');
  };
}

async function loadModel(runtime) {
  const { source } = store.get();
  const onProgress = progressReporter(runtime.backend);
  let labels;
  let spec;
  if (source === 'custom') ({ labels, spec } = await customSpec(onProgress));
  else {
    const m = MODELS[source];
    const [l, version] = await Promise.all([fetchJson(m.labels), modelVersion(m)]);
    labels = l;
    // cache: true keeps the model in inpage's IndexedDB cache for offline visits.
    spec = { url: m.url, name: m.name, version, cache: true, onProgress, postprocess: servedPostprocess(labels) };
  }
  setStatus(`Loading the model on ${runtime.backend}…`);
  const t0 = performance.now();
  let loaded;
  try {
    loaded = await loadWith(runtime, spec);
  } catch (e) {
    $('#load-progress').hidden = true;
    showError(e, 'Could not load the model');
    setStatus('The model did not load.');
    return;
  }
  if (store.get().runtime !== runtime) {
    await loaded.dispose().catch(() => undefined);
    return;
  }
  $('#load-progress').hidden = true;
  const info = loaded.info;
  const activation = source === 'custom' ? $('#custom-activation')?.value ?? 'none' : 'none';
  const elapsed = performance.now() - t0;
  const loadTime = elapsed < 1000 ? `${elapsed.toFixed(0)} ms` : `${(elapsed / 1000).toFixed(1)} s`;
  // The demo's models are called by name, so that promotion and shadowing apply to them.
  const model = source === 'custom' ? loaded : runtime.model(info.name);
  store.set({ model, info: { ...info, loadTime }, heads: headsFor(info, labels, activation), imageInput: imageInputOf(info) });
  setStatus(`${info.name} ready on ${info.backend} in ${loadTime}`);
  document.body.dataset.ready = 'true';
  document.body.dataset.fromCache = String(info.fromCache);
  for (const fn of readyListeners) fn(store.get());
}

/** Loads `spec`; a cache failure falls back to the network. */
export async function loadWith(runtime, spec) {
  try {
    return await runtime.load(spec);
  } catch (e) {
    if (!spec.cache || !/cache|indexeddb|idb/i.test(`${e?.code} ${e?.message}`)) throw e;
    showError(e, 'inpage\'s model cache failed; loading without it');
    return runtime.load({ ...spec, cache: false });
  }
}
