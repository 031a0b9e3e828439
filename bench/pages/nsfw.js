// The peer: nsfwjs's own load() and classify() on the page, on raw tfjs.
import { load } from '/node_modules/nsfwjs/dist/esm/core.js';
import { makeCanvas, sequential } from './common.js';

const tf = globalThis.tf;
let model;
const canvas = makeCanvas(224);

window.peer = {
  async init({ backend }) {
    tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    if (!(await tf.setBackend(backend))) throw new Error(`nsfwjs page: backend ${backend} did not start`);
    await tf.ready();
    return tf.getBackend();
  },
  /** nsfwjs.load(url) loads the layers model and runs it once on zeros. */
  async load({ url }) {
    const t0 = performance.now();
    model = await load(url, { size: 224 });
    return { loadMs: performance.now() - t0 };
  },
  /** `n` sequential classify(canvas) calls (top 5); latencies in ms. */
  seq: ({ n }) => sequential(n, () => canvas, (c) => model.classify(c, 5)),
  top: async () => (await model.classify(canvas, 1))[0],
  memory: async () => {
    const { numTensors, numBytes } = tf.memory();
    return { numTensors, numBytes };
  },
};
window.benchReady = true;
