/**
 * Public types of inpage. Everything here is plain data that can cross the
 * worker boundary by structured clone; nothing refers to tfjs.
 */
import type { ErrorCode } from './errors.js';
import type { HeadMetrics, TemperatureFitCode } from './ops/metrics.js';

/** A tfjs backend, in the order inpage prefers them by default. */
export type Backend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** The element type of a tensor as inpage carries it. `bool` travels as a Uint8Array of 0/1. */
export type DType = 'float32' | 'int32' | 'bool';

/** The typed arrays a {@link TensorData} may hold. */
export type TypedArray = Float32Array | Int32Array | Uint8Array;

/**
 * A tensor as plain data: a flat typed array in row-major order and its shape.
 * `dtype` defaults from the array: Float32Array is float32, Int32Array int32,
 * Uint8Array int32 for a model input of int32 (pixels) and bool otherwise.
 *
 * @example
 * const x: TensorData = { data: new Float32Array(2 * 8), shape: [2, 8] };
 */
export interface TensorData {
  data: TypedArray;
  shape: number[];
  dtype?: DType;
}

/** One input or output of a model. `null` in `shape` marks a dimension of any size. */
export interface TensorInfo {
  name: string;
  /** The dtype the model declares (`float32`, `int32`, `bool`; other tfjs dtypes are passed through as text). */
  dtype: string;
  /** `null` for a free dimension; `null` as a whole when the model does not tell the rank. */
  shape: (number | null)[] | null;
}

/** What inpage knows of a loaded model. */
export interface ModelInfo {
  /** `spec.name`, else the last folder of the URL, else the model.json file name. */
  name: string;
  /** `spec.version`, default `'1'`. */
  version: string;
  format: 'graph' | 'layers';
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** The backend the model runs on. */
  backend: Backend;
  /**
   * CPU threads the backend computes on: on `wasm`, the size of tfjs's XNNPACK thread pool
   * (`createRuntime({ wasmThreads })` where the page is cross-origin isolated, else 1); 1 on
   * the other backends (`cpu` is single-threaded; `webgl` and `webgpu` compute on the GPU).
   */
  threads: number;
  /** Whether the graph needs `executeAsync` (control flow or dynamic-shape ops). */
  async: boolean;
  /** Bytes of weights as downloaded. */
  bytes: number;
  /** Whether the files came from inpage's IndexedDB cache. */
  fromCache: boolean;
  /**
   * Set when `spec.cache` was asked for but the cache could not be used: the model
   * loaded anyway (from the network). `CACHE_QUOTA_EXCEEDED` when storage is full,
   * `INTEGRITY_MISMATCH` when a cached copy failed its check and was replaced,
   * `CACHE_FAILED` otherwise (IndexedDB unavailable, say).
   */
  cacheError?: { code: ErrorCode; message: string };
  /** Engines holding the model (`spec.replicas`); absent for one. */
  replicas?: number;
  /** With `backends: 'auto'`: why the runtime serves on `backend` (the timings it measured, or a remembered choice). */
  choice?: BackendChoice;
}

/** One backend as `backends: 'auto'` timed it: median of bounded runs after warm-up, or why it was left. */
export interface BackendTiming {
  backend: Backend;
  /** Start of its engine, download or cache read, build and warm-up (ms). */
  loadMs?: number;
  /** Median time of one run of the model at batch 1, as a request sees it (ms). */
  medianMs?: number;
  runs?: number;
  /** Why it was not timed: over the budget, failed to start or to load. */
  skipped?: string;
}

/** How `backends: 'auto'` chose the backend a model serves on. */
export interface BackendChoice {
  backend: Backend;
  /**
   * `measured`: timed on each backend here, the fastest kept; `remembered`: measured on an
   * earlier visit (same model, browser and GPU); `pinned`: the load asked for it
   * (`spec.backend`); `ladder`: not measured (`worker: false`), the first backend of the auto
   * order that started.
   */
  reason: 'measured' | 'remembered' | 'pinned' | 'ladder';
  timings: BackendTiming[];
}

/** Download progress of a model's files, in bytes. `total` is known once model.json is read. */
export interface LoadProgress {
  loaded: number;
  total: number;
  /** The file being downloaded, relative to model.json's folder. */
  file?: string;
}

/** How an image is resized to the model's input. */
export type Fit = 'stretch' | 'cover' | 'contain';

/** Tensor layout of an image input. */
export type Layout = 'NHWC' | 'NCHW';

