// The serving side of operations with fakes: the stats window's monitoring counts and drift,
// Prometheus text, evaluation / calibration / threshold on outputs a fake batch path returns,
// the shadow (never changes an answer, never makes the caller wait, failures counted) and the
// registry's canary and aliases.
import { describe, expect, it } from 'vitest';
import { InpageError } from '../../src/errors.js';
import { StatsWindow } from '../../src/engine/stats.js';
import { calibratedPostprocess, calibration, collect, headsOf, referenceOf, report, threshold, type OpsTarget } from '../../src/client/ops.js';
import { NamedModel, Registry, type Registered } from '../../src/client/registry.js';
import { Shadow, due } from '../../src/client/shadow.js';
import { renderMetrics, servingFamilies } from '../../src/ops/prometheus.js';
import { evaluateHead, fitTemperature } from '../../src/ops/metrics.js';
import { psi } from '../../src/ops/drift.js';
import type { ModelInfo, PostprocessSpec, Prediction, PredictBatchOptions, TensorData } from '../../src/types.js';

describe('stats window monitoring', () => {
  it('keeps counts of the last `size` predictions only, in O(1) per prediction', () => {
    const w = new StatsWindow(4);
    // (class, confidence, abstained): the first two leave the window
    w.prediction(0, 0.95, false);
    w.prediction(0, 0.15, true);
    w.prediction(1, 0.55, false);
    w.prediction(2, 0.35, true);
    w.prediction(1, 0.65, false);
    w.prediction(1, 1, false);
    const s = w.snapshot(0);
    expect(s.predictions).toBe(4);
    expect(s.classCounts).toEqual([0, 3, 1]);
    expect(s.confidence.bins).toEqual([0, 0, 0, 1, 0, 1, 1, 0, 0, 1]);
    expect(s.abstainRate).toBe(1 / 4);
    expect(s.drift).toBeUndefined();
  });

  it('measures drift against a reference, and raises the alarm past PSI 0.25 with 30 predictions', () => {
    const w = new StatsWindow(100);
    const ref = { classCounts: [50, 50], confidenceBins: [0, 0, 0, 0, 0, 0, 0, 0, 50, 50] };
    w.setReference(ref);
    for (let i = 0; i < 10; i++) w.prediction(0, 0.85, false);
    let s = w.snapshot(0);
    // all class 0, all in bin 8: large PSI, but only 10 predictions: no alarm yet
    expect(s.drift?.classPsi).toBeCloseTo(psi(ref.classCounts, [10, 0]), 12);
    expect(s.drift?.confidencePsi).toBeCloseTo(psi(ref.confidenceBins, [0, 0, 0, 0, 0, 0, 0, 0, 10, 0]), 12);
    expect(s.drift?.alarm).toBe(false);
    for (let i = 0; i < 20; i++) w.prediction(0, 0.85, false);
    s = w.snapshot(0);
    expect(s.drift).toMatchObject({ alarm: true, samples: 30 });
    // The same distribution as the reference: no alarm.
    const same = new StatsWindow(100);
    same.setReference(ref);
    for (let i = 0; i < 40; i++) same.prediction(i % 2, i % 4 < 2 ? 0.85 : 0.95, false);
    expect(same.snapshot(0).drift).toMatchObject({ classPsi: 0, confidencePsi: 0, alarm: false });
    same.setReference(undefined);
    expect(same.snapshot(0).drift).toBeUndefined();
  });
});

