/**
 * The page-side handle of a loaded model: checks inputs, forwards calls, applies
 * abort and timeout, and measures each request end to end.
 */
import { PREDICT_BATCH_SIZE } from '../defaults.js';
import { InputError, RequestError, disposedError } from '../errors.js';
import { checkPostprocess } from '../postprocess.js';
import type { ModelSettings, WireInput } from '../protocol.js';
import type {
  CalibrateOptions, CalibrationResult, DriftReference, EvaluateOptions, EvaluationReport, LabelledSample, ModelInfo, ModelStats,
  PostprocessSpec, Prediction, PredictBatchOptions, PredictOptions, RequestOptions, TensorData, ThresholdChoice, ThresholdOptions,
} from '../types.js';
import { checkInputs, isTensorData } from '../validate.js';
import {
  calibratedPostprocess, calibration, collect, referenceOf, report, threshold, withHeadSetting, type OpsTarget,
} from './ops.js';
import { toWireInput, wireTensors, type ImageSource, type Wired } from './inputs.js';
import type { Supervisor } from './supervisor.js';
import { leastBusy, mergeStats } from './replicas.js';

/**
 * Names of a model's inputs and outputs, for typed `run`.
 * @example runtime.load<{ inputs: 'image'; outputs: 'probs' | 'logits' }>(spec)
 */
export interface ModelSchema {
  inputs: string;
  outputs: string;
  /** Class names (`'cat' | 'dog'`): the type of `prediction.label`. Optional; `inpage types --labels` writes it. */
  labels?: string;
}

/** The label type of a schema's predictions: its `labels` union, else `string`. */
export type LabelOf<S extends ModelSchema> = S extends { labels: infer L extends string } ? L : string;

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/** What `run` accepts: a map by input name; one TensorData when the model has one input. */
export type RunInputs<S extends ModelSchema> = string extends S['inputs']
  ? TensorData | Record<string, TensorData>
  : true extends IsUnion<S['inputs']>
    ? { [K in S['inputs']]: TensorData }
    : TensorData | { [K in S['inputs']]: TensorData };

/** What `run` returns: one TensorData per output name. */
export type RunOutputs<S extends ModelSchema> = string extends S['outputs']
  ? Record<string, TensorData>
  : { [K in S['outputs']]: TensorData };

