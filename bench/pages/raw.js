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
  async init({ backend }) {
    tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    if (!(await tf.setBackend(backend))) throw new Error(`raw tfjs: backend ${backend} did not start`);
    await tf.ready();
    return tf.getBackend();
  },
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