describe('Prometheus text', () => {
  it('renders families with escaped labels; OpenMetrics names counters without _total and ends with # EOF', () => {
    const fams = [
      { name: 'inpage_requests', help: 'Requests.', type: 'counter' as const, samples: [{ labels: { model: 'a"b\\c\nd', version: '1' }, value: 3 }] },
      { name: 'inpage_abstain_rate', help: 'Rate.', type: 'gauge' as const, samples: [{ labels: {}, value: NaN }] },
    ];
    expect(renderMetrics(fams)).toBe([
      '# HELP inpage_requests_total Requests.',
      '# TYPE inpage_requests_total counter',
      'inpage_requests_total{model="a\\"b\\\\c\\nd",version="1"} 3',
      '# HELP inpage_abstain_rate Rate.',
      '# TYPE inpage_abstain_rate gauge',
      'inpage_abstain_rate NaN',
      '',
    ].join('\n'));
    const om = renderMetrics(fams, { openMetrics: true });
    expect(om).toContain('# TYPE inpage_requests counter\ninpage_requests_total{');
    expect(om.endsWith('# EOF\n')).toBe(true);
  });

  it('lists every model statistic, per class by name, drift and shadow', () => {
    const w = new StatsWindow(10);
    w.setReference({ classCounts: [1, 1], confidenceBins: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1] });
    w.record(1, 2);
    w.prediction(1, 0.92, false);
    const text = renderMetrics(servingFamilies([{ name: 'cls', version: '2', active: true, stats: w.snapshot(0), labels: ['cat', 'dog'] }], [
      { name: 'cls', active: 'cls@2', shadow: 'cls@3', fraction: 1, requests: 4, agreement: 0.75, meanAbsConfidenceDiff: 0.1, latencyMs: { active: { p50: 1, p95: 1, p99: 1, mean: 1 }, shadow: { p50: 2, p95: 2, p99: 2, mean: 2 } }, errors: 1, lastErrors: [], skipped: 0, inFlight: 0 },
    ]));
    expect(text).toContain('inpage_requests_total{model="cls",version="2"} 1\n');
    expect(text).toContain('inpage_latency_ms{model="cls",version="2",quantile="0.5"} 3\n');
    expect(text).toContain('inpage_class_predictions_window{model="cls",version="2",class="dog"} 1\n');
    expect(text).toContain('inpage_confidence_window{model="cls",version="2",lower="0.9",upper="1"} 1\n');
    expect(text).toContain('inpage_drift_psi{model="cls",version="2",kind="class"} ');
    expect(text).toContain('inpage_drift_alarm{model="cls",version="2"} 0\n');
    expect(text).toContain('inpage_shadow_agreement{model="cls",active="cls@2",shadow="cls@3"} 0.75\n');
    // Every sample line is `name{labels} value` with a declared family.
    const declared = new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? (NaN|[-+0-9.e]+)$/);
      expect(declared.has(line.split(/[{ ]/)[0])).toBe(true);
    }
  });
});

/** A fake batch path: each input is a row of raw outputs per output name. */
function fakeTarget(post: PostprocessSpec, outputs = ['probs']): OpsTarget & { seen: PredictBatchOptions[] } {
  const seen: PredictBatchOptions[] = [];
  return {
    seen,
    info: { outputs: outputs.map((name) => ({ name, dtype: 'float32', shape: [null, 3] })) } as unknown as ModelInfo,
    postprocess: () => post,
    predictBatch: async (inputs, opts) => {
      seen.push(opts);
      const out: Prediction[] = [];
      for await (const x of inputs) {
        const rows = x as Record<string, number[]>;
        out.push({ outputs: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { data: Float32Array.from(v), shape: [1, v.length] }])) } as unknown as Prediction);
      }
      return out;
    },
  };
}

