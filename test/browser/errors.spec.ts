/**
 * Failures: each one must be an InpageError with a stable code on the page (even when it
 * was thrown in the worker), with a message that says what would be valid, and the
 * runtime must keep serving after it.
 */
import { test, expect, type Page } from '@playwright/test';
import { BACKENDS, WORKER_MODES, modeName, openHarness } from './helpers';

const MLP = '/test/fixtures/graph-mlp/model.json';
const TWO_IO = '/test/fixtures/graph-two-io/model.json';

interface Caught { threw: boolean; isInpageError?: boolean; isError?: boolean; name?: string; code?: string; message?: string }
interface Step { what: string; error: Caught; after: unknown }

/** Expects a coded InpageError whose message matches every pattern. */
function expectCoded(step: Step, code: string, ...patterns: RegExp[]): void {
  const e = step.error;
  expect(e.threw, `${step.what}: should throw`).toBe(true);
  expect(e.isInpageError, `${step.what}: instanceof InpageError on the page (got ${e.name}: ${e.message})`).toBe(true);
  expect(e.code, `${step.what}: code (message: ${e.message})`).toBe(code);
  for (const p of patterns) expect(e.message, `${step.what}: message`).toMatch(p);
}

for (const backend of BACKENDS) {
  for (const worker of WORKER_MODES) {
    test.describe(`${backend} ${modeName(worker)} errors`, () => {
      test('invalid inputs -> INPUT_INVALID naming what the model expects; serving goes on', async ({ page }) => {
        await openHarness(page);
        const steps: Step[] = await page.evaluate(async ({ backend, worker, url }) => {
          const w = window as any;
          const rt = await w.inpage.createRuntime({ backends: [backend], worker });
          const m = await rt.load({ url, name: 'two-io', warmup: false });
          // graph-two-io: a float32 [?, 4], b int32 [?, 4].
          const a = () => ({ data: new Float32Array(8).fill(0.5), shape: [2, 4] });
          const b = () => ({ data: new Int32Array(8).fill(2), shape: [2, 4] });
          const good = async () => {
            const out = await m.run({ a: a(), b: b() });
            return Object.fromEntries(Object.entries(out).map(([k, v]: [string, any]) => [k, { shape: v.shape, first: v.data[0] }]));
          };
          const bad: [string, () => unknown][] = [
            ['wrong shape', () => m.run({ a: { data: new Float32Array(10), shape: [2, 5] }, b: b() })],
            ['wrong rank', () => m.run({ a: { data: new Float32Array(8), shape: [8] }, b: b() })],
            ['size does not match shape', () => m.run({ a: { data: new Float32Array(7), shape: [2, 4] }, b: b() })],
            ['wrong dtype', () => m.run({ a: { data: new Int32Array(8), shape: [2, 4] }, b: b() })],
            ['unknown input name', () => m.run({ a: a(), b: b(), bogus: a() })],
            ['missing input', () => m.run({ a: a() })],
            ['bare tensor for a two-input model', () => m.run(a())],
          ];
          const steps = [];
          for (const [what, call] of bad) {
            const error = await w.catchError(call);
            steps.push({ what, error, after: await good() });
          }
          await rt.terminate();
          return steps;
        }, { backend, worker, url: TWO_IO });

        const ok = { sum: { shape: [2, 4], first: 2.5 }, prod: { shape: [2, 4] } };
        const byName = Object.fromEntries(steps.map((s) => [s.what, s]));
        expectCoded(byName['wrong shape']!, 'INPUT_INVALID', /\ba\b/, /4/);
        expectCoded(byName['wrong rank']!, 'INPUT_INVALID', /\ba\b/, /4/);
        expectCoded(byName['size does not match shape']!, 'INPUT_INVALID', /\ba\b/, /7/);
        expectCoded(byName['wrong dtype']!, 'INPUT_INVALID', /\ba\b/, /float32/);
        expectCoded(byName['unknown input name']!, 'INPUT_INVALID', /bogus/, /\ba\b/, /\bb\b/);
        expectCoded(byName['missing input']!, 'INPUT_INVALID', /\bb\b/);
        expectCoded(byName['bare tensor for a two-input model']!, 'INPUT_INVALID', /\ba\b/, /\bb\b/);
        for (const s of steps) {
          expect(s.after, `a good run after "${s.what}"`).toMatchObject({ sum: ok.sum, prod: ok.prod });
        }
      });

      test('load failures -> MODEL_LOAD_FAILED naming the file; serving goes on', async ({ page }) => {
        // Worker fetches go through the page's routes in Chromium.
        await page.route('**/broken/not-json/model.json', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: '{ this is not json' }));
        await page.route('**/test/fixtures/layers-cnn/group1-shard3of5.bin', (r) => r.fulfill({ status: 404, body: 'not found' }));
        await openHarness(page);
        const steps: Step[] = await page.evaluate(async ({ backend, worker, mlp }) => {
          const w = window as any;
          const rt = await w.inpage.createRuntime({ backends: [backend], worker });
          const good = async () => {
            const m = await rt.load({ url: mlp, name: 'mlp', warmup: false });
            const out = await m.run({ data: new Float32Array(16).fill(0.25), shape: [2, 8] });
            await m.dispose();
            return { probs: out.probs.shape };
          };
          const bad: [string, string][] = [
            ['model URL 404', '/test/fixtures/no-such-model/model.json'],
            ['model.json not JSON', '/broken/not-json/model.json'],
            ['shard 404', '/test/fixtures/layers-cnn/model.json'],
          ];
          const steps = [];
          for (const [what, url] of bad) {
            const error = await w.catchError(() => rt.load({ url, name: what, warmup: false }));
            steps.push({ what, error, after: await good() });
          }
          await rt.terminate();
          return steps;
        }, { backend, worker, mlp: MLP });

        const byName = Object.fromEntries(steps.map((s) => [s.what, s]));
        expectCoded(byName['model URL 404']!, 'MODEL_LOAD_FAILED', /no-such-model|model\.json/);
        expectCoded(byName['model.json not JSON']!, 'MODEL_LOAD_FAILED', /model\.json|JSON/);
        expectCoded(byName['shard 404']!, 'MODEL_LOAD_FAILED', /group1-shard3of5\.bin/);
        for (const s of steps) expect(s.after, `a good load and run after "${s.what}"`).toEqual({ probs: [2, 4] });
      });

      test('calls after model.dispose() and runtime.terminate() -> DISPOSED', async ({ page }) => {
        await openHarness(page);
        const r = await page.evaluate(async ({ backend, worker, mlp }) => {
          const w = window as any;
          const x = () => ({ data: new Float32Array(8).fill(0.5), shape: [1, 8] });
          const rt = await w.inpage.createRuntime({ backends: [backend], worker });
          const m = await rt.load({ url: mlp, name: 'mlp', warmup: false });
          await m.run(x());
          await m.dispose();
          const afterDispose = await w.catchError(() => m.run(x()));
          // The runtime still serves: another model loads and runs.
          const m2 = await rt.load({ url: mlp, name: 'mlp2', warmup: false });
          const stillServing = (await m2.run(x())).probs.shape;
          await rt.terminate();
          const runAfterTerminate = await w.catchError(() => m2.run(x()));
          const loadAfterTerminate = await w.catchError(() => rt.load({ url: mlp, name: 'mlp3', warmup: false }));
          const memoryAfterTerminate = await w.catchError(() => rt.memory());
          // A new runtime serves as usual.
          const rt2 = await w.inpage.createRuntime({ backends: [backend], worker });
          const m3 = await rt2.load({ url: mlp, name: 'mlp', warmup: false });
          const newRuntime = (await m3.run(x())).probs.shape;
          await rt2.terminate();
          return { afterDispose, stillServing, runAfterTerminate, loadAfterTerminate, memoryAfterTerminate, newRuntime };
        }, { backend, worker, mlp: MLP });

        expectCoded({ what: 'run after model.dispose()', error: r.afterDispose, after: null }, 'DISPOSED');
        expect(r.stillServing, 'another model on the same runtime after dispose').toEqual([1, 4]);
        expectCoded({ what: 'run after runtime.terminate()', error: r.runAfterTerminate, after: null }, 'DISPOSED');
        expectCoded({ what: 'load after runtime.terminate()', error: r.loadAfterTerminate, after: null }, 'DISPOSED');
        expectCoded({ what: 'memory after runtime.terminate()', error: r.memoryAfterTerminate, after: null }, 'DISPOSED');
        expect(r.newRuntime, 'a new runtime after terminate').toEqual([1, 4]);
      });
    });
  }
}

