/**
 * One loaded model being served: its tfjs model, its batcher, its statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BACKGROUND_WARMUP_IDLE_MS } from '../defaults.js';
import { InpageError, InputError, RequestError, disposedError, toInpageError } from '../errors.js';
import { classify, checkPostprocess, mergePostprocess } from '../postprocess.js';
import { resolvePreprocess } from '../preprocess-spec.js';
import type { LoadRequest, ModelSettings, WireInput, WirePredictRequest } from '../protocol.js';
import type { Backend, HeadPrediction, ModelInfo, ModelStats, Prediction, PostprocessSpec, TensorData, TensorInfo } from '../types.js';
import { checkInputs } from '../validate.js';
import { Batcher, bucketFor, buckets, type Job } from './batcher.js';
import type { GpuWatch } from './gpu-watch.js';
import { execute, type BuiltModel } from './loader.js';
import { canBatch } from './model-json.js';
import { decodeImage, toModelInput } from './preprocess.js';
import { StatsWindow } from './stats.js';

/** What a request gets back from its batch. */
interface BatchResult {
  outputs: Record<string, TensorData>;
  queueMs: number;
  inferenceMs: number;
  batchSize: number;
}

interface TensorJob extends Job<BatchResult> {
  inputs: Record<string, tf.Tensor>;
}

const now = () => performance.now();

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** When the engine last did work: a model's background warm-up waits for a quiet spell of the whole engine. */
export class EngineClock {
  private last = now();
  constructor(private readonly busy: () => boolean) {}

  /** Work started or ended. */
  touch(): void {
    this.last = now();
  }

  /** How long the engine has had nothing to do, in ms (0 while busy). */
  quietFor(): number {
    return this.busy() ? 0 : now() - this.last;
  }
}

/** Rows [from, from+rows) of a batched output; the whole array when it is all of it. */
function sliceRows(data: TensorData['data'], shape: number[], from: number, rows: number): TensorData['data'] {
  const per = shapeSize(shape.slice(1));
  if (from === 0 && rows === shape[0]) return data;
  return data.slice(from * per, (from + rows) * per) as TensorData['data'];
}

function outputDtype(t: tf.Tensor): TensorData['dtype'] {
  return t.dtype === 'int32' ? 'int32' : t.dtype === 'bool' ? 'bool' : 'float32';
}

export class ServedModel {
  readonly info: ModelInfo;
  private readonly batcher: Batcher<BatchResult, TensorJob>;
  private readonly stats = new StatsWindow();
  /** Batch sizes formed (padded to on GPU backends, where each new shape compiles shaders). */
  private readonly sizes: number[];
  private readonly pad: boolean;
  private batching: boolean;
  /** Whether a run of more than one row showed that the outputs follow the batch. */
  private batchChecked = false;
  /** Batch buckets run at least once (on GPU backends each new one compiles shaders). */
  private readonly warmed = new Set<number>();
  /** Warms the next bucket once the model has been idle a while (GPU backends). */
  private warmTimer: ReturnType<typeof setTimeout> | undefined;
  /** Milliseconds per row of the last batch answered: what a warm-up of n rows is expected to take, n times over. */
  private msPerRow = 0;
  private warmInBackground = false;
  /** The background warm-up running now, if any: dispose waits for it. */
  private warming: Promise<void> | undefined;
  /** The engine's work clock (a load, a request to any model): the warm-up waits for a quiet spell of the whole engine. */
  private readonly clock: EngineClock;
  /** Calls of run/predict under way, from their start (decoding included) to their answer. */
  private calls = 0;
  private disposed = false;
  private inflight = 0;
  /** Called when the last accepted request settles (dispose waits on it). */
  private idle: (() => void) | undefined;
  private freed: Promise<void> = Promise.resolve();

