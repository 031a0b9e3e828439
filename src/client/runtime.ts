/**
 * createRuntime: starts the engine (in a worker, or on the page) under a supervisor that
 * brings it back after a loss, and walks the backend ladder. The page side stays small:
 * no tfjs is imported here.
 */
import * as Comlink from 'comlink';
import { InpageError, InputError, ModelLoadError, disposedError, toInpageError } from '../errors.js';
import type { EngineApi, LoadRequest, WireInput } from '../protocol.js';
import { DEFAULT_BACKENDS, DEFAULT_BATCHING, DEFAULT_MAX_QUEUE, STALL_TIMEOUT_MS } from '../defaults.js';
import { registerErrorHandler } from '../transfer.js';
import type { Backend, MemoryInfo, ModelInfo, ModelSpec, PromoteOptions, RegistryEntry, ShadowOptions, ShadowReport } from '../types.js';
import { renderMetrics, servingFamilies, type ModelMetricsInput } from '../ops/prometheus.js';
import { headsOf } from './ops.js';
import { checkIntegrityMap } from '../integrity.js';
import { BackendChangeEvent, RuntimeLostEvent, RuntimeRecoveredEvent, type RuntimeEventMap } from './events.js';
import { ModelHandle, type Model, type ModelHost, type ModelSchema } from './model.js';
import { NamedModel, Registry } from './registry.js';
import {
  Supervisor, type Connection, type EngineClient, type LossInfo, type RecoveryOptions, type RequestControl, type Starter, type SupervisorStats,
} from './supervisor.js';

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
   * Transfer input buffers to the worker instead of copying them (default false). Zero-copy,
   * but the caller's typed arrays are detached after `run`/`predict`, and a request whose
   * inputs were transferred cannot be replayed after an engine loss: it fails with
   * `WORKER_LOST` instead.
   */
  transferInputs?: boolean;
  /**
   * Recovery after the engine is lost (its worker died, or its GPU context or device was
   * lost): how many losses within a window make the runtime leave a backend for the next
   * one of the ladder. Default `{ maxRestarts: 3, windowMs: 60000 }`.
   */
  recovery?: RecoveryOptions;
}

/** Counters of a runtime's life, from `runtime.stats()`. */
export interface RuntimeStats extends SupervisorStats {
  backend: Backend;
  /** `ready`, `recovering` (calls wait), `lost` (calls fail with WORKER_LOST) or `terminated`. */
  state: Supervisor['state'];
}

/**
 * A running engine holding loaded models. Get one from {@link createRuntime}.
 *
 * It is an EventTarget: `lost` (the engine is gone: `cause`, `backend`), `recovered` (serving
 * again: `backend`, `ms`, `replayed`) and `backendchange` (`from`, `to`).
 * @example
 * runtime.addEventListener('recovered', (e) => console.log(`back on ${e.backend} in ${e.ms} ms, ${e.replayed} requests replayed`));
 */
