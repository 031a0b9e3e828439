/**
 * Load-time warm-up: on WebGL and WebGPU only batch 1 is warmed on the load's path; the
 * other batch buckets warm in the background while the model is idle, and a batch whose
 * bucket is still cold just runs. Answers stay equal to unbatched ones and nothing leaks.
 */
import { test, expect } from '@playwright/test';
import { expectClose, fixtureCases, openHarness, type ModelCase, type PlainOutputs } from './helpers';

const mlp = fixtureCases().find((c) => c.id === 'graph-mlp') as ModelCase;
const MAX = 64;
const ALL_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

for (const backend of ['webgl', 'webgpu'] as const) {
  test(`${backend}: load warms batch 1 only, the other buckets warm in the background; batches equal single runs, no leaks`, async ({ page }) => {
    test.slow();
    await openHarness(page);
    await page.evaluate(async ({ backend, url, max }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: [backend] });
      w.rt = rt;
      w.beforeLoad = (await rt.memory()).numTensors;
      const m = await rt.load({ url, batching: { maxBatchSize: max } });
      w.m = m;
      // Read at once: background warm-ups start only after 500 ms without a request, one bucket at a time.
      w.warmAfterLoad = (await m.stats()).warmBatchSizes;
      const x = (k: number) => w.seeded({ shape: [1, 8], dtype: 'float32', seed: 300 + k });
      // Concurrent requests right after the load: batches of sizes not warmed yet.
      w.batched = (await Promise.all(Array.from({ length: 5 }, (_, k) => m.run({ x: x(k) })))).map(w.plain);
      w.sizes = (await m.stats()).batchSizes;
      w.single = [];
      for (let k = 0; k < 5; k++) w.single.push(w.plain(await m.run({ x: x(k) })));
    }, { backend, url: mlp.url, max: MAX });
    const first = await page.evaluate(() => {
      const w = window as any;
      return { warmAfterLoad: w.warmAfterLoad as number[], batched: w.batched as PlainOutputs[], single: w.single as PlainOutputs[], sizes: w.sizes };
    });
    expect(first.warmAfterLoad[0], 'batch 1 warm after load').toBe(1);
    expect(first.warmAfterLoad, `batch ${MAX} not warmed on the load's path`).not.toContain(MAX);
    expect(Object.keys(first.sizes).map(Number).some((n) => n > 1), 'some requests were batched').toBe(true);
    first.batched.forEach((b, k) => expectClose(b, first.single[k] as PlainOutputs, backend, `request ${k}`));

    // Left idle, the model warms every bucket.
    await expect.poll(() => page.evaluate(async () => ((await (window as any).m.stats()).warmBatchSizes as number[])), {
      timeout: 100_000, intervals: [500, 1000, 2000],
    }).toEqual(ALL_BUCKETS);

    const end = await page.evaluate(async () => {
      const w = window as any;
      const afterWarm = (await w.rt.memory()).numTensors;
      const again = w.plain(await w.m.run({ x: w.seeded({ shape: [1, 8], dtype: 'float32', seed: 300 }) }));
      const afterRun = (await w.rt.memory()).numTensors;
      await w.m.dispose();
      const afterDispose = (await w.rt.memory()).numTensors;
      await w.rt.terminate();
      return { afterWarm, afterRun, afterDispose, beforeLoad: w.beforeLoad as number, again };
    });
    expectClose(end.again, first.single[0] as PlainOutputs, backend, 'after the background warm-up');
    expect(end.afterRun, 'numTensors after a run vs after the warm-ups').toBe(end.afterWarm);
    expect(end.afterDispose, 'numTensors after dispose vs before load').toBe(end.beforeLoad);
  });
}

test('webgl: dispose once background warm-ups have begun frees everything', async ({ page }) => {
  await openHarness(page);
  const r = await page.evaluate(async ({ url, max }) => {
    const w = window as any;
    const rt = await w.inpage.createRuntime({ backends: ['webgl'] });
    const beforeLoad = (await rt.memory()).numTensors;
    const m = await rt.load({ url, batching: { maxBatchSize: max } });
    // Wait until the background warm-up has begun (a bucket past 1 is warm), then dispose at once.
    while ((await m.stats()).warmBatchSizes.length < 2) await new Promise((res) => setTimeout(res, 100));
    await m.dispose();
    const afterDispose = (await rt.memory()).numTensors;
    await rt.terminate();
    return { beforeLoad, afterDispose };
  }, { url: mlp.url, max: MAX });
  expect(r.afterDispose).toBe(r.beforeLoad);
});

