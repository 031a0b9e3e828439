/**
 * Cross-origin-isolated pages (COOP/COEP): there tfjs-backend-wasm runs its threaded-SIMD
 * binary with pthread workers. inpage must start on every backend, worker on and off, and
 * answer as raw tfjs does on the same page; on wasm it runs `wasmThreads` threads and says
 * so in `info.threads`, with the outputs of a single thread.
 */
import { test, expect, type Page } from '@playwright/test';
import {
  BACKENDS, REAL_MODELS, WORKER_MODES, expectClose, fixtureCases, isolatedPrefix, modeName, openHarness, openRef, reference,
  type ModelCase, type PlainOutputs,
} from './helpers';

const REQUIRE_CORP = isolatedPrefix('require-corp');
const mlp = fixtureCases().find((c) => c.id === 'graph-mlp') as ModelCase;
// A convolutional model: XNNPACK splits its convolutions across the threads.
const emotion = REAL_MODELS.find((c) => c.id === 'emotion') as ModelCase;

interface IsolatedRun {
  isolated: boolean;
  backend: string;
  threads: number;
  hardwareConcurrency: number;
  outputs: PlainOutputs;
  beforeLoad: number;
  afterDispose: number;
}

/** Loads `c` with inpage on `page` and runs it once on its seeded feed. */
function runOn(page: Page, c: ModelCase, backend: string, worker: boolean, wasmThreads?: number): Promise<IsolatedRun> {
  return page.evaluate(async ({ c, backend, worker, wasmThreads }) => {
    const w = window as any;
    const rt = await w.inpage.createRuntime({ backends: [backend], worker, ...(wasmThreads ? { wasmThreads } : {}) });
    try {
      const beforeLoad = (await rt.memory()).numTensors as number;
      const m = await rt.load({ url: c.url, name: c.id });
      const feed = Object.fromEntries(Object.entries(c.feed).map(([k, s]) => [k, w.seeded(s)]));
      const outputs = w.plain(await m.run(feed));
      const threads = m.info.threads as number;
      await m.dispose();
      const afterDispose = (await rt.memory()).numTensors as number;
      return {
        isolated: globalThis.crossOriginIsolated, backend: rt.backend as string, threads,
        hardwareConcurrency: navigator.hardwareConcurrency, outputs, beforeLoad, afterDispose,
      };
    } finally {
      await rt.terminate();
    }
  }, { c, backend, worker, wasmThreads });
}

test('fixture graph-mlp exists (npm run fixtures)', () => {
  expect(mlp, 'test/fixtures/graph-mlp').toBeDefined();
});

for (const backend of BACKENDS) {
  for (const worker of WORKER_MODES) {
    test(`isolated page (COEP require-corp), ${backend} ${modeName(worker)}: starts and matches raw tfjs`, async ({ page, context }) => {
      if (backend === 'webgl' || backend === 'webgpu') test.slow();
      const ref = await openRef(context, REQUIRE_CORP);
      expect(await ref.evaluate(() => globalThis.crossOriginIsolated), 'reference page isolated').toBe(true);
      const expected = await reference(ref, backend, mlp.url, mlp.format, mlp.feed);
      await ref.close();

      await openHarness(page, REQUIRE_CORP);
      const r = await runOn(page, mlp, backend, worker);
      expect(r.isolated, 'crossOriginIsolated on the harness page').toBe(true);
      expect(r.backend).toBe(backend);
      expectClose(r.outputs, expected, backend, `${mlp.id} isolated`);
      expect(r.afterDispose, 'numTensors after dispose vs before load').toBe(r.beforeLoad);
      // wasm threads follow the cores (tfjs's pool holds at most 8); other backends compute on one.
      expect(r.threads, 'info.threads').toBe(backend === 'wasm' ? Math.min(r.hardwareConcurrency, 8) : 1);
    });
  }
}