describe('evaluate, calibrate and chooseThreshold on the page', () => {
  const probsOf = (r: number[]) => ({ probs: r });
  const samples = [
    { input: probsOf([0.7, 0.2, 0.1]), label: 'a', group: 'x' },
    { input: probsOf([0.1, 0.6, 0.3]), label: 2, group: 'x' },
    { input: probsOf([0.2, 0.3, 0.5]), label: 'c', group: 'y' },
    { input: probsOf([0.3, 0.4, 0.3]), label: null, group: 'y' },
    { input: probsOf([0.05, 0.9, 0.05]), label: 1, group: 'y' },
  ];
  const post: PostprocessSpec = { activation: 'none', labels: ['a', 'b', 'c'], threshold: 0.55 };

  it('reports through the batch path, unmonitored, with labels by name and slices', async () => {
    const t = fakeTarget(post);
    const c = await collect(t, samples, { sliceBy: (s) => (s as unknown as { group: string }).group });
    expect(t.seen[0]).toMatchObject({ postprocess: { includeOutputs: true }, monitor: false });
    const r = report(c);
    const direct = evaluateHead(samples.map((s) => s.input.probs), [0, 2, 2, -1, 1], { threshold: 0.55, classNames: ['a', 'b', 'c'] });
    expect(r.accuracy).toBe(direct.accuracy);
    expect(r.confusion).toEqual(direct.confusion);
    expect(r.logLoss).toBeCloseTo(direct.logLoss, 6);
    expect(r.abstainRate).toBe(2 / 5);
    expect(Object.keys(r.slices ?? {})).toEqual(['x', 'y']);
    expect(r.slices?.x).toMatchObject({ count: 2, labelled: 2, accuracy: 0.5 });
    expect(r.slices?.y).toMatchObject({ count: 3, labelled: 2, accuracy: 1 });
    // the reference: top-1 classes 0, 1, 2, 1, 1 and their confidence bins; outputs are
    // float32 as the engine's are, so .7 is 0.69999999 (bin 6) and .9 is 0.89999998 (bin 8)
    expect(referenceOf(c)).toEqual({ classCounts: [1, 3, 1], confidenceBins: [0, 0, 0, 0, 1, 1, 2, 0, 1, 0] });
  });

  it('rejects unknown labels and bad samples with INPUT_INVALID', async () => {
    await expect(collect(fakeTarget(post), [{ input: probsOf([1, 0, 0]), label: 'zebra' }], {})).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('a, b, c') });
    await expect(collect(fakeTarget(post), [{ input: probsOf([1, 0, 0]), label: 7 }], {})).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(collect(fakeTarget({}), [{ input: probsOf([1, 0, 0]), label: 'a' }], {})).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('no postprocess.labels') });
    await expect(collect(fakeTarget(post), [42 as never], {})).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(collect(fakeTarget(post), 5 as never, {})).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('calibrates per head from logits; softmax heads use the raw output, none heads log p', async () => {
    const logits = [[2, 0, 0], [2, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2], [2, 0, 0]];
    const labels = [0, 1, 0, 1, 2, 2];
    const multi: PostprocessSpec = { heads: { a: { activation: 'softmax' }, b: { activation: 'none' } } };
    const t = fakeTarget(multi, ['a', 'b']);
    const soft = (z: number[]) => {
      const e = z.map(Math.exp);
      const s = e.reduce((x, y) => x + y, 0);
      return e.map((v) => v / s);
    };
    const c = await collect(t, logits.map((z, i) => ({ input: { a: z, b: soft(z) }, label: { a: labels[i], b: labels[i] } })), {});
    const fit = calibration(c);
    const expected = fitTemperature(logits, labels).temperature as number;
    expect(fit.heads?.a?.temperature).toBeCloseTo(expected, 8);
    // float32 probabilities: the same T to float precision
    expect(fit.heads?.b?.temperature).toBeCloseTo(expected, 4);
    expect(fit.temperature).toBe(fit.heads?.a?.temperature);
    expect(fit.heads?.a?.after.nll).toBeLessThan(fit.heads?.a?.before.nll as number);
    const next = calibratedPostprocess(multi, c, fit) as PostprocessSpec;
    expect(next.heads?.a).toEqual({ activation: 'softmax', temperature: fit.heads?.a?.temperature });
    expect(next.heads?.b?.temperature).toBe(fit.heads?.b?.temperature);
  });

  it('an all-right set gives a coded fit and changes nothing; a sigmoid head is coded too', async () => {
    const t = fakeTarget({ activation: 'softmax' });
    const c = await collect(t, [{ input: { probs: [3, 0, 0] }, label: 0 }, { input: { probs: [0, 3, 0] }, label: 1 }], {});
    const fit = calibration(c);
    expect(fit).toMatchObject({ temperature: null, code: 'NO_FINITE_TEMPERATURE', limit: 0 });
    expect(fit.after).toEqual(fit.before);
    expect(calibratedPostprocess({ activation: 'softmax' }, c, fit)).toBeUndefined();
    const sig = await collect(fakeTarget({ activation: 'sigmoid' }), [{ input: { probs: [3, 0, 0] }, label: 0 }], {});
    expect(calibration(sig)).toMatchObject({ temperature: null, code: 'UNSUPPORTED_ACTIVATION' });
  });

  it('chooses a threshold on the labelled items at the served temperature', async () => {
    const c = await collect(fakeTarget(post), samples, {});
    // labelled confidences .7 (right) .6 (wrong) .5 (right) .9 (right)
    expect(threshold(c, { precision: 0.75 })).toMatchObject({ threshold: 0.5, precision: 0.75, coverage: 1, head: 'probs' });
    expect(threshold(c, { precision: 1 })).toMatchObject({ threshold: Math.fround(0.7), coverage: 0.5 });
    expect(() => threshold(c, { precision: 2 })).toThrow(InpageError);
    expect(() => threshold(c, { precision: 0.9, head: 'nope' })).toThrow(/not a head/);
  });

  it('heads mirror the engine: primary takes the top-level fields under its own', () => {
    const h = headsOf({ temperature: 2, threshold: 0.3, heads: { kind: { activation: 'softmax', temperature: 1.5 }, score: { activation: 'sigmoid' } } }, [{ name: 'kind', dtype: 'float32', shape: null }]);
    expect(h.primary).toMatchObject({ name: 'kind', activation: 'softmax', temperature: 1.5, threshold: 0.3 });
    expect(h.heads.map((x) => [x.name, x.temperature, x.threshold])).toEqual([['kind', 1.5, 0], ['score', 1, 0]]);
  });
});