/**
 * Declarative preprocessing of images, done on the backend in the worker. Every field
 * has a default taken from the model's first input, so `predict(img)` needs none.
 */
export interface PreprocessSpec {
  /** Which input receives the image. Default: the first. */
  input?: string;
  /** Target `[height, width]`. Default: from the model's input shape, else the image's own size. */
  size?: [number, number];
  /** `'stretch'` (default) ignores the aspect ratio, `'cover'` center-crops, `'contain'` letterboxes with zeros. */
  fit?: Fit;
  /** 1 (grayscale, BT.601 luma) or 3 (RGB). Default: from the input shape, else 3. */
  channels?: 1 | 3;
  /** Pixels (0..255) are multiplied by this. Default `1/255`; for int32 or uint8 inputs the default is 1. */
  scale?: number;
  /** Subtracted per channel after scaling. Default 0. */
  mean?: number | number[];
  /** Divided per channel after the mean. Default 1. */
  std?: number | number[];
  /** Default: `'NCHW'` when the input's second dimension is 1 or 3 and its last is not, else `'NHWC'`. */
  layout?: Layout;
}

/** Activation applied to an output before top-k. */
export type Activation = 'softmax' | 'sigmoid' | 'none';

/** How an output becomes a classification. */
export interface PostprocessSpec {
  /** Which output to read. Default: the first. */
  output?: string;
  /** Default `'none'` (the output is taken as probabilities). */
  activation?: Activation;
  /** Calibration temperature: logits are divided by it before the activation. Default 1. */
  temperature?: number;
  /** Class names by index. */
  labels?: string[];
  /** How many classes `topK` lists. Default 5 (at most the number of classes). */
  topK?: number;
  /** Below this confidence the prediction abstains (`index: -1, label: null`). Default 0. */
  threshold?: number;
  /** One postprocess per output of a multi-output model; results land in `prediction.heads[name]`. */
  heads?: Record<string, Omit<PostprocessSpec, 'heads' | 'output'>>;
  /** Also return the raw outputs in `prediction.outputs`. Default false. */
  includeOutputs?: boolean;
}

/** Dynamic micro-batching of concurrent requests, with Triton's semantics. */
export interface BatchingSpec {
  /** Largest batch formed. Default 8. */
  maxBatchSize?: number;
  /** How long a request may wait for company, in ms. Default 0: a lone request waits for nothing; requests that arrive while a batch runs form the next one. */
  maxQueueDelayMs?: number;
}

/**
 * Checksums of a model's files, keyed by path relative to model.json's folder (model.json's
 * own file name included): `{ 'model.json': 'sha256-<base64>', 'group1-shard1of1.bin': ... }`.
 * `sha384-` and `sha512-` values are accepted too. `npx inpage hash path/to/model.json` prints one.
 */
export type IntegrityMap = Record<string, string>;

