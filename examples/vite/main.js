// A user's app: `inpage` imported from node_modules and bundled by Vite, with no
// options: Vite recognises inpage's `new Worker(new URL('./inpage.worker.js',
// import.meta.url), { type: 'module' })`, builds the worker itself, and emits the WASM
// files the worker names with `new URL('./tfjs-backend-wasm*.wasm', import.meta.url)`.
import { createRuntime } from 'inpage';
import sample from '../demo/samples/star_001.png';

const out = document.getElementById('out');
const img = document.getElementById('img');
img.src = sample;

const backend = new URLSearchParams(location.search).get('backend');
try {
  const runtime = await createRuntime(backend ? { backends: [backend] } : {});
  const labels = await (await fetch('./model/labels.json')).json();
  const model = await runtime.load({ url: './model/model.json', postprocess: { labels } });
  await img.decode();
  const p = await model.predict(img);
  out.textContent = `${p.label} (${(p.confidence * 100).toFixed(1)}%) on ${p.backend}`;
  Object.assign(out.dataset, { label: p.label, backend: p.backend, done: 'true' });
} catch (e) {
  out.textContent = `${e.name} ${e.code ?? ''}: ${e.message}`;
  out.dataset.error = e.code ?? e.name;
}
