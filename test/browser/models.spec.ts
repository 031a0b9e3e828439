/**
 * Core runtime against raw tfjs: every backend, worker on and off. Each model is loaded
 * with inpage and run on seeded inputs; outputs must match tfjs on the same backend
 * (reference page), `info` must describe the model, and no tensor may leak.
 */
import { test, expect } from '@playwright/test';
import {
  BACKENDS, WORKER_MODES, REAL_MODELS, expectClose, expectInfo, fixtureCases, modeName, openHarness, openRef,
  reference, runsFor, type ModelCase,
} from './helpers';

const fixtures = fixtureCases();

test('fixtures exist (npm run fixtures)', () => {
  expect(fixtures.length, 'test/fixtures/*/model.json').toBeGreaterThan(0);
});

for (const backend of BACKENDS) {
  for (const worker of WORKER_MODES) {
    // SwiftShader is slow: real models run on every backend in the worker, and only on
    // wasm/cpu on the page; fixtures run everywhere.
    const real = worker || backend === 'wasm' || backend === 'cpu' ? REAL_MODELS : [];
    const cases: ModelCase[] = [...fixtures, ...real];

    test.describe(`${backend} ${modeName(worker)}`, () => {
      for (const c of cases) {
        test(`${c.id} matches tfjs, info, no leaks`, async ({ page, context }) => {
          test.skip(!!c.skip?.[backend], c.skip?.[backend]);
          // Real models compile many shaders on SwiftShader.
          if (c.kind === 'real' && (backend === 'webgl' || backend === 'webgpu')) test.slow();
          const runs = runsFor(c, backend);
          const ref = await openRef(context);
          const expected = await reference(ref, backend, c.url, c.format, c.feed);
          await ref.close();

          await openHarness(page);
          const r = await page.evaluate(async ({ backend, worker, c, runs }) => {
            const w = window as any;
            const rt = await w.inpage.createRuntime({ backends: [backend], worker });
            try {
              const count = async () => (await rt.memory()).numTensors as number;
              const feed = () => Object.fromEntries(Object.entries(c.feed).map(([k, s]) => [k, w.seeded(s)]));
              const beforeLoad = await count();
              const m = await rt.load({ url: c.url, name: c.id, warmup: false });
              const first = w.plain(await m.run(feed()));
              const afterFirst = await count();
              // A one-input model also takes a bare TensorData (as the second run).
              const names = Object.keys(c.feed);
              const bare = names.length === 1 && runs > 1 ? w.plain(await m.run(w.seeded(c.feed[names[0] as string]))) : null;
              for (let i = bare ? 2 : 1; i < runs; i++) await m.run(feed());
              const afterRuns = await count();
              // A fixture's expected.json: inputs as plain arrays, outputs computed by tfjs on cpu.
              const arrays: Record<string, any> = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };
              const golden = c.golden
                ? w.plain(await m.run(Object.fromEntries(Object.entries(c.golden.inputs).map(([k, t]: [string, any]) =>
                  [k, { data: new arrays[t.dtype](t.data), shape: t.shape, dtype: t.dtype }]))))
                : null;
              const info = m.info;
              await m.dispose();
              const afterDispose = await count();
              return { backend: rt.backend, worker: rt.worker, info, first, bare, golden, beforeLoad, afterFirst, afterRuns, afterDispose };
            } finally {
              await rt.terminate();
            }
          }, { backend, worker, c, runs });

          expect(r.backend, 'runtime backend').toBe(backend);
          expectInfo(r.info, c, backend);
          expectClose(r.first, expected, backend, c.id);
          if (r.golden && c.golden) expectClose(r.golden, c.golden.outputs, backend, `${c.id} (expected.json)`);
          if (r.bare) expectClose(r.bare, r.first, backend, `${c.id} (bare TensorData)`);
          for (const o of c.outputs) {
            expect(r.first[o.name]?.dtype, `${c.id} dtype of output ${o.name}`).toBe(expected[o.name]?.dtype);
          }
          expect(r.afterRuns, `${c.id}: numTensors after ${runs} runs vs after the first`).toBe(r.afterFirst);
          expect(r.afterDispose, `${c.id}: numTensors after dispose vs before load`).toBe(r.beforeLoad);
        });
      }
    });
  }
}
