/**
 * The page-side handle of a loaded model: checks inputs, forwards calls, applies
 * abort and timeout, and measures each request end to end.
 */
import { InpageError, InputError, RequestError, disposedError } from '../errors.js';
import type { EngineApi } from '../protocol.js';
import type {
  ModelInfo, ModelStats, Prediction, PredictBatchOptions, PredictOptions, RequestOptions, TensorData,
} from '../types.js';
import { checkInputs } from '../validate.js';
import { toWireInput, wireTensors, type ImageSource } from './inputs.js';

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
  engine: EngineApi;
  transferInputs: boolean;
  nextRequestId(): number;
  /** Wraps a value with its transfer list for the engine call (comlink's `transfer` in a worker). */
  transfer<T>(value: T, transfer: Transferable[]): T;
  assertLive(): void;
  onDisposed(id: string): void;
}

const now = () => performance.now();

/**
 * Runs `call` as one request: rejects with ABORTED or TIMEOUT as soon as the signal
 * fires or the time is up, and tells the engine to drop the request if still queued.
 */
export function guard<T>(host: ModelHost, opts: RequestOptions | undefined, call: (requestId: number) => Promise<T>): Promise<T> {
  const requestId = host.nextRequestId();
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(new RequestError('ABORTED', 'The request was aborted before it was sent'));
  if (opts?.timeoutMs !== undefined && !(opts.timeoutMs > 0)) {
    return Promise.reject(new InputError(`timeoutMs must be a number > 0, got ${opts.timeoutMs}`));
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = (err: InpageError) => {
      cleanup();
      reject(err);
      void Promise.resolve(host.engine.cancel(requestId)).catch(() => undefined);
    };
    const onAbort = () => stop(new RequestError('ABORTED', 'The request was aborted'));
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (opts?.timeoutMs !== undefined) {
      const ms = opts.timeoutMs;
      timer = setTimeout(() => stop(new RequestError('TIMEOUT', `The request took longer than ${ms} ms`, { timeoutMs: ms })), ms);
    }
    call(requestId).then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e) => {
        cleanup();
        reject(e);
      },
    );
  });
}

export class ModelHandle<S extends ModelSchema = ModelSchema> implements Model<S> {
  private disposed = false;

  constructor(private readonly host: ModelHost, readonly id: string, readonly info: ModelInfo) {}

  /** Calls accepted and not yet answered: dispose() lets them finish first. */
  private readonly accepted = new Set<Promise<unknown>>();

  /** Runs a call that has passed the liveness check; dispose() waits for it. */
  private accept<T>(work: () => Promise<T>): Promise<T> {
    const p = work();
    const settled = p.then(() => undefined, () => undefined);
    this.accepted.add(settled);
    void settled.then(() => this.accepted.delete(settled));
    return p;
  }

  private live(): void {
    this.host.assertLive();
    if (this.disposed) throw disposedError(`Model ${this.info.name}@${this.info.version}`);
  }

  async run(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>> {
    this.live();
    return this.accept(() => this.runAccepted(inputs, opts));
  }

  private async runAccepted(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>> {
    const checked = checkInputs(inputs as TensorData | Record<string, TensorData>, this.info.inputs);
    const wired = wireTensors(checked, this.host.transferInputs);
    const payload = this.host.transfer(wired.value, wired.transfer);
    return guard(this.host, opts, (requestId) => this.host.engine.run(this.id, payload, { requestId })) as Promise<RunOutputs<S>>;
  }

  async predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction<LabelOf<S>>> {
    this.live();
    return this.accept(() => this.predictAccepted(input, opts)) as Promise<Prediction<LabelOf<S>>>;
  }

  private async predictAccepted(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction> {
    const start = now();
    const wired = await toWireInput(input, this.host.transferInputs);
    const payload = this.host.transfer(wired.value, wired.transfer);
    const p = await guard(this.host, opts, (requestId) =>
      this.host.engine.predict(this.id, payload, { requestId, ...pick(opts) }));
    p.timing.totalMs = now() - start;
    return p;
  }

  async predictBatch(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts: PredictBatchOptions = {},
  ): Promise<Prediction<LabelOf<S>>[]> {
    this.live();
    return this.accept(() => this.predictBatchAccepted(inputs, opts)) as Promise<Prediction<LabelOf<S>>[]>;
  }

  private async predictBatchAccepted(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts: PredictBatchOptions,
  ): Promise<Prediction[]> {
    const size = opts.batchSize ?? 8;
    if (!Number.isInteger(size) || size < 1) throw new InputError(`batchSize must be a whole number >= 1, got ${opts.batchSize}`);
    const total = Array.isArray(inputs) ? inputs.length : -1;
    const chunks: Prediction[][] = [];
    let done = 0;
    const aborted = () => new RequestError('ABORTED', `predictBatch was aborted after ${done} items`);
    const send = async (items: (ImageSource | TensorData)[], k: number) => {
      // Pixels are decoded per chunk, so only the chunks in flight hold them.
      const wired = await Promise.all(items.map((i) => toWireInput(i, this.host.transferInputs)));
      if (opts.signal?.aborted) {
        for (const w of wired) if (w.value.kind === 'bitmap') w.value.bitmap.close();
        throw aborted();
      }
      const payload = this.host.transfer(wired.map((w) => w.value), wired.flatMap((w) => w.transfer));
      const start = now();
      const ps = await guard(this.host, opts, (requestId) =>
        this.host.engine.predictMany(this.id, payload, { requestId, ...pick(opts) }));
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
    return chunks.flat();
  }

  stats(): Promise<ModelStats> {
    this.live();
    return this.host.engine.stats(this.id);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.host.onDisposed(this.id);
    // Calls made before dispose() may still be decoding their input on the page.
    await Promise.all(this.accepted);
    await this.host.engine.dispose(this.id);
  }
}

function pick(opts: PredictOptions | undefined): Pick<PredictOptions, 'preprocess' | 'postprocess'> {
  const out: Pick<PredictOptions, 'preprocess' | 'postprocess'> = {};
  if (opts?.preprocess) out.preprocess = opts.preprocess;
  if (opts?.postprocess) out.postprocess = opts.postprocess;
  return out;
}