/** A loaded model. Get one from `runtime.load(spec)`. */
export interface Model<S extends ModelSchema = ModelSchema> {
  /** Format, inputs and outputs (name, dtype, shape with `null` for free dims), backend. */
  readonly info: ModelInfo;
  /**
   * Runs the model on tensors. Input buffers are transferred to the worker (the
   * caller's arrays are detached afterwards) unless the runtime was made with
   * `transferInputs: false`. Output keys are `info.outputs[].name`.
   */
  run(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>>;
  /** Classifies one image (any page image source, a Blob, or a TensorData ready for the model). */
  predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction<LabelOf<S>>>;
  /**
   * Classifies many inputs in chunks, holding only a few chunks at a time, letting
   * online requests through between chunks. Answers come in input order.
   */
  predictBatch(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts?: PredictBatchOptions,
  ): Promise<Prediction<LabelOf<S>>[]>;
  /**
   * Latency percentiles, batch sizes and throughput over recent requests; and over the same
   * window the top-1 confidence histogram, the abstain rate, counts per predicted class and,
   * once a reference is set, drift against it (`drift: { classPsi, confidencePsi, alarm }`).
   */
  stats(): Promise<ModelStats>;
  /**
   * Judges the model on labelled samples, through the batch path (progress, `signal`):
   * accuracy, per-class precision / recall / F1 / support, confusion matrix, log loss, ECE
   * with its bins, abstain rate and accuracy on the answered ones at the model's threshold;
   * per head (`heads`) and per group of `sliceBy` (`slices`). Unlabelled samples (label -1,
   * null or missing) are counted and skipped in every metric. The samples' predictions become
   * the drift reference unless `reference: false`; they are not counted in `stats()`'s window.
   * @example
   * const r = await model.evaluate(samples, { sliceBy: (s) => s.meta.camera });
   * r.accuracy; r.perClass[0].f1; r.bins; r.slices?.front.accuracy;
   */
  evaluate<T extends Sample>(samples: SampleSource<T>, opts?: EvaluateOptions<T>): Promise<EvaluationReport>;
  /**
   * Fits a temperature per head by minimising the NLL of the labelled samples (temperature
   * scaling). Where no finite temperature exists (every sample right: the NLL falls without
   * end as T goes to 0) the head's `temperature` is `null` with a `code`, and it is left as it
   * is. With `apply: true` later predictions use the fitted temperatures, also after an
   * engine recovery. Output of a head with `activation: 'softmax'` is taken as logits; with
   * `'none'` (probabilities), `log p` is.
   * @example
   * const fit = await model.calibrate(samples, { apply: true });
   * fit.temperature; fit.before.ece; fit.after.ece;
   */
  calibrate(samples: SampleSource<Sample>, opts?: CalibrateOptions): Promise<CalibrationResult>;
  /**
   * The abstention threshold that reaches a target precision (the lowest such, for the most
   * answers) or keeps a target coverage, on labelled samples at the model's temperature.
   * `reached: false` with `code: 'TARGET_UNREACHABLE'` when no threshold reaches it. With
   * `apply: true` later predictions abstain under it (label -1 in the answer).
   * @example const { threshold } = await model.chooseThreshold(samples, { precision: 0.95, apply: true });
   */
  chooseThreshold(
    samples: SampleSource<Sample>,
    opts: ThresholdOptions,
  ): Promise<ThresholdChoice & { head: string; applied: boolean }>;
  /**
   * Sets the reference `stats().drift` is measured against: the distribution of the top-1
   * class and confidence of the model's answers to these inputs (or samples); `null` forgets
   * it. Kept across an engine recovery.
   */
  setReference<I extends ImageSource | TensorData>(
    samples: Iterable<I | LabelledSample<I>> | AsyncIterable<I | LabelledSample<I>> | null,
    opts?: RequestOptions & { onProgress?: (done: number, total: number) => void },
  ): Promise<DriftReference | null>;
  /** Frees every tensor of the model once the requests it accepted are answered. Later calls reject with DISPOSED. */
  dispose(): Promise<void>;
}

/** A sample of `evaluate`, `calibrate` and `chooseThreshold`: any input `predict` takes, and its label. */
export type Sample = LabelledSample<ImageSource | TensorData>;

/** Samples: an array, an iterable or an async iterable (read once, in chunks). */
export type SampleSource<T> = Iterable<T> | AsyncIterable<T>;

/** What a model handle needs of its runtime. */
export interface ModelHost {
  /** Inputs are transferred (zero-copy, not replayable after an engine loss). */
  transferInputs: boolean;
  /** Wraps a value with its transfer list for the engine call (comlink's `transfer` in a worker). */
  transfer<T>(value: T, transfer: Transferable[]): T;
  /** A wire input as one send to the engine may consume it (the engine closes the bitmaps it gets). */
  sendable(input: WireInput): Promise<WireInput>;
  assertLive(): void;
  /** The model stops being routed to by name. */
  onDisposed(id: string): void;
  /** The model is freed in `sup`: an engine left holding no model may be ended. */
  released(sup: Supervisor): void;
}

const now = () => performance.now();

/** Closes the bitmaps a wired input made on the page. */
function closeWired(inputs: readonly Wired<WireInput>[]): void {
  for (const w of inputs) if (w.value.kind === 'bitmap') w.value.bitmap.close();
}

export class ModelHandle<S extends ModelSchema = ModelSchema> implements Model<S> {
  private disposed = false;
  /** The postprocess the engine serves this model with (changed by calibrate / chooseThreshold with `apply`). */
  private post: PostprocessSpec;

  /** The supervisors of the engines holding this model: its home engine's, then its replicas'. */
  private readonly replicas: Supervisor[];

  /** @param home the engine the model was loaded in (of the backend it serves on) */
  constructor(private readonly host: ModelHost, readonly id: string, readonly info: ModelInfo, post: PostprocessSpec | undefined, home: Supervisor) {
    this.post = post ?? {};
    this.replicas = [home];
  }

  /** The engine the model was loaded in: it holds its load request; replicas come and go. */
  get home(): Supervisor {
    return this.replicas[0] as Supervisor;
  }

  /** A replica engine has loaded the model: requests may go there from now on. */
  addReplica(sup: Supervisor): void {
    this.replicas.push(sup);
  }

  /** A replica engine lost the model for good (it could not load it again after a loss). */
  dropReplica(sup: Supervisor): void {
    const i = this.replicas.indexOf(sup);
    if (i > 0) this.replicas.splice(i, 1);
    this.info.replicas = this.replicas.length;
  }

  /** The replica for the next request: the one with the fewest outstanding. */
  private sup(): Supervisor {
    return this.replicas.length === 1 ? (this.replicas[0] as Supervisor) : leastBusy(this.replicas, this.id);
  }

  /** The postprocess in force. */
  postprocess(): PostprocessSpec {
    return this.post;
  }

