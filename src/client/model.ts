/**
 * The page-side handle of a loaded model: checks inputs, forwards calls, applies
 * abort and timeout, and measures each request end to end.
 */
import { PREDICT_BATCH_SIZE } from '../defaults.js';
import { InputError, RequestError, disposedError } from '../errors.js';
import type { WireInput } from '../protocol.js';
import type {
  ModelInfo, ModelStats, Prediction, PredictBatchOptions, PredictOptions, RequestOptions, TensorData,
} from '../types.js';
import { checkInputs } from '../validate.js';
import { toWireInput, wireTensors, type ImageSource, type Wired } from './inputs.js';
import type { Supervisor } from './supervisor.js';

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
  /** Latency percentiles, batch sizes and throughput over recent requests. */
  stats(): Promise<ModelStats>;
  /** Frees every tensor of the model once the requests it accepted are answered. Later calls reject with DISPOSED. */
  dispose(): Promise<void>;
}

/** What a model handle needs of its runtime. */
export interface ModelHost {
  supervisor: Supervisor;
  /** Inputs are transferred (zero-copy, not replayable after an engine loss). */
  transferInputs: boolean;
  /** Wraps a value with its transfer list for the engine call (comlink's `transfer` in a worker). */
  transfer<T>(value: T, transfer: Transferable[]): T;
  /** A wire input as one send to the engine may consume it (the engine closes the bitmaps it gets). */
  sendable(input: WireInput): Promise<WireInput>;
  assertLive(): void;
  /** The model stops being routed to by name. */
  onDisposed(id: string): void;
}

const now = () => performance.now();

/** Closes the bitmaps a wired input made on the page. */
function closeWired(inputs: readonly Wired<WireInput>[]): void {
  for (const w of inputs) if (w.value.kind === 'bitmap') w.value.bitmap.close();
}

export class ModelHandle<S extends ModelSchema = ModelSchema> implements Model<S> {
  private disposed = false;

  constructor(private readonly host: ModelHost, readonly id: string, readonly info: ModelInfo) {}

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
    const out = await this.host.supervisor.request(opts, {
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
    const p = await this.host.supervisor.request(opts, {
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
    const release = this.host.supervisor.hold(this.id);
    try {
      return await this.batchChunks(inputs, opts, size);
    } finally {
      release();
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
      const ps = await this.host.supervisor.request({ ...opts, what: 'predictBatch' }, {
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
    // At most two chunks outstanding: one running, one queued behind it. Online
    // requests queue between them.
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
        if (pending.length >= 2) await pending.shift();
      }
    }
    if (chunk.length && !opts.signal?.aborted) push(send(chunk, k++));
    await Promise.all(pending);
    if (opts.signal?.aborted) throw aborted();
    return chunks.flat() as Prediction<LabelOf<S>>[];
  }

  stats(): Promise<ModelStats> {
    this.live();
    return this.host.supervisor.request(undefined, {
      modelId: this.id,
      replayable: true,
      send: (engine) => engine.stats(this.id),
    });
  }

  /**
   * Stops routing to the model at once, lets the calls it accepted finish (replayed ones
   * included), then frees it in the engine.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.host.onDisposed(this.id);
    const sup = this.host.supervisor;
    await sup.idle(this.id);
    sup.forget(this.id);
    if (sup.state === 'terminated' || sup.state === 'lost') return;
    await sup.request(undefined, { replayable: true, send: (engine) => engine.dispose(this.id) }).catch((e: unknown) => {
      // The runtime ending meanwhile has freed the model anyway.
      if (sup.state !== 'terminated' && sup.state !== 'lost') throw e;
    });
  }
}


function pick(opts: PredictOptions | undefined): Pick<PredictOptions, 'preprocess' | 'postprocess'> {
  const out: Pick<PredictOptions, 'preprocess' | 'postprocess'> = {};
  if (opts?.preprocess) out.preprocess = opts.preprocess;
  if (opts?.postprocess) out.postprocess = opts.postprocess;
  return out;
}