test('webgl: an idle model does not warm its buckets while another model of its engine is serving', async ({ page }) => {
  test.slow();
  await openHarness(page);
  const r = await page.evaluate(async ({ url, max }) => {
    const w = window as any;
    const rt = await w.inpage.createRuntime({ backends: ['webgl'] });
    const idle = await rt.load({ url, name: 'idle', batching: { maxBatchSize: max } });
    const busy = await rt.load({ url, name: 'busy', batching: false });
    const x = w.seeded({ shape: [1, 8], dtype: 'float32', seed: 7 });
    // Requests to the other model with gaps of 150 ms (each under the 500 ms quiet spell) for 3 s:
    // before, the idle model's warm-up started in such a gap, and the next request waited for it.
    const t0 = performance.now();
    let served = 0;
    while (performance.now() - t0 < 3000) {
      await busy.run({ x });
      served++;
      await new Promise((res) => setTimeout(res, 150));
    }
    const during = (await idle.stats()).warmBatchSizes;
    // Then the engine is quiet: the idle model warms its buckets.
    let after = during;
    const t1 = performance.now();
    while (after.length < 3 && performance.now() - t1 < 60_000) {
      await new Promise((res) => setTimeout(res, 250));
      after = (await idle.stats()).warmBatchSizes;
    }
    await rt.terminate();
    return { during, after, served };
  }, { url: mlp.url, max: MAX });
  expect(r.served, 'the other model was served throughout').toBeGreaterThan(5);
  expect(r.during, 'no background warm-up while the engine was serving').toEqual([1]);
  expect(r.after.length, 'buckets warm once the engine is quiet').toBeGreaterThanOrEqual(3);
});

test('wasm: batch 1 and 2 warm at load (no shaders to compile, so nothing waits for idle time)', async ({ page }) => {
  await openHarness(page);
  const warm = await page.evaluate(async ({ url }) => {
    const w = window as any;
    const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
    const m = await rt.load({ url, batching: { maxBatchSize: 8 } });
    const sizes = (await m.stats()).warmBatchSizes;
    await rt.terminate();
    return sizes;
  }, { url: mlp.url });
  expect(warm).toEqual([1, 2]);
});

/**
 * A graph whose output does not follow the batch: `total` = Sum(x, axis 0), [4] for any
 * batch, or [1, 4] with keep_dims, which looks like a batch of one.
 */
const sumModel = (keepDims: boolean) => ({
  format: 'graph-model',
  modelTopology: {
    node: [
      { name: 'axis', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: {} } }, dtype: { type: 'DT_INT32' } } },
      { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } }, dtype: { type: 'DT_FLOAT' } } },
      { name: 'total', op: 'Sum', input: ['x', 'axis'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: keepDims } } },
    ],
    versions: { producer: 1 },
  },
  weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'axis', shape: [], dtype: 'int32' }] }],
});

for (const keepDims of [false, true]) {
  const when = keepDims ? 'at its first batched run' : 'at load';
  test(`webgl: outputs that do not follow the batch (${keepDims ? '[1, 4]' : '[4]'}) are found ${when}; each request is answered alone`, async ({ page }) => {
    await openHarness(page);
    const r = await page.evaluate(async ({ json }) => {
      const w = window as any;
      const files = [
        new File([JSON.stringify(json)], 'model.json', { type: 'application/json' }),
        new File([new Int32Array([0])], 'w.bin'),
      ];
      const rt = await w.inpage.createRuntime({ backends: ['webgl'] });
      const before = (await rt.memory()).numTensors;
      const m = await rt.load({ files, name: 'sum', batching: { maxBatchSize: 8 } });
      const rows = [[1, 2, 3, 4], [10, 20, 30, 40], [100, 200, 300, 400], [5, 6, 7, 8]];
      // Sent together, so that they would form one batch: a sum over it would mix them.
      const send = () => Promise.all(rows.map((row) => m.run({ x: { data: new Float32Array(row), shape: [1, 4] } })));
      const outs = (await send()).map((o: any) => Array.from(o.total.data));
      const again = (await send()).map((o: any) => Array.from(o.total.data));
      const stats = await m.stats();
      await m.dispose();
      const after = (await rt.memory()).numTensors;
      await rt.terminate();
      return { rows, outs, again, sizes: stats.batchSizes, before, after };
    }, { json: sumModel(keepDims) });
    // Each request alone: the sum over a batch of one row is that row.
    expect(r.outs).toEqual(r.rows);
    expect(r.again).toEqual(r.rows);
    expect(r.after, 'numTensors after dispose vs before load').toBe(r.before);
    // Found at load: every batch holds one request. Found at the first batched run: that run is
    // thrown away (its requests run again alone) and counts no batch.
    expect(Object.keys(r.sizes), 'batch sizes run').toEqual(['1']);
  });
}
