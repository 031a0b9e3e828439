/**
 * The inpage demo page. It uses inpage the way an app would: from the built ESM entry,
 * through the public API only. Each panel is a module around one small store
 * (store.js); this file wires the header (model and backend choice) and the drops, and
 * starts the panels.
 */
import { setupBatch, runBatch } from './batch.js';
import { loadCustom, setupCard } from './card.js';
import { setupLatency } from './latency.js';
import { setupMonitor } from './monitor.js';
import { setupOffline } from './offline.js';
import { sampleFiles } from './samples.js';
import { settled, start, switchModel } from './serving.js';
import { store } from './store.js';
import { predictFile, setupTry } from './try.js';
import { $, clearErrors, isImage } from './ui.js';
import { setupVersions } from './versions.js';

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

function markBackend({ runtime, info }) {
  // The model's backend: with backends 'auto' each model chooses its own.
  const backend = info?.backend ?? runtime?.backend ?? null;
  $('#backend').textContent = backend ?? 'starting';
  $('#backend').className = `pill ${backend ?? 'muted'}`;
  for (const b of $('#backend-switch').querySelectorAll('button')) {
    b.setAttribute('aria-pressed', String(b.dataset.backend === backend));
  }
  document.body.dataset.backend = backend ?? '';
}

/** Drops anywhere: model files load a model, one image predicts, several run a batch. */
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

function wireHeader() {
  store.on(['runtime', 'info'], markBackend);
  for (const b of $('#backend-switch').querySelectorAll('button')) {
    b.addEventListener('click', async () => {
      const { runtime, model } = store.get();
      if (runtime?.backend === b.dataset.backend && model) return;
      clearErrors();
      await settled();
      store.set({ wanted: b.dataset.backend });
      await start();
    });
  }
  $('#model-select').addEventListener('change', async (ev) => {
    const source = ev.target.value;
    if (source === store.get().source) return;
    clearErrors();
    await switchModel({ source });
  });
  if (store.get().source === 'multihead') $('#model-select').value = 'multihead';
}

function wireDrops() {
  document.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (ev) => {
    if (!ev.relatedTarget) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (ev) => void onDrop(ev, ev.target.closest?.('#model-drop') ? 'model' : null));
  $('#calibrate-hard').addEventListener('click', async () => {
    const button = $('#calibrate-hard');
    button.disabled = true;
    try {
      await runBatch(await sampleFiles('samples-hard'));
    } finally {
      button.disabled = false;
    }
  });
}

wireHeader();
wireDrops();
setupTry();
setupLatency();
setupCard();
setupBatch();
setupMonitor();
setupVersions();
setupOffline();
markBackend(store.get());
void probeBackends();
void start();