for (const worker of WORKER_MODES) {
  test.describe(`ladder ${modeName(worker)} errors`, () => {
    test('no usable backend -> BACKEND_UNAVAILABLE; a good ladder still starts', async ({ page }) => {
      await openHarness(page);
      const r = await page.evaluate(async ({ worker }) => {
        const w = window as any;
        const empty = await w.catchError(() => w.inpage.createRuntime({ backends: [], worker }));
        const unknown = await w.catchError(() => w.inpage.createRuntime({ backends: ['tpu'], worker }));
        const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
        const backend = rt.backend;
        await rt.terminate();
        return { empty, unknown, backend };
      }, { worker });
      expectCoded({ what: 'backends: []', error: r.empty, after: null }, 'BACKEND_UNAVAILABLE');
      expectCoded({ what: "backends: ['tpu']", error: r.unknown, after: null }, 'BACKEND_UNAVAILABLE', /tpu/);
      expect(r.backend).toBe('wasm');
    });
  });
}

test.describe('ladder page errors', () => {
  test('an impossible ladder (no WebGPU on this page) -> BACKEND_UNAVAILABLE; the next rung is taken', async ({ page }) => {
    await hideWebGpu(page);
    await openHarness(page);
    const r = await page.evaluate(async () => {
      const w = window as any;
      const impossible = await w.catchError(() => w.inpage.createRuntime({ backends: ['webgpu'], worker: false }));
      const rt = await w.inpage.createRuntime({ backends: ['webgpu', 'cpu'], worker: false });
      const fellBack = rt.backend;
      await rt.terminate();
      return { impossible, fellBack };
    });
    expectCoded({ what: "backends: ['webgpu'] without navigator.gpu", error: r.impossible, after: null }, 'BACKEND_UNAVAILABLE', /webgpu/i);
    expect(r.fellBack, 'the ladder falls back to the next backend').toBe('cpu');
  });
});

/** Makes WebGPU unavailable on the page (not in workers): navigator.gpu is undefined. */
async function hideWebGpu(page: Page): Promise<void> {
  await page.addInitScript(() => {
    Object.defineProperty(Object.getPrototypeOf(navigator), 'gpu', { get: () => undefined, configurable: true });
  });
}
