// Helpers shared by the benchmark pages (raw tfjs, inpage, nsfwjs). Plain ESM, no
// dependencies, so every page measures with the same code.

const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()();

/** Resolves in a new task (not a clamped timer, not a microtask). */
export function nextTask() {
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });
}

/** A deterministic Float32Array in [0, 1) of the size of `shape` (a small LCG; values do not matter, sizes do). */
export function makeInput(shape, seed = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

/** The q-quantile (0..1) of numbers, by linear interpolation; NaN for none. */
export function quantile(values, q) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** p50, p95, mean and count of latencies in ms. */
export function summarize(lat) {
  return {
    n: lat.length,
    p50: quantile(lat, 0.5),
    p95: quantile(lat, 0.95),
    mean: lat.reduce((a, b) => a + b, 0) / (lat.length || 1),
  };
}

/**
 * Runs `call` sequentially `n` times; `prepare` makes each call's argument outside the
 * timed part (a fresh copy of the input, since inpage transfers and detaches it).
 * @returns latencies in ms
 */
export async function sequential(n, prepare, call) {
  const lat = [];
  for (let i = 0; i < n; i++) {
    const arg = prepare();
    const t0 = performance.now();
    await call(arg);
    lat.push(performance.now() - t0);
  }
  return lat;
}

/**
 * A closed loop of `concurrency` clients, each sending its next request as soon as
 * its last is answered, for `durationMs`. Throughput counts requests answered.
 */
export async function closedLoop(concurrency, durationMs, prepare, call) {
  const start = performance.now();
  const end = start + durationMs;
  let done = 0;
  let last = start;
  const client = async () => {
    while (performance.now() < end) {
      await call(prepare());
      done++;
      last = performance.now();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = last - start;
  return { done, elapsedMs, perSec: (done / elapsedMs) * 1000 };
}

/**
 * Watches the main thread: animation frames (a gap over 2 frames of 16.7 ms is a
 * dropped frame) and Long Tasks (the API reports tasks of 50 ms and more only).
 * @returns stop(): the observations since start
 */
export function watchMainThread() {
  const frames = [];
  let running = true;
  const tick = (t) => {
    frames.push(t);
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const tasks = [];
  let observer;
  try {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push(e.duration);
    });
    observer.observe({ type: 'longtask' });
  } catch {
    observer = undefined;
  }
  const start = performance.now();
  return () => {
    running = false;
    const elapsedMs = performance.now() - start;
    if (observer) {
      for (const e of observer.takeRecords()) tasks.push(e.duration);
      observer.disconnect();
    }
    const gaps = [];
    for (let i = 1; i < frames.length; i++) gaps.push(frames[i] - frames[i - 1]);
    return {
      elapsedMs,
      frames: frames.length,
      // A frame interval over 2 x 16.7 ms means at least one frame was not drawn.
      droppedFrames: gaps.filter((g) => g > 2 * 16.7).length,
      maxFrameGapMs: gaps.length ? Math.max(...gaps) : NaN,
      p95FrameGapMs: quantile(gaps, 0.95),
      longTasks: tasks.length,
      longestLongTaskMs: tasks.length ? Math.max(...tasks) : 0,
      longtaskApi: observer !== undefined,
    };
  };
}

/** Outputs of run-like calls, as a list of typed arrays (whatever the shape of the answer). */
export function outputArrays(out) {
  return Object.values(out).map((t) => t.data);
}

/**
 * The benchmark API every page exposes as `window.bench`, over an adapter:
 * `{ kind, init(opts), load(key, spec), run(key, data, shape), memory(), stats?(key) }`,
 * where `run` answers when the outputs are read back on the page.
 */
export function makeBench(adapter) {
  const inputs = new Map();
  const template = (shape) => {
    const k = shape.join('x');
    if (!inputs.has(k)) inputs.set(k, makeInput(shape, 7));
    return inputs.get(k);
  };
  // A fresh copy per request: inpage transfers (detaches) the input buffer.
  const fresh = (shape) => () => template(shape).slice();
  const bench = {
    kind: adapter.kind,
    init: (opts) => adapter.init(opts),
    load: (key, spec) => adapter.load(key, spec),
    memory: () => adapter.memory(),
    stats: (key) => (adapter.stats ? adapter.stats(key) : null),
    threads: (key) => adapter.threads(key),
    /** Load (build, warm-up) and the first run, timed together: what a page waits for before its first answer. */
    loadAndRun: async (key, spec, shape) => {
      const t0 = performance.now();
      const loaded = await adapter.load(key, spec);
      const t1 = performance.now();
      await adapter.run(key, fresh(shape)(), shape);
      const t2 = performance.now();
      return { loadMs: t1 - t0, firstRunMs: t2 - t1, totalMs: t2 - t0, backend: loaded.backend };
    },
    /** `n` sequential requests; latencies in ms. */
    seq: (key, { n, shape }) => sequential(n, fresh(shape), (d) => adapter.run(key, d, shape)),
    /** Closed-loop throughput with `concurrency` clients. */
    closed: (key, { concurrency, durationMs, shape }) =>
      closedLoop(concurrency, durationMs, fresh(shape), (d) => adapter.run(key, d, shape)),
    /** One client sending whole batches of `batch` rows; `done` counts rows (items). */
    batches: async (key, { batch, durationMs, shape }) => {
      const bshape = [batch, ...shape.slice(1)];
      const r = await closedLoop(1, durationMs, fresh(bshape), (d) => adapter.run(key, d, bshape));
      return { done: r.done * batch, elapsedMs: r.elapsedMs, perSec: r.perSec * batch };
    },
    /** `n` requests, `concurrency` at a time (for the memory check). */
    many: async (key, { n, concurrency, shape }) => {
      let left = n;
      const client = async () => {
        while (left > 0) {
          left--;
          await adapter.run(key, fresh(shape)(), shape);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, client));
      return n;
    },
    /** Sequential requests for `durationMs` while watching the main thread. */
    serve: async (key, { durationMs, shape }) => {
      const make = fresh(shape);
      // Let the page settle (and the first frames come) before watching.
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const stop = watchMainThread();
      const lat = [];
      const end = performance.now() + durationMs;
      while (performance.now() < end) {
        // Each request starts in a task of its own, as requests from events would: with
        // raw tfjs on WASM/CPU, data() resolves in a microtask and a bare loop would
        // never let the page render at all.
        await nextTask();
        const d = make();
        const t0 = performance.now();
        await adapter.run(key, d, shape);
        lat.push(performance.now() - t0);
      }
      // Let the last Long Task entry and frame arrive.
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return { ...stop(), requests: lat.length, latency: summarize(lat) };
    },
  };
  return bench;
}

/** A 224x224 (or `size`) canvas with a deterministic picture, the image both peers classify. */
export function makeCanvas(size = 224) {
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const g = c.getContext('2d');
  const grad = g.createLinearGradient(0, 0, size, size);
  grad.addColorStop(0, '#c96');
  grad.addColorStop(1, '#369');
  g.fillStyle = grad;
  g.fillRect(0, 0, size, size);
  g.fillStyle = '#eee';
  g.beginPath();
  g.arc(size / 2, size / 2, size / 4, 0, Math.PI * 2);
  g.fill();
  return c;
}