  constructor(
    readonly built: BuiltModel,
    private req: LoadRequest,
    { backend, threads, clock }: { backend: Backend; threads: number; clock?: EngineClock },
    fromCache: boolean,
    private readonly gpu?: GpuWatch,
  ) {
    this.info = {
      name: req.name,
      version: req.version,
      format: built.format,
      inputs: built.inputs,
      outputs: built.outputs,
      backend,
      threads,
      async: built.async,
      bytes: built.weightBytes,
      fromCache,
    };
    const batchable = req.batching !== false && canBatch(built.inputs, built.outputs, built.async);
    this.batching = batchable;
    this.clock = clock ?? new EngineClock(() => this.busy);
    const max = batchable && req.batching ? req.batching.maxBatchSize : 1;
    this.sizes = buckets(max);
    this.pad = backend === 'webgl' || backend === 'webgpu';
    this.batcher = new Batcher<BatchResult, TensorJob>(
      {
        maxBatchSize: max,
        maxQueueDelayMs: batchable && req.batching ? req.batching.maxQueueDelayMs : 0,
        maxQueue: req.maxQueue,
      },
      (jobs) => this.runBatch(jobs),
    );
    if (req.postprocess) checkPostprocess(req.postprocess, built.outputs);
    if (req.reference) this.stats.setReference(req.reference);
  }

  /** New postprocess or drift reference, for the requests that come after. */
  configure(settings: ModelSettings): void {
    this.assertLive();
    if (settings.postprocess) {
      checkPostprocess(settings.postprocess, this.info.outputs);
      this.req = { ...this.req, postprocess: settings.postprocess };
    }
    if (settings.reference !== undefined) this.stats.setReference(settings.reference ?? undefined);
  }

  /** Whether a call to this model is under way (a background warm-up is not counted). */
  get busy(): boolean {
    return this.calls > 0;
  }

  /** Counts a call from its start to its end, so the background warm-up stays out of its way. */
  private async counted<T>(work: () => Promise<T>): Promise<T> {
    this.calls++;
    this.clock.touch();
    try {
      return await work();
    } finally {
      this.calls--;
      this.clock.touch();
      this.armBackgroundWarmup();
    }
  }

  /** The largest batch this model forms (1 without batching). */
  get maxBatchSize(): number {
    return this.batching ? (this.sizes[this.sizes.length - 1] as number) : 1;
  }

  private assertLive(): void {
    if (this.disposed) throw disposedError(`Model ${this.info.name}@${this.info.version}`);
  }

  /**
   * Runs the model once on zeros at load so that the first request is fast (memory
   * allocated, shaders compiled); also learns output shapes the model.json does not give.
   * Only batch 1 runs on the load's path. WASM and CPU compile nothing, so batch 2 runs
   * too: the cheapest run that shows whether the outputs follow the batch. On WebGL and
   * WebGPU every batch size compiles shaders of its own: the other buckets are warmed in
   * the background, one at a time, whenever the model has been idle for
   * `BACKGROUND_WARMUP_IDLE_MS` or four times the warm-up's expected run time, whichever is
   * longer (a request that comes meanwhile waits for that one warm-up); a batch whose bucket is not warm yet simply runs (and
   * compiles) when it comes.
   */
  async warmup(): Promise<void> {
    const fixed = this.info.inputs.every((i) => i.shape && i.shape.slice(1).every((d) => d !== null));
    if (!fixed) return;
    const sizes = this.batching && !this.pad ? [1, Math.min(2, this.maxBatchSize)] : [1];
    for (const n of new Set(sizes)) await this.warmRun(n);
    if (this.pad && this.batching) {
      this.warmInBackground = true;
      this.armBackgroundWarmup();
    }
  }