export interface Runtime extends EventTarget {
  /** The backend in use: after a recovery that left a backend, the new one. */
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
   * With `{ fraction }` under 1 it is a canary instead: that share of the calls through
   * `runtime.model(name)` goes to `version` (spread evenly, not at random), the rest to the
   * active version; a later promote without `fraction` makes it active. `version` may be an
   * alias (`runtime.alias`).
   * @throws InpageError `NOT_FOUND` when no ready model has that name and version
   * @example
   * const v2 = await runtime.load({ url: '/models/v2/model.json', name: 'cls', version: '2' });
   * runtime.promote('cls', '2', { fraction: 0.1 }); // canary: 10% of the calls
   * runtime.promote('cls', '2');                    // all of them
   * await v1.dispose(); // waits for the requests v1 accepted
   */
  promote(name: string, version: string, opts?: PromoteOptions): void;
  /**
   * Names a version of `name` by an alias (`'champion'`, `'challenger'`...), accepted wherever
   * a version is (`promote`, `shadow`, `model(name, version)`). Calling it again moves the alias.
   * @throws InpageError `NOT_FOUND` when `name@version` is not held
   */
  alias(name: string, alias: string, version: string): void;
  /**
   * Shadows `name` with a candidate version: on `fraction` of the `predict` calls through
   * `runtime.model(name)`, the candidate answers a copy of the input once the active answer
   * is in, and by default only when the engine has no other request outstanding (`idle`), so
   * it never delays a live request already sent. The caller gets the active answer and never
   * waits for the shadow; a failing shadow is counted in `shadowReport`, never thrown. `null`
   * stops it; a new call starts a new report. `predictBatch` and `run` are not shadowed.
   * @throws InpageError `NOT_FOUND` when `name@version` is not ready
   * @example
   * runtime.shadow('cls', 'challenger', { fraction: 0.5 });
   * runtime.shadowReport('cls').agreement;
   */
  shadow(name: string, version: string | null, opts?: ShadowOptions): void;
  /**
   * The shadow of `name`: requests shadowed, top-1 agreement, mean absolute confidence
   * difference, latency of both and the shadow's errors.
   * @throws InpageError `NOT_FOUND` when `name` was never shadowed
   */
  shadowReport(name: string): ShadowReport;
  /**
   * Every ready model's statistics (and each shadow's report) as Prometheus text (format
   * 0.0.4), or OpenMetrics with `{ openMetrics: true }`: metrics named `inpage_*`, labelled
   * by `model` and `version`.
   * @example await fetch('/metrics', { method: 'POST', body: await runtime.metrics() });
   */
  metrics(opts?: { openMetrics?: boolean }): Promise<string>;
  /**
   * A model by name: each call goes to the version of `name` active at that moment (the
   * first loaded, until another is promoted; after the active one is disposed, the
   * latest loaded that remains), or to its canary on the canary's share. Its `dispose()`
   * disposes every version of the name. With `version` (or an alias), that version's own handle.
   * @throws InpageError `NOT_FOUND` when no version of `name` is loaded
   */
  model<S extends ModelSchema = ModelSchema>(name: string, version?: string): Model<S>;
  /** tfjs memory of the engine: tensors and bytes. */
  memory(): Promise<MemoryInfo>;
  /** Losses, recoveries and replayed requests so far, the state and the backend in use. */
  stats(): RuntimeStats;
  /**
   * Frees every model and ends the worker. Pending calls and loads reject with DISPOSED,
   * as do later ones.
   */
  terminate(): Promise<void>;
  addEventListener<K extends keyof RuntimeEventMap>(type: K, listener: (ev: RuntimeEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof RuntimeEventMap>(type: K, listener: (ev: RuntimeEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** This module's URL, read once at load: the UMD build resolves the engine bundle against it. */
const inpageModuleUrl = import.meta.url;


function absoluteUrl(u: string | URL, what: string): string {
  try {
    return new URL(u, typeof location !== 'undefined' ? location.href : undefined).href;
  } catch {
    throw new ModelLoadError(`Not a valid ${what}: ${String(u)}`);
  }
}

/** Settles a spec's defaults and checks what can be checked on the page. */
export function toLoadRequest(spec: ModelSpec, id: string, requestId: number): LoadRequest {
  if (spec == null || typeof spec !== 'object') throw new InputError('load takes a ModelSpec: { url } or { files }');
  if (!spec.url && !spec.files) throw new ModelLoadError('Nothing to load: give spec.url (model.json) or spec.files');
  if (spec.files && (!Array.isArray(spec.files) || spec.files.length === 0)) {
    throw new ModelLoadError('spec.files must list model.json and its weight files');
  }
  const url = spec.url ? absoluteUrl(spec.url, 'model URL') : undefined;
  if (spec.stallTimeoutMs !== undefined && !(spec.stallTimeoutMs > 0)) {
    throw new InputError(`stallTimeoutMs must be a number > 0, got ${spec.stallTimeoutMs}`);
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
    requestId,
    stallTimeoutMs: spec.stallTimeoutMs ?? STALL_TIMEOUT_MS,
    name: spec.name ?? defaultName(url, spec.files),
    version,
    cache: spec.cache ?? false,
    warmup: spec.warmup ?? true,
    batching,
    maxQueue: spec.maxQueue ?? DEFAULT_MAX_QUEUE,
  };
  if (url) req.url = url;
  if (spec.weightsUrl !== undefined) req.weightsUrl = absoluteUrl(spec.weightsUrl, 'weightsUrl');
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
 * Every member is forwarded the same way: no method is named here.
 */
function adoptErrors(engine: EngineApi): EngineApi {
  return new Proxy<EngineApi>(engine, {
    get(target, key, receiver) {
      const member: unknown = Reflect.get(target, key, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        try {
          return await member.apply(target, args);
        } catch (e) {
          throw toInpageError(e, 'INFERENCE_FAILED');
        }
      };
    },
  });
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

function uniqueName(): string {
  const c = globalThis.crypto as Crypto | undefined;
  return `inpage-engine-${c?.randomUUID ? c.randomUUID() : `${Date.now()}-${Math.random()}`}`;
}

/** Resolves when the worker behind `lockName` is gone: its lock is granted to us only then. */
function lockReleased(lockName: string): Promise<LossInfo> | undefined {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return undefined;
  return new Promise((resolve) => {
    void locks.request(lockName, () => resolve({ cause: 'worker-exit', message: 'the worker stopped' }));
  });
}

type Init = Omit<Parameters<EngineApi['init']>[0], 'backends' | 'lockName'>;

/** Starts an engine in a new worker. */
function workerStarter(options: RuntimeOptions, init: Init): Starter {
  return async (ladder) => {
    // The literal `new Worker(new URL('./x.js', import.meta.url))` is the pattern bundlers
    // recognise: they then bundle the worker and the WASM files it names.
    const worker = options.workerUrl
      ? new Worker(options.workerUrl, { type: 'module', name: 'inpage' })
      : new Worker(new URL('./inpage.worker.js', import.meta.url), { type: 'module', name: 'inpage' });
    const failed = workerFailure(worker);
    const remote: Comlink.Remote<EngineApi> = Comlink.wrap<EngineApi>(worker);
    const engine: EngineClient = remote;
    const lockName = uniqueName();
    let backend: Backend;
    try {
      backend = await Promise.race([engine.init({ ...init, backends: ladder, lockName }), failed]);
    } catch (e) {
      worker.terminate();
      throw toInpageError(e, 'BACKEND_UNAVAILABLE');
    }
    const exited = lockReleased(lockName);
    const signals: Promise<LossInfo>[] = [
      engine.watch().then((loss) => ({ cause: loss.cause, message: loss.message }), () => new Promise<never>(() => undefined)),
    ];
    if (exited) signals.push(exited);
    else {
      // No Web Locks here: an error event is the only sign of a dead worker we get.
      signals.push(new Promise((resolve) => worker.addEventListener('error', (ev) => resolve({ cause: 'worker-error', message: ev.message || 'the worker failed' }))));
    }
    return { engine, backend, gone: Promise.race(signals), end: () => worker.terminate() };
  };
}

/** Starts the engine on the page (`worker: false`). */
function pageStarter(init: Init): Starter {
  return async (ladder) => {
    let mod: typeof import('inpage:engine');
    try {
      mod = await import('inpage:engine');
    } catch (e) {
      throw toInpageError(e, 'WORKER_FAILED', `Could not load inpage.engine.mjs beside ${inpageModuleUrl}`);
    }
    const engine = adoptErrors(new mod.Engine());
    let backend: Backend;
    try {
      backend = await engine.init({ ...init, backends: ladder });
    } catch (e) {
      throw toInpageError(e, 'BACKEND_UNAVAILABLE');
    }
    const gone = engine.watch().then((loss): LossInfo => ({ cause: loss.cause, message: loss.message }));
    // A lost engine on the page frees what it can; its GPU is gone, so nothing waits for it.
    return { engine, backend, gone, end: () => void engine.shutdown().catch(() => undefined) };
  };
}

/** Copies a page-side bitmap for each send with `worker: false`: the engine closes what it is given. */
async function pageSendable(input: WireInput): Promise<WireInput> {
  return input.kind === 'bitmap' ? { kind: 'bitmap', bitmap: await createImageBitmap(input.bitmap) } : input;
}

/**
 * Starts an inpage runtime: the engine in a Web Worker (or on the page with
 * `worker: false`) on the first backend of the ladder that works here, under a supervisor
 * that brings it back when it is lost (see "Faults and recovery" in the README).
 * @throws InpageError `BACKEND_UNAVAILABLE` when no backend of the ladder starts
 * @example
 * const runtime = await createRuntime({ backends: ['webgl', 'wasm'] });
 * const model = await runtime.load({ url: '/models/emotion/model.json' });
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const backends = options.backends ?? DEFAULT_BACKENDS;
  if (!Array.isArray(backends)) throw new InputError('backends must be a list such as ["webgl", "wasm"]');
  const useWorker = options.worker ?? true;
  const init: Init = { ...(options.wasmPaths ? { wasmPaths: options.wasmPaths } : {}), ...(options.flags ? { flags: options.flags } : {}) };
  let start: Starter;
  if (useWorker) {
    if (typeof Worker === 'undefined') throw new InpageError('WORKER_FAILED', 'Web Workers are not available here; pass worker: false');
    registerErrorHandler();
    start = workerStarter(options, init);
  } else {
    start = pageStarter(init);
  }
  const first = await start([...backends]);
  return new RuntimeImpl(first, [...backends], start, useWorker, options);
}

class RuntimeImpl extends EventTarget implements Runtime, ModelHost {
  private readonly registry: Registry;
  readonly supervisor: Supervisor;
  readonly transferInputs: boolean;
  /** Infos of the models loaded, by id: a recovery updates them in place (the backend may change). */
  private readonly handles = new Map<string, { info: ModelInfo }>();
  private modelIds = 0;
  private terminated = false;

  constructor(first: Connection, ladder: Backend[], start: Starter, readonly worker: boolean, options: RuntimeOptions) {
    super();
    this.transferInputs = options.transferInputs ?? false;
    this.supervisor = new Supervisor(first, ladder, start, {
      lost: (loss, backend) => this.dispatchEvent(new RuntimeLostEvent(loss.cause, backend, loss.message)),
      recovered: (backend, ms, replayed) => this.dispatchEvent(new RuntimeRecoveredEvent(backend, ms, replayed)),
      backendchange: (from, to) => this.dispatchEvent(new BackendChangeEvent(from, to)),
      reloaded: (id, info) => {
        const h = this.handles.get(id);
        if (h) Object.assign(h.info, info);
      },
      unloadable: (id) => {
        this.registry.disposed(id);
        this.handles.delete(id);
      },
    }, options.recovery);
    this.registry = new Registry(() => this.supervisor.state === 'recovering', this.supervisor);
  }

  get backend(): Backend {
    return this.supervisor.backend;
  }

  transfer<T>(value: T, list: Transferable[]): T {
    return this.worker && list.length ? Comlink.transfer(value, list) : value;
  }

  sendable(input: WireInput): Promise<WireInput> {
    return this.worker ? Promise.resolve(input) : pageSendable(input);
  }

  assertLive(): void {
    if (this.terminated) throw disposedError('The runtime');
  }

  onDisposed(id: string): void {
    this.registry.disposed(id);
    this.handles.delete(id);
  }

  async load<S extends ModelSchema = ModelSchema>(spec: ModelSpec): Promise<Model<S>> {
    this.assertLive();
    const id = `m${++this.modelIds}`;
    const req = toLoadRequest(spec, id, this.supervisor.nextRequestId());
    const progress = spec.onProgress;
    const callback = progress && (this.worker ? Comlink.proxy(progress) : progress);
    const control: RequestControl = {};
    this.registry.loading(id, req.name, req.version, this.backend, () => control.stop?.(disposedError(`Model ${req.name}`)));
    let info: ModelInfo;
    try {
      info = await this.supervisor.request({ signal: spec.signal, timeoutMs: spec.timeoutMs, what: `Loading ${req.name}`, control }, {
        replayable: true,
        // The engine knows a load by the request id it was sent with: cancel() aborts it.
        send: (engine, requestId) => engine.load({ ...req, requestId }, callback),
      });
    } catch (e) {
      this.registry.failed(id);
      throw e;
    }
    const handle = new ModelHandle<S>(this, id, info, req.postprocess);
    this.handles.set(id, handle);
    this.supervisor.loaded(req);
    this.registry.ready(id, handle, spec.promote ?? false);
    return handle;
  }

  models(): RegistryEntry[] {
    return this.registry.list();
  }

  promote(name: string, version: string, opts?: PromoteOptions): void {
    this.assertLive();
    this.registry.promote(name, version, opts);
  }

  alias(name: string, alias: string, version: string): void {
    this.assertLive();
    this.registry.alias(name, alias, version);
  }

  shadow(name: string, version: string | null, opts?: ShadowOptions): void {
    this.assertLive();
    this.registry.shadow(name, version, opts);
  }

  shadowReport(name: string): ShadowReport {
    return this.registry.shadowReport(name);
  }

  async metrics(opts: { openMetrics?: boolean } = {}): Promise<string> {
    this.assertLive();
    const settled = await Promise.allSettled(this.registry.readyHandles().map(async (m): Promise<ModelMetricsInput> => {
      const stats = await m.handle.stats();
      const labels = headsOf(m.handle.postprocess(), m.handle.info.outputs).primary.labels;
      return { name: m.name, version: m.version, active: m.active, stats, ...(labels ? { labels } : {}) };
    }));
    // A model disposed meanwhile is left out.
    const models = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const shadows = this.registry.shadowed().map((name) => ({ ...this.registry.shadowReport(name), name }));
    return renderMetrics(servingFamilies(models, shadows), opts);
  }

  model<S extends ModelSchema = ModelSchema>(name: string, version?: string): Model<S> {
    this.assertLive();
    if (version !== undefined) return this.registry.version(name, version) as unknown as Model<S>;
    return new NamedModel<S>(this.registry, name, () => this.assertLive());
  }

  memory(): Promise<MemoryInfo> {
    this.assertLive();
    return this.supervisor.request(undefined, { replayable: true, send: (engine) => engine.memory() });
  }

  stats(): RuntimeStats {
    return { ...this.supervisor.counters, backend: this.backend, state: this.supervisor.state };
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    try {
      await this.supervisor.terminate();
    } finally {
      this.registry.clear();
      this.handles.clear();
    }
  }
}
