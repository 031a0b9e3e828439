/**
 * createRuntime: starts the engine (in a worker, or on the page) and walks the
 * backend ladder. The page side stays small: no tfjs is imported here.
 */
import * as Comlink from 'comlink';
import { InpageError, InputError, disposedError, toInpageError } from '../errors.js';
import type { EngineApi, LoadRequest } from '../protocol.js';
import { registerErrorHandler } from '../transfer.js';
import type { Backend, MemoryInfo, ModelInfo, ModelSpec, RegistryEntry } from '../types.js';
import { checkIntegrityMap } from '../integrity.js';
import { ModelHandle, type Model, type ModelHost, type ModelSchema } from './model.js';
import { NamedModel, Registry } from './registry.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** Backends to try, in order; the first that starts is used. Default `['webgpu', 'webgl', 'wasm', 'cpu']`. */
  backends?: Backend[];
  /** Run the engine in a Web Worker (default true) or on the page's thread (`false`). */
  worker?: boolean;
  /** Where the worker bundle is. Default: `inpage.worker.js` beside this module. */
  workerUrl?: string | URL;
  /** Folder (ending in `/`) of the tfjs WASM binaries. Default: beside the worker bundle. */
  wasmPaths?: string;
  /** tfjs flags set before the backend starts, e.g. `{ WEBGL_PACK: false }`. */
  flags?: Record<string, boolean | number>;
  /**
   * Transfer input buffers to the worker instead of copying them (default true):
   * zero-copy, but the caller's typed arrays are detached after `run`/`predict`.
   */
  transferInputs?: boolean;
}

/** A running engine holding loaded models. Get one from {@link createRuntime}. */
export interface Runtime {
  /** The backend in use. */
  readonly backend: Backend;
  /** Whether the engine runs in a Web Worker. */
  readonly worker: boolean;
  /**
   * Loads a tfjs graph or layers model from `spec.url` or `spec.files`.
   * @example const m = await runtime.load<{ inputs: 'image'; outputs: 'probs' }>({ url: '/model/model.json' });
   */
  load<S extends ModelSchema = ModelSchema>(spec: ModelSpec): Promise<Model<S>>;
  /** The models this runtime holds, loading or ready, in load order; `active` marks the version each name routes to. */
  models(): RegistryEntry[];
  /**
   * Makes `name@version` the active version of `name`: new calls through
   * `runtime.model(name)` go to it, calls already made finish where they are.
   * @throws InpageError `NOT_FOUND` when no ready model has that name and version
   * @example
   * const v2 = await runtime.load({ url: '/models/v2/model.json', name: 'cls', version: '2' });
   * runtime.promote('cls', '2');
   * await v1.dispose(); // waits for the requests v1 accepted
   */
  promote(name: string, version: string): void;
  /**
   * A model by name: each call goes to the version of `name` active at that moment (the
   * first loaded, until another is promoted; after the active one is disposed, the
   * latest loaded that remains). Its `dispose()` disposes every version of the name.
   * @throws InpageError `NOT_FOUND` when no version of `name` is loaded
   */
  model<S extends ModelSchema = ModelSchema>(name: string): Model<S>;
  /** tfjs memory of the engine: tensors and bytes. */
  memory(): Promise<MemoryInfo>;
  /** Frees every model and ends the worker. Later calls reject with DISPOSED. */
  terminate(): Promise<void>;
}

/** This module's URL, read once at load: the UMD build resolves the engine bundle against it. */
const inpageModuleUrl = import.meta.url;

export const DEFAULT_BACKENDS: Backend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
const DEFAULT_BATCHING = { maxBatchSize: 8, maxQueueDelayMs: 0 };