test('isolated page (COEP credentialless), wasm worker: threads start and match raw tfjs', async ({ page, context }) => {
  const prefix = isolatedPrefix('credentialless');
  const ref = await openRef(context, prefix);
  const expected = await reference(ref, 'wasm', emotion.url, emotion.format, emotion.feed);
  await ref.close();
  await openHarness(page, prefix);
  const r = await runOn(page, emotion, 'wasm', true);
  expect(r.isolated, 'crossOriginIsolated').toBe(true);
  expect(r.threads, 'info.threads').toBe(Math.min(r.hardwareConcurrency, 8));
  expectClose(r.outputs, expected, 'wasm', 'emotion credentialless');
});

for (const worker of WORKER_MODES) {
  test(`wasmThreads ${modeName(worker)}: the count asked for runs, outputs equal one thread's`, async ({ page }) => {
    await openHarness(page, REQUIRE_CORP);
    const one = await runOn(page, emotion, 'wasm', worker, 1);
    const two = await runOn(page, emotion, 'wasm', worker, 2);
    expect(one.isolated && two.isolated, 'crossOriginIsolated').toBe(true);
    expect(one.threads, 'info.threads with wasmThreads: 1').toBe(1);
    // 2 threads even where tfjs alone would cap the pool at hardwareConcurrency / 2.
    expect(two.threads, 'info.threads with wasmThreads: 2').toBe(2);
    expectClose(two.outputs, one.outputs, 'wasm', 'emotion, 2 threads vs 1');
    if (!worker) {
      // The page's own navigator is left as it was.
      expect(await page.evaluate(() => navigator.hardwareConcurrency), 'navigator.hardwareConcurrency after').toBe(two.hardwareConcurrency);
    }
  });
}

test('not isolated: wasm runs one thread whatever wasmThreads asks', async ({ page }) => {
  await openHarness(page);
  const r = await runOn(page, mlp, 'wasm', true, 4);
  expect(r.isolated, 'crossOriginIsolated').toBe(false);
  expect(r.threads, 'info.threads without SharedArrayBuffer').toBe(1);
});

test('wasmThreads that is not a whole number >= 1 fails with INPUT_INVALID', async ({ page }) => {
  await openHarness(page);
  const results = await page.evaluate(async () => {
    const w = window as any;
    const out = [];
    for (const wasmThreads of [0, -1, 1.5, Number.NaN, '2']) {
      out.push(await w.catchError(() => w.inpage.createRuntime({ backends: ['wasm'], wasmThreads })));
    }
    return out;
  });
  for (const e of results) {
    expect(e.threw).toBe(true);
    expect(e.isInpageError).toBe(true);
    expect(e.code).toBe('INPUT_INVALID');
    expect(e.message).toContain('wasmThreads');
  }
});

test('worker: false, two runtimes on one page: the second shares the running wasm backend and its threads; both answer', async ({ page }) => {
  await openHarness(page, REQUIRE_CORP);
  const r = await page.evaluate(async ({ c }) => {
    const w = window as any;
    const feed = () => Object.fromEntries(Object.entries(c.feed).map(([k, s]) => [k, w.seeded(s)]));
    const a = await w.inpage.createRuntime({ backends: ['wasm'], worker: false, wasmThreads: 1 });
    const ma = await a.load({ url: c.url, name: 'a' });
    const before = w.plain(await ma.run(feed()));
    const b = await w.inpage.createRuntime({ backends: ['wasm'], worker: false, wasmThreads: 2 });
    const mb = await b.load({ url: c.url, name: 'b' });
    const fromB = w.plain(await mb.run(feed()));
    const after = w.plain(await ma.run(feed()));
    const threads = [ma.info.threads, mb.info.threads];
    await b.terminate();
    await a.terminate();
    return { before, fromB, after, threads };
  }, { c: emotion });
  expect(r.threads, 'threads of a and b').toEqual([1, 1]);
  expectClose(r.after, r.before, 'wasm', 'a after b started');
  expectClose(r.fromB, r.before, 'wasm', 'b');
});