const answer = (version: string, index: number, confidence: number, totalMs = 5): Prediction =>
  ({ index, label: null, confidence, topK: [{ index, label: null, confidence }], model: { name: 'cls', version }, timing: { queueMs: 0, inferenceMs: 0, totalMs }, backend: 'wasm', batchSize: 1 }) as Prediction;

const tick = () => new Promise((r) => setTimeout(r, 0));
const x: TensorData = { data: new Float32Array([1, 2]), shape: [1, 2] };

describe('shadow', () => {
  it('spreads a fraction evenly over the calls', () => {
    const picked = Array.from({ length: 12 }, (_, i) => due(i + 1, 0.25));
    expect(picked.filter(Boolean)).toHaveLength(3);
    expect(picked.map((p, i) => (p ? i + 1 : 0)).filter(Boolean)).toEqual([4, 8, 12]);
    expect(Array.from({ length: 10 }, (_, i) => due(i + 1, 1)).every(Boolean)).toBe(true);
  });

  it('the caller gets the active answer at once, even while the shadow never answers', async () => {
    const shadow = new Shadow({ id: 's', info: { name: 'cls', version: '2' }, predict: () => new Promise<Prediction>(() => undefined) });
    const active = answer('1', 3, 0.9);
    const got = await shadow.serve(x, undefined, Promise.resolve(active));
    expect(got).toBe(active);
    expect(shadow.report('cls@1')).toMatchObject({ requests: 0, inFlight: 1 });
  });

  it('measures agreement and confidence difference, counts failures, and skips over maxInFlight', async () => {
    let n = 0;
    const inputs: TensorData[] = [];
    const shadow = new Shadow({
      id: 's',
      info: { name: 'cls', version: '2' },
      predict: async (input) => {
        inputs.push(input as TensorData);
        n++;
        if (n === 3) throw new InpageError('INFERENCE_FAILED', 'shadow broke');
        return answer('2', n === 2 ? 1 : 3, 0.7, 9);
      },
    }, { fraction: 1, maxInFlight: 8 });
    const calls = [answer('1', 3, 0.9), answer('1', 3, 0.8), answer('1', 3, 0.9)];
    for (const a of calls) expect(await shadow.serve(x, undefined, Promise.resolve(a))).toBe(a);
    // A failing active call: the shadow does not run.
    await expect(shadow.serve(x, undefined, Promise.reject(new InpageError('TIMEOUT', 't')))).rejects.toMatchObject({ code: 'TIMEOUT' });
    await tick();
    await tick();
    const r = shadow.report('cls@1');
    expect(r).toMatchObject({ active: 'cls@1', shadow: 'cls@2', requests: 2, errors: 1, inFlight: 0 });
    expect(r.agreement).toBe(0.5);
    expect(r.meanAbsConfidenceDiff).toBeCloseTo((0.2 + 0.1) / 2, 12);
    expect(r.latencyMs.active.mean).toBe(5);
    expect(r.lastErrors).toEqual([{ code: 'INFERENCE_FAILED', message: 'shadow broke' }]);
    // The shadow got a copy of the input, not the caller's array.
    expect(inputs[0]?.data).not.toBe(x.data);
    expect(Array.from(inputs[0]?.data ?? [])).toEqual([1, 2]);

    const slow = new Shadow({ id: 's', info: { name: 'cls', version: '2' }, predict: () => new Promise<Prediction>(() => undefined) }, { maxInFlight: 1 });
    await slow.serve(x, undefined, Promise.resolve(answer('1', 0, 1)));
    await slow.serve(x, undefined, Promise.resolve(answer('1', 0, 1)));
    expect(slow.report('')).toMatchObject({ skipped: 1, inFlight: 1 });
    expect(() => new Shadow(slow.target, { fraction: 0 })).toThrow(/fraction/);
  });
});