/** Settles a spec's defaults and checks what can be checked on the page. */
export function toLoadRequest(spec: ModelSpec, id: string): LoadRequest {
  if (spec == null || typeof spec !== 'object') throw new InputError('load takes a ModelSpec: { url } or { files }');
  if (!spec.url && !spec.files) throw new InpageError('MODEL_LOAD_FAILED', 'Nothing to load: give spec.url (model.json) or spec.files');
  if (spec.files && (!Array.isArray(spec.files) || spec.files.length === 0)) {
    throw new InpageError('MODEL_LOAD_FAILED', 'spec.files must list model.json and its weight files');
  }
  let url: string | undefined;
  if (spec.url) {
    try {
      url = new URL(spec.url, typeof location !== 'undefined' ? location.href : undefined).href;
    } catch {
      throw new InpageError('MODEL_LOAD_FAILED', `Not a valid model URL: ${String(spec.url)}`);
    }
  }
  const batching = spec.batching === false ? false : { ...DEFAULT_BATCHING, ...spec.batching };
  if (batching && (!Number.isInteger(batching.maxBatchSize) || batching.maxBatchSize < 1)) {
    throw new InputError(`batching.maxBatchSize must be a whole number >= 1, got ${batching.maxBatchSize}`);
  }
  if (batching && !(batching.maxQueueDelayMs >= 0)) {
    throw new InputError(`batching.maxQueueDelayMs must be >= 0, got ${batching.maxQueueDelayMs}`);
  }
  if (spec.integrity !== undefined) checkIntegrityMap(spec.integrity);
  const version = spec.version ?? '1';
  const req: LoadRequest = {
    id,
    name: spec.name ?? defaultName(url, spec.files),
    version,
    cache: spec.cache ?? false,
    warmup: spec.warmup ?? true,
    batching,
    maxQueue: spec.maxQueue ?? 1024,
  };
  if (url) req.url = url;
  // Cached under the name the app gave; a model loaded without one is known by its URL.
  if (req.cache && url) req.cacheKey = `${spec.name ?? url}@${version}`;
  if (spec.files) req.files = spec.files;
  if (spec.integrity) req.integrity = spec.integrity;
  if (spec.format) req.format = spec.format;
  if (spec.preprocess) req.preprocess = spec.preprocess;
  if (spec.postprocess) req.postprocess = spec.postprocess;
  if (spec.requestInit) {
    const { credentials, headers, mode } = spec.requestInit;
    req.requestInit = {};
    if (credentials) req.requestInit.credentials = credentials;
    if (mode) req.requestInit.mode = mode;
    if (headers) req.requestInit.headers = Object.fromEntries(new Headers(headers).entries());
  }
  return req;
}

function defaultName(url: string | undefined, files: File[] | undefined): string {
  if (url) {
    // .../emotion/model.json is "emotion"; .../models/emotion.json is "emotion" too.
    const parts = new URL(url).pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const file = parts[parts.length - 1] ?? 'model.json';
    if (file !== 'model.json') return file.replace(/\.json$/i, '');
    return parts.length > 1 ? (parts[parts.length - 2] as string) : 'model';
  }
  return files?.find((f) => f.name.endsWith('.json'))?.name.replace(/\.json$/, '') ?? 'model';
}

/**
 * The engine bundle on the page has its own copy of the error classes; its errors are
 * rebuilt as this module's classes so `instanceof InpageError` holds as with a worker.
 */
function adoptErrors(engine: EngineApi): EngineApi {
  const adopted = {} as Record<string, unknown>;
  for (const key of ['init', 'load', 'run', 'predict', 'predictMany', 'cancel', 'stats', 'dispose', 'memory', 'shutdown'] as const) {
    const method = engine[key] as (...args: unknown[]) => unknown;
    adopted[key] = async (...args: unknown[]) => {
      try {
        return await method.apply(engine, args);
      } catch (e) {
        throw toInpageError(e, 'INFERENCE_FAILED');
      }
    };
  }
  return adopted as unknown as EngineApi;
}

/** Rejects when the worker script fails to load or throws at start. */
function workerFailure(worker: Worker): Promise<never> {
  return new Promise((_, reject) => {
    worker.addEventListener('error', (ev) => {
      ev.preventDefault?.();
      reject(new InpageError('WORKER_FAILED', `The inpage worker failed to start: ${ev.message || 'the script could not be loaded (check workerUrl)'}`));
    }, { once: true });
  });
}

