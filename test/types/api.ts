// Type tests of the public API, checked by `tsc -p test/types` against the built
// dist/inpage.d.ts (what users get). `@ts-expect-error` lines must stay errors.
import {
  createRuntime, InpageError, InputError, RequestError, WorkerLostError, type Backend, type ErrorCode, type Model, type ModelInfo,
  type Prediction, type Runtime, type RuntimeStats, type TensorData, type EvaluationReport, type CalibrationResult,
  type ShadowReport, type DriftStats, type HeadMetrics,
} from 'inpage';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

const x: TensorData = { data: new Float32Array(4), shape: [1, 4] };

export async function typed(): Promise<void> {
  const runtime: Runtime = await createRuntime({ backends: ['webgl', 'wasm'], worker: true });
  assertType<Equal<typeof runtime.backend, Backend>>(true);

  // A model with one input and two outputs.
  const m = await runtime.load<{ inputs: 'image'; outputs: 'probs' | 'logits' }>({ url: '/m/model.json' });
  const out = await m.run({ image: x });
  assertType<Equal<keyof typeof out, 'probs' | 'logits'>>(true);
  const probs: TensorData = out.probs;
  void probs;
  // One input: a bare TensorData is fine too.
  await m.run(x);
  // @ts-expect-error: not an input of this model
  await m.run({ img: x });
  // @ts-expect-error: not an output of this model
  void out.scores;

  // Two inputs: a map with both, nothing else.
  const two = await runtime.load<{ inputs: 'a' | 'b'; outputs: 'sum' }>({ url: '/two/model.json' });
  await two.run({ a: x, b: x });
  // @ts-expect-error: a bare tensor is ambiguous with two inputs
  await two.run(x);
  // @ts-expect-error: input b is missing
  await two.run({ a: x });

  // Untyped: any names.
  const any: Model = await runtime.load({ url: '/m/model.json', batching: { maxBatchSize: 16 }, warmup: false });
  const anyOut = await any.run({ whatever: x });
  const t: TensorData | undefined = anyOut.anything;
  void t;

  const info: ModelInfo = m.info;
  assertType<Equal<ModelInfo['format'], 'graph' | 'layers'>>(true);
  const dim: number | null | undefined = info.inputs[0]?.shape?.[0];
  void dim;

  const p: Prediction = await m.predict(new Blob(), { postprocess: { topK: 3, threshold: 0.5 }, timeoutMs: 100 });
  const idx: number = p.index;
  const label: string | null = p.label;
  void idx;
  void label;
  void p.timing.queueMs;
  const many: Prediction[] = await m.predictBatch([new Blob()], { batchSize: 4, onProgress: (done: number, total: number) => void [done, total] });
  void many;

  // Operations.
  const samples = [{ input: x, label: 2 }, { input: new Blob(), label: 'cat' }, { input: x, label: null }];
  const report: EvaluationReport = await m.evaluate(samples, { sliceBy: (s) => (s.label === null ? null : 'labelled'), onProgress: () => undefined });
  const f1: number | undefined = report.perClass[0]?.f1;
  const slice: HeadMetrics | undefined = report.slices?.labelled;
  void [f1, slice];
  const fit: CalibrationResult = await m.calibrate(samples, { apply: true });
  const temperature: number | null = fit.temperature;
  const nll: number = fit.after.nll;
  void [temperature, nll];
  const thr = await m.chooseThreshold(samples, { precision: 0.9 });
  const threshold: number = thr.threshold;
  void threshold;
  // @ts-expect-error: a target is precision or coverage, not both
  await m.chooseThreshold(samples, { precision: 0.9, coverage: 0.5 });
  const drift: DriftStats | undefined = (await m.stats()).drift;
  void drift;
  await m.setReference([x, x]);
  runtime.shadow('cls', 'challenger', { fraction: 0.5 });
  const shadow: ShadowReport = runtime.shadowReport('cls');
  const agreement: number = shadow.agreement;
  void agreement;
  runtime.promote('cls', '2', { fraction: 0.1 });
  runtime.alias('cls', 'champion', '1');
  const text: string = await runtime.metrics({ openMetrics: true });
  void text;

  // @ts-expect-error: unknown backend
  await createRuntime({ backends: ['metal'] });
  // @ts-expect-error: fit is a closed set
  await runtime.load({ url: '/m', preprocess: { fit: 'fill' } });

  try {
    await m.dispose();
  } catch (e) {
    if (e instanceof InpageError) {
      const code: ErrorCode = e.code;
      void code;
    }
    // The subclass narrows the code: the code is the discriminator.
    if (e instanceof InputError) assertType<Equal<typeof e.code, 'INPUT_INVALID'>>(true);
    if (e instanceof RequestError) assertType<Equal<typeof e.code, 'ABORTED' | 'TIMEOUT' | 'QUEUE_FULL'>>(true);
    if (e instanceof WorkerLostError) assertType<Equal<typeof e.code, 'WORKER_LOST'>>(true);
  }
  // Typed runtime events.
  runtime.addEventListener('lost', (e) => {
    assertType<Equal<typeof e.backend, Backend>>(true);
    const cause: 'worker-exit' | 'worker-error' | 'webgl-context-lost' | 'webgpu-device-lost' = e.cause;
    void cause;
  });
  runtime.addEventListener('recovered', (e) => void [e.ms.toFixed(), e.replayed.toFixed(), e.backend]);
  runtime.addEventListener('backendchange', (e) => void [e.from, e.to]);
  const st: RuntimeStats = runtime.stats();
  void [st.recoveries, st.replays, st.state];
  await runtime.load({ url: '/m', signal: new AbortController().signal, timeoutMs: 1000, stallTimeoutMs: 5000, weightsUrl: '/weights/' });
  await runtime.terminate();
}
