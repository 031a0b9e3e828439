// Raw tfjs on the page, the baseline: tensor in, execute, read back with data(),
// dispose: what a developer writes by hand.
import { makeBench } from './common.js';

const tf = globalThis.tf;
const models = new Map();

function outputsOf(y) {
  if (y instanceof tf.Tensor) return [y];
  return Array.isArray(y) ? y : Object.values(y);
}

function execute(m, x) {
  return m.format === 'layers' ? m.model.predict(x) : m.model.execute(x);
}

const adapter = {
  kind: 'raw',
  async init({ backend, threads }) {
    tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    // `threads` (wasm, isolated pages): tfjs caps its pool at hardwareConcurrency / 2, read as
    // its module starts, even under setThreadsCount; a developer who wants the count lifts
    // the cap the same way inpage does, for the start only.
    const lift = backend === 'wasm' && threads > Math.floor(navigator.hardwareConcurrency / 2);
    if (backend === 'wasm' && threads) tf.wasm.setThreadsCount(threads);
    if (lift) Object.defineProperty(navigator, 'hardwareConcurrency', { value: threads * 2, configurable: true });
    try {
      if (!(await tf.setBackend(backend))) throw new Error(`raw tfjs: backend ${backend} did not start`);
      await tf.ready();
    } finally {
      if (lift) delete navigator.hardwareConcurrency;
    }
    return tf.getBackend();
  },
  /** Threads of the wasm backend's pool (1 elsewhere). */
  threads: () => (tf.getBackend() === 'wasm' ? tf.wasm.getThreadsCount() : 1),
  async load(key, { url, format = 'graph', warmupShape }) {
    const t0 = performance.now();
    const model = format === 'layers' ? await tf.loadLayersModel(url) : await tf.loadGraphModel(url);
    const m = { model, format };
    // Warm up once, as a careful developer would (first runs compile and allocate).
    if (warmupShape) {
      const x = tf.zeros(warmupShape);
      const ys = outputsOf(execute(m, x));
      await Promise.all(ys.map((t) => t.data()));
      tf.dispose([x, ...ys]);
    }
    models.set(key, m);
    return { loadMs: performance.now() - t0, backend: tf.getBackend() };
  },
  async run(key, data, shape) {
    const m = models.get(key);
    const x = tf.tensor(data, shape);
    let ys = [];
    try {
      ys = outputsOf(execute(m, x));
      return await Promise.all(ys.map((t) => t.data()));
    } finally {
      tf.dispose([x, ...ys]);
    }
  },
  async memory() {
    const { numTensors, numBytes } = tf.memory();
    return { numTensors, numBytes };
  },
};

window.bench = makeBench(adapter);
window.benchReady = true;
