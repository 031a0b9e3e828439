// inpage through its public API: createRuntime, load, run. With ?worker=0 the engine
// runs on this page (never together with raw tfjs: see raw.html).
import { makeBench, makeCanvas, quantile, sequential } from './common.js';

const params = new URLSearchParams(location.search);
const dist = params.get('dist') ?? '/dist/';
const models = new Map();
let runtime;

const adapter = {
  kind: 'inpage',
  async init({ backend, worker = true, threads }) {
    const { createRuntime } = await import(`${dist}inpage.mjs`);
    runtime = await createRuntime({ backends: [backend], worker, ...(threads ? { wasmThreads: threads } : {}) });
    window.runtime = runtime;
    return runtime.backend;
  },
  async load(key, spec) {
    const t0 = performance.now();
    const model = await runtime.load(spec);
    models.set(key, model);
    return { loadMs: performance.now() - t0, backend: model.info.backend, info: model.info };
  },
  async run(key, data, shape) {
    return models.get(key).run({ data, shape });
  },
  memory: () => runtime.memory(),
  stats: (key) => models.get(key).stats(),
  /** Threads the model's backend computes on (`model.info.threads`). */
  threads: (key) => models.get(key).info.threads,
};

window.bench = makeBench(adapter);
window.benchModels = models;
window.benchReady = true;

// The peer comparison: the same model files as nsfwjs, classified with predict(canvas).

const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
let peerModel;
const peerCanvas = makeCanvas(224);

window.peer = {
  init: (opts) => adapter.init(opts),
  async load({ url }) {
    const t0 = performance.now();
    // nsfwjs's preprocessing: RGB / 255, 224x224; its output is already softmaxed.
    peerModel = await runtime.load({
      url,
      preprocess: { size: [224, 224], scale: 1 / 255 },
      postprocess: { labels: NSFW_CLASSES, topK: 5 },
    });
    return { loadMs: performance.now() - t0 };
  },
  seq: ({ n }) => sequential(n, () => peerCanvas, (c) => peerModel.predict(c)),
  top: async () => {
    const p = await peerModel.predict(peerCanvas);
    return { className: p.label, probability: p.confidence };
  },
  memory: () => runtime.memory(),
  /** Medians of inpage's own timing over `n` predictions: queue, inference (worker), total (page). */
  async timing({ n }) {
    const t = { queueMs: [], inferenceMs: [], totalMs: [] };
    for (let i = 0; i < n; i++) {
      const p = await peerModel.predict(peerCanvas);
      for (const k of Object.keys(t)) t[k].push(p.timing[k]);
    }
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, quantile(v, 0.5)]));
  },
};
