/**
 * Everything that crosses the worker boundary. The page calls {@link EngineApi};
 * the worker (or, with `worker: false`, the page itself) implements it. Only plain
 * data, typed arrays (transferred), ImageBitmaps (transferred), Blobs and Files cross.
 */
import type {
  Backend, BatchingSpec, DriftReference, IntegrityMap, LoadProgress, MemoryInfo, ModelInfo, ModelStats,
  PostprocessSpec, PreprocessSpec, Prediction, TensorData,
} from './types.js';

/** Options the engine starts with. */
export interface EngineInit {
  backends: Backend[];
  /** Folder (ending in `/`) holding the tfjs WASM binaries. */
  wasmPaths?: string;
  flags?: Record<string, boolean | number>;
  /**
   * A Web Lock the engine takes before `init` resolves and holds for its whole life. The
   * page waits for the same lock: it is granted the moment the worker is gone, however it
   * died, with no help from the worker and no heartbeat.
   */
  lockName?: string;
}

/** Why an engine stopped serving, as its GPU watch saw it. */
export interface EngineLoss {
  cause: 'webgl-context-lost' | 'webgpu-device-lost';
  backend: Backend;
  message: string;
}

/** A model to load, as the engine receives it. */
export interface LoadRequest {
  /** The client's handle for the model; unique per runtime. */
  id: string;
  /** `cancel(requestId)` aborts the load: downloads stop and whatever was built is freed. */
  requestId: number;
  /** A download that receives no byte for this long is retried, then fails (ms). */
  stallTimeoutMs: number;
  /** Base URL (a folder) that weight paths resolve against and must stay inside; default model.json's folder. */
  weightsUrl?: string;
  url?: string;
  files?: File[];
  name: string;
  version: string;
  cache: boolean;
  /** Where `cache` stores the files: `name@version`, or `url@version` when the spec gave no name. */
  cacheKey?: string;
  integrity?: IntegrityMap;
  format?: 'graph' | 'layers';
  warmup: boolean;
  preprocess?: PreprocessSpec;
  postprocess?: PostprocessSpec;
  batching: Required<BatchingSpec> | false;
  maxQueue: number;
  /** The reference `stats().drift` is measured against (kept here so a reload after a loss keeps it). */
  reference?: DriftReference;
  /** Only the cloneable parts of RequestInit. */
  requestInit?: { credentials?: RequestCredentials; headers?: Record<string, string>; mode?: RequestMode };
}

/** An image as it travels to the engine. */
export type WireImage =
  | { kind: 'bitmap'; bitmap: ImageBitmap }
  | { kind: 'blob'; blob: Blob }
  | { kind: 'pixels'; data: Uint8ClampedArray; width: number; height: number };

/** What `predict` sends: an image, or a tensor ready for the model. */
export type WireInput = WireImage | { kind: 'tensor'; tensor: TensorData };

/** Per-request facts the engine needs. Cancellation goes through `cancel(requestId)`. */
export interface WireRequest {
  requestId: number;
}

export interface WirePredictRequest extends WireRequest {
  preprocess?: PreprocessSpec;
  postprocess?: PostprocessSpec;
  /** Count the answer in the monitoring window (confidence, classes, drift). Default true; evaluation traffic sends false. */
  monitor?: boolean;
}

/**
 * Settings of a loaded model that can change while it serves. The page keeps the same
 * values in the model's LoadRequest, so a model loaded again after a loss keeps them.
 */
export interface ModelSettings {
  /** Replaces the model's postprocess (a fitted temperature, a chosen threshold). */
  postprocess?: PostprocessSpec;
  /** Replaces the drift reference; `null` forgets it. */
  reference?: DriftReference | null;
}

/** A prediction before the page adds `timing.totalMs`. */
export type WirePrediction = Prediction;

/**
 * The engine's methods: the one list of what crosses the boundary. The worker exposes an
 * Engine as it is, the page's client is comlink's `Remote<EngineApi>`, and `worker: false`
 * and the supervisor forward calls generically over `keyof EngineApi`. Every method is
 * async and may reject with a serialized InpageError.
 */
export interface EngineApi {
  /** Walks the backend ladder; resolves with the backend in use. */
  init(opts: EngineInit): Promise<Backend>;
  /**
   * Resolves when the engine can no longer serve (its WebGL context or WebGPU device was
   * lost); never otherwise. A batch that spans the loss is neither answered nor failed:
   * the page runs it again on a fresh engine.
   */
  watch(): Promise<EngineLoss>;
  load(req: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
  run(modelId: string, inputs: Record<string, TensorData>, req: WireRequest): Promise<Record<string, TensorData>>;
  predict(modelId: string, input: WireInput, req: WirePredictRequest): Promise<WirePrediction>;
  /** Several predictions in one call (a chunk of `predictBatch`); each item is its own request. */
  predictMany(modelId: string, inputs: WireInput[], req: WirePredictRequest): Promise<WirePrediction[]>;
  /** Drops a queued request or aborts a load; a running request finishes but its answer is discarded by the page. */
  cancel(requestId: number): Promise<void>;
  stats(modelId: string): Promise<ModelStats>;
  /** Changes a loaded model's postprocess or drift reference; requests sent after it use the new values. */
  configure(modelId: string, settings: ModelSettings): Promise<void>;
  /** Refuses new requests for the model, lets those it accepted finish, then frees it. */
  dispose(modelId: string): Promise<void>;
  memory(): Promise<MemoryInfo>;
  /** Frees every model and the backend. */
  shutdown(): Promise<void>;
}