/**
 * Starts an inpage runtime: the engine in a Web Worker (or on the page with
 * `worker: false`) on the first backend of the ladder that works here.
 * @throws InpageError `BACKEND_UNAVAILABLE` when no backend of the ladder starts
 * @example
 * const runtime = await createRuntime({ backends: ['webgl', 'wasm'] });
 * const model = await runtime.load({ url: '/models/emotion/model.json' });
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const backends = options.backends ?? DEFAULT_BACKENDS;
  if (!Array.isArray(backends)) throw new InputError('backends must be a list such as ["webgl", "wasm"]');
  const useWorker = options.worker ?? true;
  let engine: EngineApi;
  let worker: Worker | undefined;
  let failed: Promise<never> | undefined;
  if (useWorker) {
    if (typeof Worker === 'undefined') throw new InpageError('WORKER_FAILED', 'Web Workers are not available here; pass worker: false');
    registerErrorHandler();
    // The literal `new Worker(new URL('./x.js', import.meta.url))` is the pattern bundlers
    // recognise: they then bundle the worker and the WASM files it names.
    worker = options.workerUrl
      ? new Worker(options.workerUrl, { type: 'module', name: 'inpage' })
      : new Worker(new URL('./inpage.worker.js', import.meta.url), { type: 'module', name: 'inpage' });
    failed = workerFailure(worker);
    engine = Comlink.wrap<EngineApi>(worker) as unknown as EngineApi;
  } else {
    let mod: typeof import('inpage:engine');
    try {
      mod = await import('inpage:engine');
    } catch (e) {
      throw toInpageError(e, 'WORKER_FAILED', `Could not load inpage.engine.mjs beside ${inpageModuleUrl}`);
    }
    engine = adoptErrors(new mod.Engine());
  }
  let backend: Backend;
  try {
    const init = { backends, ...(options.wasmPaths ? { wasmPaths: options.wasmPaths } : {}), ...(options.flags ? { flags: options.flags } : {}) };
    backend = await (failed ? Promise.race([engine.init(init), failed]) : engine.init(init));
  } catch (e) {
    worker?.terminate();
    throw toInpageError(e, 'BACKEND_UNAVAILABLE');
  }
  return new RuntimeImpl(engine, worker, backend, options.transferInputs ?? true);
}

/** The engine as model handles see it: disposing a model first lets the calls routed to it by name finish. */
function draining(engine: EngineApi, registry: Registry): EngineApi {
  return {
    init: (opts) => engine.init(opts),
    load: (req, onProgress) => engine.load(req, onProgress),
    run: (id, inputs, req) => engine.run(id, inputs, req),
    predict: (id, input, req) => engine.predict(id, input, req),
    predictMany: (id, inputs, req) => engine.predictMany(id, inputs, req),
    cancel: (requestId) => engine.cancel(requestId),
    stats: (id) => engine.stats(id),
    dispose: (id) => registry.drain(id).then(() => engine.dispose(id)),
    memory: () => engine.memory(),
    shutdown: () => engine.shutdown(),
  };
}

class RuntimeImpl implements Runtime, ModelHost {
  private readonly registry = new Registry();
  readonly engine: EngineApi;
  private requestIds = 0;
  private modelIds = 0;
  private terminated = false;

  constructor(engine: EngineApi, private readonly w: Worker | undefined, readonly backend: Backend, readonly transferInputs: boolean) {
    this.engine = draining(engine, this.registry);
  }

  get worker(): boolean {
    return this.w !== undefined;
  }

  nextRequestId(): number {
    return ++this.requestIds;
  }

  transfer<T>(value: T, list: Transferable[]): T {
    return this.w && list.length ? Comlink.transfer(value, list) : value;
  }

  assertLive(): void {
    if (this.terminated) throw disposedError('The runtime');
  }

  onDisposed(id: string): void {
    this.registry.disposed(id);
  }

  async load<S extends ModelSchema = ModelSchema>(spec: ModelSpec): Promise<Model<S>> {
    this.assertLive();
    const id = `m${++this.modelIds}`;
    const req = toLoadRequest(spec, id);
    const progress = spec.onProgress;
    const callback = progress && (this.w ? Comlink.proxy(progress) : progress);
    this.registry.loading(id, req.name, req.version, this.backend);
    let info: ModelInfo;
    try {
      info = await this.engine.load(req, callback);
    } catch (e) {
      this.registry.failed(id);
      throw e;
    }
    const handle = new ModelHandle<S>(this, id, info);
    if (this.terminated) this.registry.failed(id);
    else this.registry.ready(id, handle as unknown as ModelHandle, spec.promote ?? false);
    return handle;
  }

  models(): RegistryEntry[] {
    return this.registry.list();
  }

  promote(name: string, version: string): void {
    this.assertLive();
    this.registry.promote(name, version);
  }

  model<S extends ModelSchema = ModelSchema>(name: string): Model<S> {
    this.assertLive();
    return new NamedModel<S>(this.registry, name, () => this.assertLive());
  }

  memory(): Promise<MemoryInfo> {
    this.assertLive();
    return this.engine.memory();
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    try {
      await this.engine.shutdown();
    } finally {
      this.registry.clear();
      this.w?.terminate();
    }
  }
}
