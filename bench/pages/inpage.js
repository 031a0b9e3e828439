// inpage through its public API: createRuntime, load, run. With ?worker=0 the engine
// runs on this page (never together with raw tfjs: see raw.html).
import { makeBench, makeCanvas, makeInput, quantile, sequential } from './common.js';

const params = new URLSearchParams(location.search);
const dist = params.get('dist') ?? '/dist/';
const models = new Map();
let runtime;

const adapter = {
  kind: 'inpage',
  async init({ backend, worker = true, threads, recovery }) {
    const { createRuntime } = await import(`${dist}inpage.mjs`);
    // No backend: the default (backends: 'auto').
    runtime = await createRuntime({
      ...(backend ? { backends: [backend] } : {}), worker, ...(threads ? { wasmThreads: threads } : {}), ...(recovery ? { recovery } : {}),
    });
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

// Shadow cost: predict through runtime.model(name), with a second version shadowing it or not.

const shadowInput = (shape) => ({ data: makeInput(shape, 7), shape });
const shadowTotals = { requests: 0, agreeing: 0, skipped: 0, errors: 0, shadowP50Ms: [] };

window.shadowBench = {
  init: (opts) => adapter.init(opts),
  /** Two versions of one model under the name `shadowed`. */
  async load({ url }) {
    await runtime.load({ url, name: 'shadowed', version: '1', postprocess: { activation: 'none' } });
    await runtime.load({ url, name: 'shadowed', version: '2', postprocess: { activation: 'none', temperature: 2 } });
    return runtime.models().filter((m) => m.name === 'shadowed').length;
  },
  /**
   * `n` sequential predictions, back to back; `mode` 'off' (no shadow), 'idle' (version 2
   * shadows every request, sent when the engine is quiet) or 'eager' (sent as soon as the
   * answer is in). Latency the caller sees, in ms.
   */
  async seq({ n, shape, mode }) {
    runtime.shadow('shadowed', mode === 'off' ? null : '2', { fraction: 1, idle: mode === 'idle' });
    const named = runtime.model('shadowed');
    const lat = await sequential(n, () => shadowInput(shape), (x) => named.predict(x));
    if (mode !== 'off') {
      // Shadow requests still waiting run before the next round starts.
      for (let i = 0; i < 400 && runtime.shadowReport('shadowed').inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
      const r = runtime.shadowReport('shadowed');
      shadowTotals.requests += r.requests;
      shadowTotals.agreeing += r.requests ? r.agreement * r.requests : 0;
      shadowTotals.skipped += r.skipped;
      shadowTotals.errors += r.errors;
      if (r.requests) shadowTotals.shadowP50Ms.push(r.latencyMs.shadow.p50);
    }
    return lat;
  },
  /** Over every round with a shadow: requests shadowed, agreement, skipped, errors, median of the rounds' shadow p50. */
  report: () => ({
    requests: shadowTotals.requests,
    agreement: shadowTotals.requests ? shadowTotals.agreeing / shadowTotals.requests : NaN,
    skipped: shadowTotals.skipped,
    errors: shadowTotals.errors,
    shadowP50Ms: quantile(shadowTotals.shadowP50Ms, 0.5),
  }),
};
