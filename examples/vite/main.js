// A user's app: `inpage` imported from node_modules and bundled by Vite.
//
// Needed for a build: the worker bundle by its package entry with Vite's `?worker&url`,
// passed as `workerUrl`. Vite then builds the worker itself, so the
// `new URL('./tfjs-backend-wasm*.wasm', import.meta.url)` inside it point at the hashed
// WASM files of this build. Without it Vite does not recognise inpage's own
// `new Worker(options.workerUrl ?? new URL('./inpage.worker.js', import.meta.url))` as a
// worker (the `??` hides the pattern), copies inpage.worker.js as an opaque asset, and that
// copy asks for assets/tfjs-backend-wasm-simd.wasm, which is not in the build: 404, and
// the wasm backend does not start (webgpu, webgl and cpu would still work). Also see
// vite.config.js.
import { createRuntime } from 'inpage';
import workerUrl from 'inpage/worker?worker&url';
import sample from '../demo/samples/star_001.png';

const out = document.getElementById('out');
const img = document.getElementById('img');
img.src = sample;

const backend = new URLSearchParams(location.search).get('backend');
try {
  const runtime = await createRuntime({ workerUrl, ...(backend ? { backends: [backend] } : {}) });
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