  private ops(): OpsTarget {
    return {
      info: this.info,
      postprocess: () => this.post,
      predictBatch: (inputs, opts) => this.predictBatch(inputs as AsyncIterable<ImageSource | TensorData>, opts),
    };
  }

  /**
   * Changes the model's serving settings in the engine; the supervisor's copy of its load
   * request takes them first, so a reload after a loss (even one during this call) has them.
   */
  private async configure(settings: ModelSettings): Promise<void> {
    if (settings.postprocess) checkPostprocess(settings.postprocess, this.info.outputs);
    for (const sup of this.replicas) sup.amend(this.id, settings);
    await Promise.all(this.replicas.map((sup) => sup.request(undefined, {
      modelId: this.id,
      replayable: true,
      send: (engine) => engine.configure(this.id, settings),
    })));
    if (settings.postprocess) this.post = settings.postprocess;
  }

  async evaluate<T extends Sample>(samples: SampleSource<T>, opts: EvaluateOptions<T> = {}): Promise<EvaluationReport> {
    this.live();
    checkBins(opts.bins);
    const c = await collect(this.ops(), samples, opts);
    const r = report(c, opts.bins);
    if (opts.reference !== false && c.slices.length > 0) await this.configure({ reference: referenceOf(c) });
    return r;
  }

  async calibrate(samples: SampleSource<Sample>, opts: CalibrateOptions = {}): Promise<CalibrationResult> {
    this.live();
    checkBins(opts.bins);
    const c = await collect(this.ops(), samples, opts);
    const fit = calibration(c, opts.bins);
    const next = opts.apply ? calibratedPostprocess(this.post, c, fit) : undefined;
    if (next) await this.configure({ postprocess: next });
    return { ...fit, applied: next !== undefined };
  }

  async chooseThreshold(
    samples: SampleSource<Sample>,
    opts: ThresholdOptions,
  ): Promise<ThresholdChoice & { head: string; applied: boolean }> {
    this.live();
    if (opts == null || (opts.precision === undefined && opts.coverage === undefined)) {
      throw new InputError('chooseThreshold takes a target: { precision: 0.95 } or { coverage: 0.9 }');
    }
    const c = await collect(this.ops(), samples, opts);
    const choice = threshold(c, opts);
    const apply = opts.apply === true && choice.n > 0;
    if (apply) await this.configure({ postprocess: withHeadSetting(this.post, choice.head, c.primary.name, 'threshold', choice.threshold) });
    return { ...choice, applied: apply };
  }