/** What to load and how to serve it. */
export interface ModelSpec {
  /** URL of model.json. */
  url?: string | URL;
  /** Files picked by the user: model.json and its weight shards. */
  files?: File[];
  /** Registry name. Default: from the URL's folder or the file name. */
  name?: string;
  /** Version under the name. Default `'1'`. */
  version?: string;
  /**
   * Keep the downloaded files in IndexedDB, keyed by `name` and `version` (by URL and
   * version when no `name` is given), and load from there next time with no network.
   * Ignored for `files`. Default false.
   */
  cache?: boolean;
  /**
   * Expected checksum of every file. A file whose bytes differ, or a file the map does
   * not list, fails the load with `INTEGRITY_MISMATCH` naming it, and nothing is cached.
   */
  integrity?: IntegrityMap;
  /**
   * Make this version the active one of its `name` once loaded, so that
   * `runtime.model(name)` sends new requests to it. Default false: the first version
   * loaded under a name is active until another is promoted.
   */
  promote?: boolean;
  /**
   * Load the model in this many engines (workers) of the runtime's backend and send each
   * request to the one with the fewest outstanding (Triton's instance groups): batch serving
   * then uses more than one core. Each replica holds its own copy of the weights (n times the
   * memory). `'auto'`: one per core (at most 4) on wasm and cpu without WASM threads, else 1.
   * Default 1. Not with `worker: false` (one engine on the page).
   */
  replicas?: number | 'auto';
  /**
   * The backend this model serves on, whatever the runtime's `backends`: it is loaded in the
   * runtime's engine of that backend, started for it if need be (one engine, a worker, per
   * backend in use). With `worker: false` only the runtime's own backend.
   * @throws InpageError `BACKEND_UNAVAILABLE` when that backend does not start here
   * @example await runtime.load({ url: '/models/detector/model.json', backend: 'webgl' });
   */
  backend?: Backend;
  /** Format of the model. Default: read from model.json. */
  format?: 'graph' | 'layers';
  /**
   * Run the model once on batch 1 at load so the first request is fast. Default true. On
   * WebGL and WebGPU, where each batch size compiles shaders of its own, the other batch
   * buckets are then warmed in the background while the model is idle; a batch whose size
   * is not warm yet just runs.
   */
  warmup?: boolean;
  preprocess?: PreprocessSpec;
  postprocess?: PostprocessSpec;
  /** Dynamic batching; `false` turns it off. Default on (`{ maxBatchSize: 8, maxQueueDelayMs: 0 }`) where the batch dimension is free. */
  batching?: BatchingSpec | false;
  /** Most requests waiting at once before new ones fail with `QUEUE_FULL`. Default 1024. */
  maxQueue?: number;
  /** Called as the files download. */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts the load: it rejects with `ABORTED`, downloads stop and whatever was built is freed. */
  signal?: AbortSignal;
  /** Rejects the load with `TIMEOUT` after this many ms (download, build and warm-up together). */
  timeoutMs?: number;
  /**
   * A download that receives no byte for this many ms is retried (3 attempts in all), then
   * fails with `MODEL_LOAD_FAILED` naming the file. Default 30,000.
   */
  stallTimeoutMs?: number;
  /**
   * The folder weight files are fetched from. Weight paths of model.json must resolve inside
   * it, on its origin; a path that escapes (`../x.bin`, another origin) fails the load with
   * `MODEL_LOAD_FAILED` naming it. Default: model.json's own folder.
   */
  weightsUrl?: string | URL;
  /** Extra `fetch` options (credentials, headers) for every file. */
  requestInit?: RequestInit;
}

/** Per-call options of `run`, `predict` and `predictBatch`. */
export interface RequestOptions {
  /** Aborts the request: it rejects with `ABORTED` and, if still queued, never runs. */
  signal?: AbortSignal;
  /** Rejects with `TIMEOUT` after this many ms. */
  timeoutMs?: number;
}

/** Options of `predict`. */
export interface PredictOptions extends RequestOptions {
  preprocess?: PreprocessSpec;
  postprocess?: PostprocessSpec;
  /** Count the answer in `stats()`'s monitoring window (confidence, classes, drift). Default true. */
  monitor?: boolean;
}

/** Options of `predictBatch`. */
export interface PredictBatchOptions extends PredictOptions {
  /** Items sent to the engine in one call (each still its own request to the batcher). Default 8. */
  batchSize?: number;
  /** Called after each chunk with items done and the total (the total is -1 for an async iterable). */
  onProgress?: (done: number, total: number) => void;
}

/** One class in a prediction. */
export interface ClassScore<L extends string = string> {
  label: L | null;
  index: number;
  confidence: number;
}

/** The result of a classification head. `index: -1, label: null` means the model abstained. */
export interface HeadPrediction<L extends string = string> extends ClassScore<L> {
  topK: ClassScore<L>[];
}

/** Timing of one request, in ms. */
export interface Timing {
  /** Waiting in the batcher's queue. */
  queueMs: number;
  /** Preprocess, execute and read back, for the batch this request was in. */
  inferenceMs: number;
  /** From the call on the page to the answer on the page. */
  totalMs: number;
}

/** The answer of `predict`. */
export interface Prediction<L extends string = string> extends HeadPrediction<L> {
  /** Per-output results when `postprocess.heads` is set. */
  heads?: Record<string, HeadPrediction>;
  /** Raw outputs when `postprocess.includeOutputs` is set. */
  outputs?: Record<string, TensorData>;
  timing: Timing;
  model: { name: string; version: string };
  backend: Backend;
  /** Size of the batch this request was served in. */
  batchSize: number;
}