describe('shadow waits for a quiet engine', () => {
  it('sends nothing while the engine is busy, then one at a time; skips over maxInFlight', async () => {
    let quiet = false;
    let wake: () => void = () => undefined;
    const engine = { get quiet() { return quiet; }, whenQuiet: () => (quiet ? Promise.resolve() : new Promise<void>((r) => (wake = r))) };
    const sent: number[] = [];
    const shadow = new Shadow({ id: 's', info: { name: 'cls', version: '2' }, predict: async () => {
      sent.push(sent.length);
      return answer('2', 0, 0.5);
    } }, { maxInFlight: 2 }, engine);
    for (let i = 0; i < 3; i++) await shadow.serve(x, undefined, Promise.resolve(answer('1', 0, 0.5)));
    await tick();
    await tick();
    expect(sent).toEqual([]);
    expect(shadow.report('')).toMatchObject({ inFlight: 2, skipped: 1, requests: 0 });
    quiet = true;
    wake();
    for (let i = 0; i < 6; i++) await tick();
    expect(sent).toEqual([0, 1]);
    expect(shadow.report('')).toMatchObject({ inFlight: 0, requests: 2, agreement: 1 });
    // idle: false sends at once even on a busy engine
    quiet = false;
    const eager = new Shadow(shadow.target, { idle: false }, engine);
    await eager.serve(x, undefined, Promise.resolve(answer('1', 0, 0.5)));
    await tick();
    await tick();
    expect(sent).toHaveLength(3);
  });
});

describe('registry: canary, aliases, shadow routing', () => {
  const handle = (id: string, version: string, log: string[]) =>
    ({
      id, info: { name: 'cls', version, backend: 'wasm', bytes: 1 },
      predict: async () => {
        log.push(version);
        return answer(version, Number(version), 0.5);
      },
      dispose: async () => undefined,
    }) as unknown as Registered;

  function withTwo(log: string[]) {
    const r = new Registry();
    r.loading('m1', 'cls', '1', 'wasm');
    r.ready('m1', handle('m1', '1', log), false);
    r.loading('m2', 'cls', '2', 'wasm');
    r.ready('m2', handle('m2', '2', log), false);
    return r;
  }

  it('a canary gets its share of the calls; a full promote ends it', async () => {
    const log: string[] = [];
    const r = withTwo(log);
    r.promote('cls', '2', { fraction: 0.25 });
    expect(r.list().map((e) => [e.version, e.active, e.canary])).toEqual([['1', true, undefined], ['2', false, 0.25]]);
    const named = new NamedModel(r, 'cls', () => undefined);
    for (let i = 0; i < 8; i++) await named.predict(x);
    expect(log).toEqual(['1', '1', '1', '2', '1', '1', '1', '2']);
    expect(named.info.version).toBe('1');
    r.promote('cls', '2');
    log.length = 0;
    await named.predict(x);
    await named.predict(x);
    expect(log).toEqual(['2', '2']);
    expect(r.list().every((e) => e.canary === undefined)).toBe(true);
    expect(() => r.promote('cls', '1', { fraction: 1.5 })).toThrow(/fraction/);
  });

  it('aliases stand for versions in promote and shadow; unknown ones are NOT_FOUND', async () => {
    const log: string[] = [];
    const r = withTwo(log);
    r.alias('cls', 'champion', '1');
    r.alias('cls', 'challenger', '2');
    expect(r.list().map((e) => e.aliases)).toEqual([['champion'], ['challenger']]);
    r.shadow('cls', 'challenger');
    const named = new NamedModel(r, 'cls', () => undefined);
    const p = await named.predict(x);
    expect(p.model.version).toBe('1');
    await tick();
    expect(log).toEqual(['1', '2']);
    expect(r.shadowReport('cls')).toMatchObject({ active: 'cls@1', shadow: 'cls@2', requests: 1, agreement: 0 });
    r.promote('cls', 'challenger');
    expect(r.route('cls').id).toBe('m2');
    // The shadow is now the active version: it is not asked twice.
    log.length = 0;
    await named.predict(x);
    await tick();
    expect(log).toEqual(['2']);
    expect(() => r.alias('cls', 'x', '9')).toThrow(InpageError);
    expect(() => r.shadow('cls', 'nope')).toThrow(/No ready model cls@nope/);
    expect(() => r.shadowReport('other')).toThrow(/No shadow/);
    // A disposed shadow stops shadowing.
    r.disposed('m1');
    expect(r.shadowOf('cls')).toBeDefined();
    r.shadow('cls', null);
    expect(r.shadowOf('cls')).toBeUndefined();
  });
});
