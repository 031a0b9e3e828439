/**
 * spec.replicas: one model in several engines (workers). Answers come back in order and equal
 * a one-replica model's; requests spread over the replicas; stats add up; a replica's worker
 * dying costs no request; tensors come back to the count before. Throughput is measured in
 * the benchmark (npm run bench), never here.
 */
import { test, expect, type Worker } from '@playwright/test';
import { REAL_MODELS, openHarness } from './helpers';

const EMOTION = REAL_MODELS.find((c) => c.id === 'emotion')?.url as string;

test('replicas: 2 wasm engines answer in order, equal one engine, spread the load, add up stats, free everything', async ({ page }) => {
  await openHarness(page);
  const r = await page.evaluate(async (url) => {
    const w = window as any;
    const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
    const before = await rt.memory();
    const one = await rt.load({ url, name: 'emotion', version: '1' });
    const two = await rt.load({ url, name: 'emotion', version: '2', replicas: 2 });
    const x = (i: number) => w.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed: 500 + i });
    const N = 48;
    const base: number[][] = [];
    for (let i = 0; i < N; i++) base.push(Array.from((Object.values(await one.run(x(i)))[0] as any).data as Float32Array));
    const afterLoad = await rt.memory();
    const got = await Promise.all(Array.from({ length: N }, (_, i) => (i % 2 ? two.run(x(i)) : two.predict(x(i), { postprocess: { topK: 7 } }))));
    let maxDiff = 0;
    got.forEach((g: any, i: number) => {
      const v: number[] = i % 2
        ? Array.from((Object.values(g)[0] as any).data)
        : g.topK.slice().sort((a: any, b: any) => a.index - b.index).map((t: any) => t.confidence);
      // predict answers softmax probabilities; emotion's output is already a softmax.
      v.forEach((y, k) => (maxDiff = Math.max(maxDiff, Math.abs(y - (base[i] as number[])[k]!))));
    });
    const batch = await two.predictBatch(Array.from({ length: 20 }, (_, i) => x(i)), { batchSize: 4 });
    const batchTop = batch.map((p: any) => p.topK[0].index);
    const baseTop = base.slice(0, 20).map((b) => b.indexOf(Math.max(...b)));
    const stats = await two.stats();
    const afterRuns = await rt.memory();
    const rs = rt.stats();
    const info = { replicas: two.info.replicas, oneReplicas: one.info.replicas ?? 1 };
    await two.dispose();
    await one.dispose();
    const afterDispose = await rt.memory();
    const bad = await w.catchError(() => rt.load({ url, name: 'x', replicas: 0 }));
    await rt.terminate();
    const page = await w.inpage.createRuntime({ backends: ['wasm'], worker: false });
    const onPage = await w.catchError(() => page.load({ url, name: 'x', replicas: 2 }));
    await page.terminate();
    return {
      maxDiff, batchTop, baseTop, info, engines: rs.engines,
      requests: stats.requests, perReplica: stats.replicas?.map((s: any) => s.requests), predictions: stats.predictions,
      before: before.numTensors, afterLoad: afterLoad.numTensors, afterRuns: afterRuns.numTensors, afterDispose: afterDispose.numTensors,
      bad, onPage,
    };
  }, EMOTION);
  expect(r.info).toEqual({ replicas: 2, oneReplicas: 1 });
  expect(r.engines).toBe(2);
  expect(r.maxDiff, 'every answer equals one engine\'s').toBeLessThan(1e-6);
  expect(r.batchTop).toEqual(r.baseTop);
  expect(r.perReplica).toHaveLength(2);
  for (const n of r.perReplica) expect(n, 'each replica served requests').toBeGreaterThan(0);
  expect(r.requests).toBe(r.perReplica.reduce((a: number, b: number) => a + b, 0));
  expect(r.requests).toBeGreaterThanOrEqual(48 + 20);
  expect(r.predictions).toBe(24 + 20);
  expect(r.afterRuns, 'no tensor growth over runs').toBe(r.afterLoad);
  expect(r.afterDispose, 'every engine freed the models').toBe(r.before);
  expect(r.bad).toMatchObject({ threw: true, code: 'INPUT_INVALID' });
  expect(r.onPage).toMatchObject({ threw: true, code: 'INPUT_INVALID' });
});

test('replicas: a replica\'s worker closing mid-stream costs no request; the replica comes back', async ({ page }) => {
  const workers: Worker[] = [];
  page.on('worker', (wk) => workers.push(wk));
  await openHarness(page);
  await page.evaluate(async (url) => {
    const w = window as any;
    w.rt = await w.inpage.createRuntime({ backends: ['wasm'] });
    w.m = await w.rt.load({ url, name: 'emotion', replicas: 2 });
    w.x = (i: number) => w.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed: 700 + i });
    w.base = [];
    for (let i = 0; i < 64; i++) w.base.push(Array.from((Object.values(await w.m.run(w.x(i)))[0] as any).data as Float32Array));
    w.pending = Array.from({ length: 64 }, (_, i) => w.m.run(w.x(i)).then(
      (o: any) => ({ ok: true, same: Array.from((Object.values(o)[0] as any).data as Float32Array).every((v: number, k: number) => Math.abs(v - w.base[i][k]) < 1e-6) }),
      (e: any) => ({ ok: false, code: e?.code }),
    ));
  }, EMOTION);
  await expect.poll(() => workers.length).toBeGreaterThanOrEqual(2);
  // The second engine started is the replica's.
  await (workers[1] as Worker).evaluate(() => self.close()).catch(() => undefined);
  const r = await page.evaluate(async () => {
    const w = window as any;
    const settled = await Promise.all(w.pending);
    const after = await w.m.run(w.x(0));
    const stats = w.rt.stats();
    const mstats = await w.m.stats();
    await w.rt.terminate();
    return { settled, after: !!after, stats, replicas: w.m.info.replicas, perReplica: mstats.replicas?.length };
  });
  expect(r.settled.filter((s: any) => !s.ok), 'no request failed').toEqual([]);
  expect(r.settled.every((s: any) => s.same), 'every answer equals the unfaulted one').toBe(true);
  expect(r.stats.recoveries, 'the replica was recovered').toBe(1);
  expect(r.stats.lostRequests).toBe(0);
  expect(r.replicas).toBe(2);
  expect(r.perReplica).toBe(2);
  expect(r.after).toBe(true);
});