/** Percentiles over the rolling window, in ms. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

/** Serving statistics of a model over a rolling window of recent requests. */
export interface ModelStats {
  requests: number;
  errors: number;
  latencyMs: Percentiles;
  queueMs: Percentiles;
  inferenceMs: Percentiles;
  /** How many batches of each size were run. */
  batchSizes: Record<number, number>;
  throughputPerSec: number;
  /** Requests waiting right now. */
  queued: number;
  /**
   * Batch sizes run at least once, ascending (warm: on WebGL and WebGPU their shaders are
   * compiled). Batch 1 is warmed at load; on GPU backends the others follow in the background.
   */
  warmBatchSizes: number[];
  /** Predictions in the window (`predict` and `predictBatch` answers; `run` and evaluation traffic are not counted). */
  predictions: number;
  /** Histogram of the top-1 confidence of the window's predictions: `bins[b]` counts [b/B, (b+1)/B), B = 10. */
  confidence: { bins: number[] };
  /** Share of the window's predictions that abstained (NaN with none). */
  abstainRate: number;
  /** Predictions per top-1 class index over the window. */
  classCounts: number[];
  /**
   * Drift of the window against the reference (`model.setReference`, or the samples last
   * evaluated): population stability index of the top-1 class distribution and of the
   * confidence histogram. `alarm` when either exceeds 0.25 with at least 30 predictions in
   * the window. Absent until a reference is set and a prediction is seen.
   */
  drift?: DriftStats;
  /**
   * With `spec.replicas`: each replica's own stats. The fields above then add up counts,
   * throughput and histograms over the replicas (drift is computed on the sums), and give the
   * worst replica's latency percentiles.
   */
  replicas?: ModelStats[];
}

/** Drift against the reference, in `stats().drift`. */
export interface DriftStats {
  /** PSI of the top-1 class distribution. */
  classPsi: number;
  /** PSI of the top-1 confidence histogram. */
  confidencePsi: number;
  /** Either PSI over 0.25 (with at least 30 predictions in the window). */
  alarm: boolean;
  /** Predictions the window holds. */
  samples: number;
}

/** What drift is measured against: counts per top-1 class and per confidence bin (10 bins). */
export interface DriftReference {
  classCounts: number[];
  confidenceBins: number[];
}

/** A model held by a runtime. */
export interface RegistryEntry {
  name: string;
  version: string;
  backend: Backend;
  bytes: number;
  /** `recovering` while the runtime brings its engine back after a loss (calls wait for it). */
  state: 'loading' | 'ready' | 'recovering' | 'disposed';
  /** Whether new requests to `name` go to this version. */
  active: boolean;
  /** Set on a canary: the share of `name`'s calls it gets. */
  canary?: number;
  /** Set on a shadow: the share of `name`'s predict calls it answers in the shadow. */
  shadow?: number;
  /** Aliases naming this version (`runtime.alias`). */
  aliases?: string[];
}

/** tfjs memory of the engine. */
export interface MemoryInfo {
  numTensors: number;
  numBytes: number;
}

/** A model stored in inpage's IndexedDB cache (see `cache.list()`). */
export interface CacheEntry {
  /** The cache key: `name@version`, or `url@version` for a model loaded without a name. */
  key: string;
  name: string;
  version: string;
  /** The URL of model.json it was downloaded from. */
  url: string;
  /** Bytes of all its files. */
  bytes: number;
  /** Its files, relative to model.json's folder, model.json first. */
  files: string[];
  /** When it was stored, in ms since the epoch. */
  storedAt: number;
}

/** A label as a sample gives it: a class index, a class name, or -1 / null / undefined for none. */
export type SampleLabel = number | string | null | undefined;

/**
 * One sample for `evaluate`, `calibrate` and `chooseThreshold`: any input `predict` takes and
 * its label. A multi-head model takes one label per head: `{ [output]: label }`; a plain
 * label is the primary head's.
 */
export interface LabelledSample<I = unknown> {
  input: I;
  label?: SampleLabel | Record<string, SampleLabel>;
}

/** Options of `evaluate`. */
export interface EvaluateOptions<S = LabelledSample> extends RequestOptions {
  /** Names the group a sample belongs to (undefined or null: none); each group gets its own report in `slices`. */
  sliceBy?: (sample: S) => string | null | undefined;
  /** Called after each chunk with samples done and the total (-1 for an async iterable). */
  onProgress?: (done: number, total: number) => void;
  /** Bins of the reliability diagram and ECE. Default 10. */
  bins?: number;
  /** Samples sent to the engine in one call. Default 8. */
  batchSize?: number;
  /** Make these samples' predictions the drift reference of `stats().drift`. Default true. */
  reference?: boolean;
}

export type { CalibrationBin, ClassMetrics, HeadMetrics, TemperatureFit, TemperatureFitCode, ThresholdChoice, ThresholdTarget } from './ops/metrics.js';