  /** One run on zeros with `n` rows. */
  private async warmRun(n: number): Promise<void> {
    const inputs: Record<string, tf.Tensor> = {};
    for (const i of this.info.inputs) {
      const shape = (i.shape as (number | null)[]).map((d, k) => (k === 0 && d === null ? n : (d as number)));
      const dtype = i.dtype === 'int32' ? 'int32' : i.dtype === 'bool' ? 'bool' : 'float32';
      const size = shapeSize(shape);
      // Zeros from an array, as requests bring their inputs: on GPU backends the upload's own
      // shaders compile here too, not in the first request.
      inputs[i.name] = tf.tensor(dtype === 'float32' ? new Float32Array(size) : dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size), shape, dtype);
    }
    let outs: tf.Tensor[] = [];
    try {
      outs = await execute(this.built, inputs);
      await Promise.all(outs.map((o) => o.data()));
      this.learnOutputs(outs, n);
      this.warmed.add(n);
    } finally {
      tf.dispose(Object.values(inputs));
      tf.dispose(outs);
    }
  }

  /** The smallest bucket no run has used yet, while batching; undefined when all are warm. */
  private coldBucket(): number | undefined {
    return this.batching ? this.sizes.find((b) => !this.warmed.has(b)) : undefined;
  }

  /**
   * (Re)starts the idle clock of the background warm-up, if a bucket is still cold: it runs
   * once the whole engine (every model, loads too) has been quiet for the spell.
   */
  private armBackgroundWarmup(): void {
    if (!this.warmInBackground || this.disposed) return;
    clearTimeout(this.warmTimer);
    const cold = this.coldBucket();
    if (cold === undefined) return;
    const spell = Math.max(BACKGROUND_WARMUP_IDLE_MS, 4 * cold * this.msPerRow);
    this.warmTimer = setTimeout(() => {
      this.warmTimer = undefined;
      const n = this.coldBucket();
      if (n === undefined || this.disposed || this.gpu?.lost()) return;
      // Another model's request a moment ago: a warm-up now would likely delay its next one.
      if (this.clock.quietFor() < spell) {
        this.armBackgroundWarmup();
        return;
      }
      // Only between requests: when one is queued or running, the clock starts again after it.
      const started = this.batcher.runIfIdle(() => {
        this.warming = (async () => {
          try {
            await this.warmRun(n);
          } catch {
            // A warm-up that fails is not retried; the first batch of that size will run it.
            this.warmed.add(n);
          }
          this.warming = undefined;
          this.armBackgroundWarmup();
        })();
        return this.warming;
      });
      if (!started) this.armBackgroundWarmup();
      // A request arriving during a warm-up waits for it: on a slow GPU (a batch of 8 of a
      // 224x224 model takes seconds on a software rasterizer) only a long quiet spell is used.
    }, Math.max(1, spell - this.clock.quietFor()));
  }

  /** Fills unknown output shapes from a real run, and turns batching off where outputs do not follow the batch. */
  private learnOutputs(outs: tf.Tensor[], n: number): void {
    outs.forEach((o, k) => {
      const info = this.info.outputs[k] as TensorInfo;
      if (info.shape === null) info.shape = o.shape.map((d, i) => (i === 0 && this.info.inputs[0]?.shape?.[0] === null ? null : d));
      // At batch 1 too: an output of [4] for any batch would pass a check at batch 4 alone.
      if (this.batching && o.shape[0] !== n) this.batching = false;
    });
    // Outputs that do not follow the batch: one request a run from now on.
    if (!this.batching) this.batcher.maxBatchSize = 1;
    if (n > 1) this.batchChecked = true;
  }

  /** `run`: inputs checked, tensors made, queued for a batch. */
  async run(inputs: Record<string, TensorData>, requestId: number): Promise<Record<string, TensorData>> {
    this.assertLive();
    return this.counted(() => this.runNow(inputs, requestId));
  }

  private async runNow(inputs: Record<string, TensorData>, requestId: number): Promise<Record<string, TensorData>> {
    const checked = checkInputs(inputs, this.info.inputs);
    const tensors: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(checked)) tensors[name] = tf.tensor(t.data, t.shape, t.dtype);
    const rows = this.batching ? ((Object.values(checked)[0] as TensorData).shape[0] as number) : 1;
    const result = await this.submit(tensors, rows, requestId);
    return result.outputs;
  }

  /** `predict`: the input decoded and preprocessed on the backend, queued, postprocessed. */
  async predict(input: WireInput, req: WirePredictRequest): Promise<Prediction> {
    this.assertLive();
    return this.counted(() => this.predictNow(input, req));
  }

  private async predictNow(input: WireInput, req: WirePredictRequest): Promise<Prediction> {
    const post = mergePostprocess(this.req.postprocess, req.postprocess);
    if (req.postprocess) checkPostprocess(post, this.info.outputs);
    const tensors = await this.prepare(input, req);
    const result = await this.submit(tensors, 1, req.requestId);
    const p = this.postprocess(result, post);
    if (req.monitor !== false) this.stats.prediction(p.topK[0]?.index ?? -1, p.confidence, p.index === -1);
    return p;
  }

  private async prepare(input: WireInput, req: WirePredictRequest): Promise<Record<string, tf.Tensor>> {
    if (input.kind === 'tensor') {
      const only = this.info.inputs.length === 1 ? this.info.inputs[0] : undefined;
      if (!only) throw new InputError(`predict takes one input; this model has ${this.info.inputs.length}: use run()`);
      let t = input.tensor;
      // A single example without its batch dimension gets one.
      if (only.shape && t.shape.length === only.shape.length - 1) t = { ...t, shape: [1, ...t.shape] };
      const checked = checkInputs(t, this.info.inputs)[only.name] as TensorData;
      if (this.batching && checked.shape[0] !== 1) {
        throw new InputError(`predict takes one example (batch 1), got a batch of ${checked.shape[0]}; use predictBatch or run`);
      }
      return { [only.name]: tf.tensor(checked.data, checked.shape, checked.dtype) };
    }
    if (this.info.inputs.length !== 1) {
      throw new InputError(`predict with an image needs a model with one input; this one has ${this.info.inputs.map((i) => i.name).join(', ')}: use run()`);
    }
    const pre = resolvePreprocess({ ...this.req.preprocess, ...req.preprocess }, this.info.inputs);
    const pixels = await decodeImage(input);
    try {
      return { [pre.input]: toModelInput(pixels, pre) };
    } finally {
      pixels.dispose();
    }
  }

  private postprocess(result: BatchResult, spec: PostprocessSpec): Prediction {
    const outputName = (name: string | undefined) => name ?? (this.info.outputs[0] as TensorInfo).name;
    const head = (name: string, s: PostprocessSpec): HeadPrediction => {
      const out = result.outputs[name] as TensorData;
      return classify(out.data, s);
    };
    const headNames = Object.keys(spec.heads ?? {});
    const primary = spec.output ?? (headNames.length ? headNames[0] : undefined);
    const main = head(outputName(primary), primary && spec.heads?.[primary] ? { ...spec, ...spec.heads[primary] } : spec);
    const prediction: Prediction = {
      ...main,
      timing: { queueMs: result.queueMs, inferenceMs: result.inferenceMs, totalMs: result.queueMs + result.inferenceMs },
      model: { name: this.info.name, version: this.info.version },
      backend: this.info.backend,
      batchSize: result.batchSize,
    };
    if (headNames.length) {
      prediction.heads = Object.fromEntries(headNames.map((n) => [n, head(n, spec.heads?.[n] ?? {})]));
    }
    if (spec.includeOutputs) prediction.outputs = result.outputs;
    return prediction;
  }

  private submit(inputs: Record<string, tf.Tensor>, rows: number, requestId: number): Promise<BatchResult> {
    this.inflight++;
    return new Promise<BatchResult>((resolve, reject) => {
      this.batcher.enqueue({
        requestId,
        rows,
        enqueuedAt: now(),
        inputs,
        resolve,
        reject,
        release: () => tf.dispose(Object.values(inputs)),
      });
    }).then(
      (r) => {
        this.settled();
        this.stats.record(r.queueMs, r.inferenceMs);
        return r;
      },
      (e) => {
        this.settled();
        this.stats.error();
        throw e;
      },
    );
  }

  private settled(): void {
    if (--this.inflight === 0) this.idle?.();
  }

  private async runBatch(jobs: TensorJob[]): Promise<void> {
    // After a GPU loss nothing more runs here; the page replays these requests elsewhere.
    // Only a loss known already: asking the GPU process costs a round trip per request, and
    // a loss not known yet is caught after the readback (readbackTrusted) or by the watch.
    if (this.gpu?.knownLost()) return;
    const start = now();
    const rows = jobs.reduce((n, j) => n + j.rows, 0);
    const size = this.batching && this.pad ? bucketFor(rows, this.sizes) : rows;
    const made: tf.Tensor[] = [];
    let outs: tf.Tensor[] = [];
    /** Set when the outputs turned out not to follow the batch: each job runs again alone. */
    let alone = false;
    try {
      let inputs: Record<string, tf.Tensor>;
      if (jobs.length === 1 && size === rows) {
        inputs = (jobs[0] as TensorJob).inputs;
      } else {
        inputs = {};
        for (const { name } of this.info.inputs) {
          const parts = jobs.map((j) => j.inputs[name] as tf.Tensor);
          const first = parts[0] as tf.Tensor;
          if (size > rows) {
            const pad = tf.zeros([size - rows, ...first.shape.slice(1)], first.dtype);
            made.push(pad);
            parts.push(pad);
          }
          const joined = tf.concat(parts, 0);
          made.push(joined);
          inputs[name] = joined;
        }
      }
      outs = await execute(this.built, inputs);
      const datas = await Promise.all(outs.map((o) => o.data()));
      // Numbers read across a GPU loss are garbage (often zeros): answer nothing, the page
      // runs these requests again on a fresh engine.
      if (this.gpu && !this.gpu.readbackTrusted()) return;
      if (this.pad || this.sizes.includes(size)) this.warmed.add(size);
      const batched = jobs.length > 1 || size !== rows;
      if (batched && !this.batchChecked) {
        // The first run of more than one row (GPU backends warm only batch 1 at load).
        this.learnOutputs(outs, size);
        alone = !this.batching;
      }
      if (!alone) this.answer(jobs, outs, datas, { size, rows, start, batched });
    } catch (e) {
      // A failure caused by a lost GPU is not the model's: the page replays the requests.
      if (this.gpu && (await this.gpu.lostAfterFailure())) return;
      const err = toInpageError(e, 'INFERENCE_FAILED', `Model ${this.info.name} failed to run`);
      for (const job of jobs) job.reject(err);
    } finally {
      tf.dispose(made);
      tf.dispose(outs);
      if (!alone) for (const job of jobs) job.release();
      if (!alone) this.armBackgroundWarmup();
    }
    if (alone) for (const job of jobs) await this.runBatch([job]);
  }

  /** Resolves each job of a batch with its rows of the outputs. */
  private answer(
    jobs: TensorJob[], outs: tf.Tensor[], datas: TensorData['data'][],
    { size, rows, start, batched }: { size: number; rows: number; start: number; batched: boolean },
  ): void {
    const inferenceMs = now() - start;
    this.msPerRow = inferenceMs / size;
    this.stats.batch(rows);
    let from = 0;
    for (const job of jobs) {
      const outputs: Record<string, TensorData> = {};
      outs.forEach((o, k) => {
        const name = (this.info.outputs[k] as TensorInfo).name;
        if (batched && o.shape[0] !== size) {
          throw new InpageError('INFERENCE_FAILED', `Output ${name} has shape [${o.shape}], which does not follow the batch of ${size}; load with batching: false`);
        }
        const data = batched ? sliceRows(datas[k] as TensorData['data'], o.shape, from, job.rows) : (datas[k] as TensorData['data']);
        outputs[name] = { data, shape: batched ? [job.rows, ...o.shape.slice(1)] : o.shape, dtype: outputDtype(o) };
      });
      from += job.rows;
      job.resolve({ outputs, queueMs: start - job.enqueuedAt, inferenceMs, batchSize: rows });
    }
  }

  cancel(requestId: number): boolean {
    return this.batcher.cancel(requestId, new RequestError('ABORTED', 'The request was aborted before it ran'));
  }

  snapshot(): ModelStats {
    return { ...this.stats.snapshot(this.batcher.queued), warmBatchSizes: [...this.warmed].sort((a, b) => a - b) };
  }

  /**
   * Refuses new requests at once, lets those already accepted finish, then frees
   * every tensor of the model. So a version can be retired with no failed request.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return this.freed;
    this.disposed = true;
    clearTimeout(this.warmTimer);
    this.freed = (async () => {
      // After a GPU loss the requests it held are never answered here (they are replayed).
      if (this.inflight > 0 && !this.gpu?.lost()) await new Promise<void>((r) => (this.idle = r));
      this.batcher.close(disposedError(`Model ${this.info.name}@${this.info.version}`));
      await this.warming;
      this.built.model.dispose();
    })();
    return this.freed;
  }
}