  async setReference<I extends ImageSource | TensorData>(
    samples: Iterable<I | LabelledSample<I>> | AsyncIterable<I | LabelledSample<I>> | null,
    opts: RequestOptions & { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<DriftReference | null> {
    this.live();
    if (samples === null) {
      await this.configure({ reference: null });
      return null;
    }
    async function* asSamples(): AsyncGenerator<LabelledSample<I>> {
      for await (const s of samples as AsyncIterable<I | LabelledSample<I>>) {
        yield (s !== null && typeof s === 'object' && 'input' in s && !isTensorData(s) ? s : { input: s }) as LabelledSample<I>;
      }
    }
    const c = await collect(this.ops(), asSamples(), opts);
    if (c.slices.length === 0) throw new InputError('setReference needs at least one input');
    const ref = referenceOf(c);
    await this.configure({ reference: ref });
    return ref;
  }

  private live(): void {
    this.host.assertLive();
    if (this.disposed) throw disposedError(`Model ${this.info.name}@${this.info.version}`);
  }

  async run(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>> {
    this.live();
    const checked = checkInputs(inputs, this.info.inputs);
    const transfer = this.host.transferInputs;
    const wired = wireTensors(checked, transfer);
    const payload = this.host.transfer(wired.value, wired.transfer);
    const out = await this.sup().request(opts, {
      modelId: this.id,
      replayable: !transfer,
      send: (engine, requestId) => engine.run(this.id, payload, { requestId }),
    });
    return out as RunOutputs<S>;
  }

  async predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction<LabelOf<S>>> {
    this.live();
    const start = now();
    const transfer = this.host.transferInputs;
    const p = await this.sup().request(opts, {
      modelId: this.id,
      replayable: !transfer,
      prepared: toWireInput(input, transfer),
      send: async (engine, requestId, wired) => {
        const value = await this.host.sendable(wired.value);
        return engine.predict(this.id, this.host.transfer(value, wired.transfer), { requestId, ...pick(opts) });
      },
      release: (wired) => closeWired([wired]),
    });
    p.timing.totalMs = now() - start;
    return p as Prediction<LabelOf<S>>;
  }

  async predictBatch(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts: PredictBatchOptions = {},
  ): Promise<Prediction<LabelOf<S>>[]> {
    this.live();
    const size = opts.batchSize ?? PREDICT_BATCH_SIZE;
    if (!Number.isInteger(size) || size < 1) throw new InputError(`batchSize must be a whole number >= 1, got ${opts.batchSize}`);
    // Accepted now: a dispose() from here on waits for every chunk, even those not sent yet.
    const releases = this.replicas.map((sup) => sup.hold(this.id));
    try {
      return await this.batchChunks(inputs, opts, size);
    } finally {
      for (const release of releases) release();
    }
  }

  private async batchChunks(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts: PredictBatchOptions,
    size: number,
  ): Promise<Prediction<LabelOf<S>>[]> {
    const total = Array.isArray(inputs) ? inputs.length : -1;
    const transfer = this.host.transferInputs;
    const chunks: Prediction[][] = [];
    let done = 0;
    const aborted = () => new RequestError('ABORTED', `predictBatch was aborted after ${done} items`);
    const send = async (items: (ImageSource | TensorData)[], k: number) => {
      const start = now();
      // Pixels are decoded per chunk, so only the chunks in flight hold them.
      const ps = await this.sup().request({ ...opts, what: 'predictBatch' }, {
        modelId: this.id,
        replayable: !transfer,
        prepared: Promise.all(items.map((i) => toWireInput(i, transfer))),
        send: async (engine, requestId, wired) => {
          const values = await Promise.all(wired.map((w) => this.host.sendable(w.value)));
          const payload = this.host.transfer(values, wired.flatMap((w) => w.transfer));
          return engine.predictMany(this.id, payload, { requestId, ...pick(opts) });
        },
        release: closeWired,
      });
      const elapsed = now() - start;
      for (const p of ps) p.timing.totalMs = elapsed;
      chunks[k] = ps;
      done += ps.length;
      opts.onProgress?.(done, total);
    };
    // At most two chunks outstanding per replica: one running, one queued behind it.
    // Online requests queue between them.
    const inFlight = 2 * this.replicas.length;
    const pending: Promise<void>[] = [];
    const push = (p: Promise<void>) => {
      p.catch(() => undefined);
      pending.push(p);
    };
    let chunk: (ImageSource | TensorData)[] = [];
    let k = 0;
    for await (const item of inputs) {
      if (opts.signal?.aborted) break;
      chunk.push(item);
      if (chunk.length === size) {
        push(send(chunk, k++));
        chunk = [];
        if (pending.length >= inFlight) await pending.shift();
      }
    }
    if (chunk.length && !opts.signal?.aborted) push(send(chunk, k++));
    await Promise.all(pending);
    if (opts.signal?.aborted) throw aborted();
    return chunks.flat() as Prediction<LabelOf<S>>[];
  }

  async stats(): Promise<ModelStats> {
    this.live();
    const parts = await Promise.all(this.replicas.map((sup) => sup.request(undefined, {
      modelId: this.id,
      replayable: true,
      send: (engine) => engine.stats(this.id),
    })));
    return mergeStats(parts, this.home.loadRequest(this.id)?.reference);
  }

  /**
   * Stops routing to the model at once, lets the calls it accepted finish (replayed ones
   * included), then frees it in the engine.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.host.onDisposed(this.id);
    await Promise.all(this.replicas.map(async (sup) => {
      await this.disposeIn(sup);
      this.host.released(sup);
    }));
  }

  private async disposeIn(sup: Supervisor): Promise<void> {
    await sup.idle(this.id);
    sup.forget(this.id);
    if (sup.state === 'terminated' || sup.state === 'lost') return;
    await sup.request(undefined, { replayable: true, send: (engine) => engine.dispose(this.id) }).catch((e: unknown) => {
      // The runtime ending meanwhile has freed the model anyway.
      if (sup.state !== 'terminated' && sup.state !== 'lost') throw e;
    });
  }
}


/** Checks `bins` before any sample is sent. */
function checkBins(bins: number | undefined): void {
  if (bins !== undefined && !(Number.isInteger(bins) && bins >= 1)) throw new InputError(`bins must be a whole number >= 1, got ${bins}`);
}

function pick(opts: PredictOptions | undefined): Pick<PredictOptions, 'preprocess' | 'postprocess' | 'monitor'> {
  const out: Pick<PredictOptions, 'preprocess' | 'postprocess' | 'monitor'> = {};
  if (opts?.preprocess) out.preprocess = opts.preprocess;
  if (opts?.postprocess) out.postprocess = opts.postprocess;
  if (opts?.monitor === false) out.monitor = false;
  return out;
}