/** What `evaluate` returns: the primary head's metrics, per head and per slice. */
export interface EvaluationReport extends HeadMetrics {
  /** Every head of a model with `postprocess.heads`, by output name. */
  heads?: Record<string, HeadMetrics>;
  /** One report per group named by `sliceBy`. */
  slices?: Record<string, HeadMetrics & { heads?: Record<string, HeadMetrics> }>;
}

/** NLL (nats) and ECE of the labelled samples at one temperature. */
export interface CalibrationScore {
  nll: number;
  ece: number;
}

/** The fit of one head. */
export interface HeadCalibration {
  /** The fitted temperature; `null` when no finite one exists (see `code`): the model is left as it is. */
  temperature: number | null;
  /** Why there is no temperature (`NO_FINITE_TEMPERATURE`, `NO_LABELLED_SAMPLES`, `UNSUPPORTED_ACTIVATION`). */
  code?: TemperatureFitCode;
  /** With `NO_FINITE_TEMPERATURE`: the limit the NLL falls toward (0 or Infinity). */
  limit?: number;
  message?: string;
  /** At the temperature in use before the call (1 unless one was set). */
  before: CalibrationScore;
  /** At the fitted temperature (equal to `before` when there is none). */
  after: CalibrationScore;
  /**
   * After temperature scaling judged on samples the temperature never saw (2-fold
   * cross-fitting: fitted on the even labelled samples, scored on the odd, and the other way
   * round); `after` is measured on the samples it was fitted on and flatters the fit.
   */
  heldOut: CalibrationScore;
  /** Labelled samples fitted on. */
  labelled: number;
}

/** What `calibrate` returns: the primary head's fit, and each head's. */
export interface CalibrationResult extends HeadCalibration {
  heads?: Record<string, HeadCalibration>;
  /** Whether the fitted temperatures now serve (`apply: true` and at least one finite fit). */
  applied: boolean;
}

/** Options of `calibrate`. */
export interface CalibrateOptions extends RequestOptions {
  /** Later predictions use the fitted temperatures (kept across an engine recovery). Default false. */
  apply?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Bins of the ECE. Default 10. */
  bins?: number;
}

/** Options of `chooseThreshold`: a target, `{ precision }` or `{ coverage }`, in [0, 1]. */
export type ThresholdOptions = ({ precision: number; coverage?: never } | { coverage: number; precision?: never }) & RequestOptions & {
  /** Which head (output name). Default the primary one. */
  head?: string;
  /** Later predictions use the chosen threshold. Default false. */
  apply?: boolean;
  onProgress?: (done: number, total: number) => void;
};

/** Options of `runtime.shadow`. */
export interface ShadowOptions {
  /** Share of the requests to shadow, in (0, 1]. Default 1. Picked evenly (every 1/fraction-th request), not at random. */
  fraction?: number;
  /** Shadow requests waiting or running at most; a request over it is not shadowed (`skipped`). Default 4. */
  maxInFlight?: number;
  /**
   * Send a shadow request only when the engine has no request outstanding (checked again one
   * task later, so a caller's next request goes first), one at a time: the shadow then never
   * delays a live request already sent; under back-to-back load it waits, and what exceeds
   * `maxInFlight` is skipped. `false`: send it as soon as the active answer is in (every due
   * request is shadowed; live requests sent meanwhile queue behind it). Default true.
   */
  idle?: boolean;
}

/** Options of `runtime.promote`. */
export interface PromoteOptions {
  /** Canary: send this share of the name's requests, in (0, 1), to the version; the rest stay on the active one. Without it (or 1): a full promote. */
  fraction?: number;
}

/** What `runtime.shadowReport(name)` returns. */
export interface ShadowReport {
  /** `name@version` of the active version and of the shadow. */
  active: string;
  shadow: string;
  fraction: number;
  /** Shadowed requests that both versions answered. */
  requests: number;
  /** Share of them where both gave the same top-1 class (NaN before any). */
  agreement: number;
  /** Mean |active confidence - shadow confidence| of the top-1 answers (NaN before any). */
  meanAbsConfidenceDiff: number;
  /** Latency of the shadowed requests, page to page: the active answer's, and the shadow's (run after it). */
  latencyMs: { active: Percentiles; shadow: Percentiles };
  /** Shadow requests that failed (the caller never saw them). */
  errors: number;
  /** The last few shadow failures. */
  lastErrors: { code: ErrorCode; message: string }[];
  /** Requests not shadowed because `maxInFlight` shadow requests were already waiting or running. */
  skipped: number;
  /** Shadow requests waiting (for the engine to be quiet) or running. */
  inFlight: number;
}
