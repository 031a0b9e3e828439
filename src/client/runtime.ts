/**
 * createRuntime: starts the engine (in a worker, or on the page) under a supervisor that
 * brings it back after a loss, and walks the backend ladder. The page side stays small:
 * no tfjs is imported here.
 */
import * as Comlink from 'comlink';
import { InpageError, InputError, ModelLoadError, disposedError, toInpageError } from '../errors.js';
import type { EngineApi, LoadRequest, WireInput } from '../protocol.js';
import { BACKENDS, DEFAULT_BACKENDS, DEFAULT_BATCHING, DEFAULT_MAX_QUEUE, MAX_WASM_THREADS, STALL_TIMEOUT_MS } from '../defaults.js';
import { registerErrorHandler } from '../transfer.js';
import type {
  Backend, BackendChoice, MemoryInfo, ModelInfo, ModelSpec, PromoteOptions, RegistryEntry, ShadowOptions, ShadowReport,
} from '../types.js';
import { renderMetrics, servingFamilies, type ModelMetricsInput } from '../ops/prometheus.js';
import { headsOf } from './ops.js';
import { autoLadder, describeAdapters, deviceKey, type Adapters } from './adapters.js';
import { choiceKey, measure, rememberChoice, rememberedChoice } from './chooser.js';
import { autoReplicas } from './replicas.js';
import { checkIntegrityMap } from '../integrity.js';
import { BackendChangeEvent, RuntimeLostEvent, RuntimeRecoveredEvent, type RuntimeEventMap } from './events.js';
import { ModelHandle, type Model, type ModelHost, type ModelSchema } from './model.js';
import { NamedModel, Registry } from './registry.js';
import {
  Supervisor, type Connection, type EngineClient, type LossInfo, type RecoveryOptions, type RequestControl, type Starter, type SupervisorStats,
} from './supervisor.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /**
   * `'auto'` (the default): each model, on its first load on this device, is timed on each
   * backend available here, each in an engine of its own, and serves on the fastest; the
   * choice is remembered in IndexedDB per model, browser and GPU, so the next visit goes
   * straight to it. Models that chose different backends run in different engines (one
   * worker per backend in use). Software GPUs (SwiftShader, llvmpipe, WARP) are tried last.
   * `model.info.choice` tells the timings. With `worker: false` nothing is timed: the first
   * backend of the auto order (hardware GPU, wasm, cpu, software GPU) that starts is used.
   * Or a list: backends to try in order; the first that starts is used (no timing).
   * Default `'auto'`.
   */
  backends?: Backend[] | 'auto';
  /** Run the engine in a Web Worker (default true) or on the page's thread (`false`). */
  worker?: boolean;
  /** Where the worker bundle is. Default: `inpage.worker.js` beside this module. */
  workerUrl?: string | URL;
  /** Folder (ending in `/`) of the tfjs WASM binaries. Default: beside the worker bundle. */
  wasmPaths?: string;
  /** tfjs flags set before the backend starts, e.g. `{ WEBGL_PACK: false }`. */
  flags?: Record<string, boolean | number>;
  /**
   * Threads of the WASM backend. They run only on a cross-origin-isolated page (served with
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`
   * or `credentialless`), where tfjs loads its threaded build; elsewhere WASM runs one thread.
   * `model.info.threads` says how many run. A whole number from 1 to 8 (tfjs's pool).
   * Default `navigator.hardwareConcurrency`, at most 8 (not tfjs's own `hardwareConcurrency / 2`:
   * the engine's worker has the cores to itself). With `worker: false`, runtimes on one page
   * share tfjs: one started while another serves on wasm gets that one's thread count.
   * @example const runtime = await createRuntime({ backends: ['wasm'], wasmThreads: 2 });
   */
  wasmThreads?: number;
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
  /** Engines (workers) running: the runtime's first, one per other backend its models serve on, and those of replicas (`spec.replicas`). */
  engines: number;
  /** The backends of those engines, the first engine's first. */
  backends: Backend[];
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
  /**
   * The backend of the runtime's first engine: after a recovery that left a backend, the new
   * one. A model may serve on another (`backends: 'auto'`, `spec.backend`): `model.info.backend`.
   */
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

/**
 * Where Vite's dev server keeps inpage's worker when it has pre-bundled this file into
 * node_modules/.vite/deps/ (no inpage.worker.js lies beside that copy): the package's own
 * file, node_modules/inpage/dist/inpage.worker.js. Undefined anywhere else.
 */
export function viteDepsWorkerUrl(moduleUrl: string): string | undefined {
  const m = /^(.*\/node_modules\/)\.vite\/deps(?:_temp_[^/]*)?\/[^/?#]*(?:[?#].*)?$/.exec(moduleUrl);
  return m ? `${m[1]}inpage/dist/inpage.worker.js` : undefined;
}

/** What to change when the worker script cannot be loaded, for the way it was located. */
export function workerLoadHint(url: string, given: boolean): string {
  if (given) return `the script could not be loaded from ${url} (check workerUrl)`;
  if (viteDepsWorkerUrl(inpageModuleUrl)) {
    return `the script could not be loaded from ${url}; Vite's dev server pre-bundled inpage: add optimizeDeps: { exclude: ['inpage'] } to vite.config`;
  }
  return `the script could not be loaded from ${url}; with a bundler that does not follow new URL('./inpage.worker.js', import.meta.url) (rollup, esbuild), copy node_modules/inpage/dist/inpage.worker.js and dist/*.wasm beside your bundle, or pass createRuntime({ workerUrl })`;
}

/** Rejects when the worker script fails to load or throws at start. */
function workerFailure(worker: Worker, url: string, given: boolean): Promise<never> {
  return new Promise((_, reject) => {
    worker.addEventListener('error', (ev) => {
      ev.preventDefault?.();
      reject(new InpageError('WORKER_FAILED', `The inpage worker failed to start: ${ev.message || workerLoadHint(url, given)}`));
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
    // Vite's dev server: the pre-bundled copy of this file has no worker beside it, so the
    // package's own file is started (a computed URL, which no bundler rewrites).
    const url = options.workerUrl ?? viteDepsWorkerUrl(inpageModuleUrl);
    const worker = url
      ? new Worker(url, { type: 'module', name: 'inpage' })
      : new Worker(new URL('./inpage.worker.js', import.meta.url), { type: 'module', name: 'inpage' });
    const failed = workerFailure(worker, String(url ?? new URL('./inpage.worker.js', inpageModuleUrl)), options.workerUrl !== undefined);
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
  const asked = options.backends ?? DEFAULT_BACKENDS;
  if (asked !== 'auto' && !Array.isArray(asked)) throw new InputError(`backends must be 'auto' or a list such as ["webgl", "wasm"]`);
  const adapters: Adapters | undefined = asked === 'auto' ? await describeAdapters() : undefined;
  const backends = adapters ? autoLadder(adapters) : (asked as Backend[]);
  const useWorker = options.worker ?? true;
  const { wasmThreads } = options;
  if (wasmThreads !== undefined && !(Number.isInteger(wasmThreads) && wasmThreads >= 1 && wasmThreads <= MAX_WASM_THREADS)) {
    throw new InputError(`wasmThreads must be a whole number from 1 to ${MAX_WASM_THREADS}, got ${String(wasmThreads)}`);
  }
  const init: Init = {
    ...(options.wasmPaths ? { wasmPaths: options.wasmPaths } : {}),
    ...(options.flags ? { flags: options.flags } : {}),
    ...(wasmThreads !== undefined ? { wasmThreads } : {}),
  };
  let start: Starter;
  if (useWorker) {
    if (typeof Worker === 'undefined') throw new InpageError('WORKER_FAILED', 'Web Workers are not available here; pass worker: false');
    registerErrorHandler();
    start = workerStarter(options, init);
  } else {
    start = pageStarter(init);
  }
  const first = await start([...backends]);
  const auto = adapters ? { ladder: backends, device: deviceKey(adapters) } : undefined;
  return new RuntimeImpl(first, [...backends], start, useWorker, options, auto);
}

/** What the runtime keeps of a loaded model. */
interface Held {
  info: ModelInfo;
  readonly home: Supervisor;
  dropReplica(sup: Supervisor): void;
}

export class RuntimeImpl extends EventTarget implements Runtime, ModelHost {
  private readonly registry: Registry;
  /** The first engine: `runtime.backend` is its backend. */
  readonly supervisor: Supervisor;
  readonly transferInputs: boolean;
  /** The models loaded, by id: a recovery updates their infos in place (the backend may change). */
  private readonly handles = new Map<string, Held>();
  /**
   * The other engines, by the backend they were started for: `[0]` is the home of the models
   * that serve on that backend (unless the first engine is on it), `[1]`, `[2]`... hold replicas.
   */
  private readonly engines = new Map<Backend, Promise<Supervisor>[]>();
  private readonly ladder: Backend[];
  private readonly start: Starter;
  private readonly recovery: RecoveryOptions | undefined;
  private modelIds = 0;
  private terminated = false;
  /** `backends: 'auto'`: the load choosing a backend now (one at a time: each may start engines). */
  private choosing: Promise<unknown> | undefined;

  constructor(
    first: Connection, ladder: Backend[], start: Starter, readonly worker: boolean, options: RuntimeOptions,
    private readonly auto?: { ladder: Backend[]; device: string },
  ) {
    super();
    this.ladder = ladder;
    this.start = start;
    this.recovery = options.recovery;
    this.transferInputs = options.transferInputs ?? false;
    this.supervisor = this.supervise(first, ladder);
    this.registry = new Registry(
      (id) => (this.handles.get(id)?.home ?? this.supervisor).state === 'recovering',
      (id) => this.handles.get(id)?.home,
    );
  }

  /** A supervisor for an engine of this runtime; its events are the runtime's. */
  private supervise(conn: Connection, ladder: Backend[]): Supervisor {
    const sup: Supervisor = new Supervisor(conn, ladder, this.start, {
      lost: (loss, backend) => this.dispatchEvent(new RuntimeLostEvent(loss.cause, backend, loss.message)),
      recovered: (backend, ms, replayed) => this.dispatchEvent(new RuntimeRecoveredEvent(backend, ms, replayed)),
      // runtime.backend is the first engine's; another engine moving down the ladder shows in its models' info.
      backendchange: (from, to) => {
        if (sup === this.supervisor) this.dispatchEvent(new BackendChangeEvent(from, to));
      },
      reloaded: (id, info) => {
        const h = this.handles.get(id);
        if (h?.home === sup) Object.assign(h.info, info);
      },
      unloadable: (id) => {
        const h = this.handles.get(id);
        if (h && h.home !== sup) {
          h.dropReplica(sup);
          return;
        }
        this.registry.disposed(id);
        this.handles.delete(id);
      },
    }, this.recovery);
    return sup;
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

  /**
   * An engine other than the first that holds no model any more is ended (its worker, its
   * tfjs and GPU context); a later load that needs its backend starts another.
   */
  released(sup: Supervisor): void {
    if (sup === this.supervisor || this.terminated || sup.modelIds.length > 0 || !sup.quiet) return;
    const at = this.places.get(sup);
    if (at && at.list[at.k] === at.made) delete at.list[at.k];
    this.places.delete(sup);
    void sup.terminate();
  }

  async load<S extends ModelSchema = ModelSchema>(spec: ModelSpec): Promise<Model<S>> {
    this.assertLive();
    const replicas = spec?.replicas ?? 1;
    if (replicas !== 'auto' && !(Number.isInteger(replicas) && replicas >= 1)) {
      throw new InputError(`replicas must be a whole number >= 1 or 'auto', got ${String(replicas)}`);
    }
    if (replicas !== 1 && replicas !== 'auto' && !this.worker) {
      throw new InputError('replicas need engines in workers; with worker: false there is one engine on the page');
    }
    const asked = spec?.backend;
    if (asked !== undefined && !BACKENDS.includes(asked)) {
      throw new InputError(`backend must be one of ${BACKENDS.join(', ')}, got ${String(asked)}`);
    }
    if (asked !== undefined && !this.worker && asked !== this.backend) {
      throw new InputError(`With worker: false one engine runs on the page, on ${this.backend}: it cannot load a model on ${asked}`);
    }
    const handle = asked !== undefined ? await this.loadPinned<S>(spec, asked) : await this.loadChosen<S>(spec);
    if (replicas !== 1 && this.worker) await this.replicate(handle, spec, replicas);
    return handle;
  }

  /**
   * The engine `k` of `backend`: 0 is the home of the models serving on it (the first engine
   * when it runs that backend), 1, 2... hold their replicas. Started on first use; one that
   * failed to start is tried again by the next load. A home engine starts on `backend` only.
   */
  private engine(backend: Backend, k: number): Promise<Supervisor> {
    const have = k === 0 ? this.homeOn(backend) : this.engines.get(backend)?.[k];
    if (have) return have;
    const ladder = [backend, ...this.ladder.filter((b) => b !== backend)];
    return this.place(backend, k, this.start(k === 0 ? [backend] : ladder).then((conn) => this.adopted(conn, ladder)));
  }

  /** Every engine other than the first that has started, in start order, and where it sits in `engines`. */
  private readonly places = new Map<Supervisor, { list: Promise<Supervisor>[]; k: number; made: Promise<Supervisor> }>();

  /** Makes `made` the engine `k` of `backend`. */
  private place(backend: Backend, k: number, made: Promise<Supervisor>): Promise<Supervisor> {
    const list = this.engines.get(backend) ?? [];
    this.engines.set(backend, list);
    list[k] = made;
    made.then((sup) => this.places.set(sup, { list, k, made }), () => {
      if (list[k] === made) delete list[k];
    });
    return made;
  }

  /** An engine started for this runtime joins it (or is ended, when the runtime was terminated meanwhile). */
  private async adopted(conn: Connection, ladder: Backend[]): Promise<Supervisor> {
    const sup = this.supervise(conn, ladder);
    if (this.terminated) {
      await sup.terminate();
      throw disposedError('The runtime');
    }
    return sup;
  }

  /** The home engine of `backend` if one is started or starting. */
  private homeOn(backend: Backend): Promise<Supervisor> | undefined {
    return this.supervisor.backend === backend ? Promise.resolve(this.supervisor) : this.engines.get(backend)?.[0];
  }

  /**
   * The engine a model serving on `backend` goes to: the first engine, switched to `backend`
   * when it holds no model yet (no idle worker is left behind), else the backend's own engine.
   */
  private async homeFor(backend: Backend): Promise<Supervisor> {
    const home = this.homeOn(backend);
    if (home) return home;
    if (this.supervisor.modelIds.length === 0 && this.supervisor.quiet) {
      const conn = await this.start([backend]);
      if (!this.terminated && this.supervisor.modelIds.length === 0 && this.supervisor.adopt(conn, this.auto?.ladder ?? this.ladder)) {
        return this.supervisor;
      }
      conn.end();
    }
    return this.engine(backend, 0);
  }

  /** Loads the model in n - 1 more engines of its backend; on any failure the model is disposed everywhere and the load rejects. */
  private async replicate<S extends ModelSchema>(handle: ModelHandle<S>, spec: ModelSpec, replicas: number | 'auto'): Promise<void> {
    const backend = handle.info.backend;
    const n = replicas === 'auto' ? autoReplicas(backend, (handle.info.threads ?? 1) > 1) : replicas;
    const req = handle.home.loadRequest(handle.id);
    if (n <= 1 || !req) return;
    try {
      for (let k = 1; k < n; k++) {
        const sup = await this.engine(backend, k);
        const current = handle.home.loadRequest(handle.id) ?? req;
        await sup.request({ signal: spec.signal, timeoutMs: spec.timeoutMs, what: `Loading replica ${k + 1} of ${req.name}` }, {
          replayable: true,
          send: (engine, requestId) => engine.load({ ...current, requestId }),
        });
        sup.loaded(current);
        handle.addReplica(sup);
      }
    } catch (e) {
      await handle.dispose().catch(() => undefined);
      throw e;
    }
    handle.info.replicas = n;
  }

  /** `spec.backend`: the model serves there, in the engine of that backend (started if need be). */
  private async loadPinned<S extends ModelSchema>(spec: ModelSpec, backend: Backend): Promise<ModelHandle<S>> {
    let home: Supervisor;
    try {
      home = await this.homeFor(backend);
    } catch (e) {
      throw toInpageError(e, 'BACKEND_UNAVAILABLE', `The model asked for ${backend} (spec.backend), which does not start here`);
    }
    const model = await this.loadOn<S>(spec, home);
    if (this.auto) model.info.choice = { backend: model.info.backend, reason: 'pinned', timings: [] };
    return model;
  }

  private async loadChosen<S extends ModelSchema>(spec: ModelSpec): Promise<ModelHandle<S>> {
    const auto = this.auto;
    if (!auto) return this.loadOn<S>(spec, this.supervisor);
    // Each model chooses its backend; a load asked for meanwhile waits for the one choosing.
    while (this.choosing) {
      await this.choosing.catch(() => undefined);
      this.assertLive();
    }
    const choosing = this.loadChoosing<S>(spec, auto);
    this.choosing = choosing;
    try {
      return await choosing;
    } finally {
      if (this.choosing === choosing) this.choosing = undefined;
    }
  }

  /**
   * A load with `backends: 'auto'`: on the backend remembered for this model and device, else
   * loaded on the first engine and timed there and on each other backend; the model then
   * serves on the fastest, in the engine of that backend.
   */
  private async loadChoosing<S extends ModelSchema>(spec: ModelSpec, auto: { ladder: Backend[]; device: string }): Promise<ModelHandle<S>> {
    const key = choiceKey(toLoadRequest(spec, '', 0), auto.device);
    const remembered = await rememberedChoice(key);
    if (remembered && auto.ladder.includes(remembered.backend)) {
      // A remembered backend that no longer starts is measured again with the others.
      const home = await this.homeFor(remembered.backend).catch(() => undefined);
      this.assertLive();
      if (home?.backend === remembered.backend) {
        const model = await this.loadOn<S>(spec, home);
        model.info.choice = { backend: remembered.backend, reason: 'remembered', timings: remembered.timings };
        return model;
      }
    }
    if (!this.worker) {
      // One tfjs on the page: a second engine would switch the first one's backend.
      const model = await this.loadOn<S>(spec, this.supervisor);
      model.info.choice = { backend: this.backend, reason: 'ladder', timings: [] };
      return model;
    }
    return this.loadOn<S>(spec, this.supervisor, async (loaded) => {
      const { choice, winner } = await measure({
        current: loaded.home.connection,
        info: loaded.info,
        req: loaded.req,
        firstLoadMs: loaded.loadMs,
        candidates: auto.ladder,
        start: this.start,
        nextRequestId: () => loaded.home.nextRequestId(),
        ended: () => this.terminated,
      });
      this.assertLive();
      const moved = winner ? await this.move(loaded, winner, auto.ladder) : undefined;
      const home = moved?.home ?? loaded.home;
      const info = moved?.info ?? loaded.info;
      choice.backend = home.backend;
      info.choice = choice;
      void rememberChoice(key, choice.backend, choice.timings);
      return { home, info };
    });
  }

  /**
   * Moves a model just loaded in `from.home` to the engine of the backend it was measured
   * fastest on, `winner.conn` (which holds it already): the first engine switches to it when
   * this model is all it holds, the backend's engine takes it when there is one, else
   * `winner.conn` becomes that engine. Undefined when it stays (the move failed).
   */
  private async move(
    from: Loaded, winner: { conn: Connection; info: ModelInfo }, ladder: Backend[],
  ): Promise<{ home: Supervisor; info: ModelInfo } | undefined> {
    const { id, req } = from;
    const backend = winner.conn.backend;
    if (from.home === this.supervisor && this.supervisor.modelIds.join() === id && this.supervisor.adopt(winner.conn, ladder)) {
      return { home: this.supervisor, info: winner.info };
    }
    let home: Supervisor;
    let info = winner.info;
    const existing = this.homeOn(backend);
    try {
      if (existing) {
        winner.conn.end();
        home = await existing;
        info = await home.request({ what: `Loading ${req.name}` }, {
          replayable: true,
          send: (engine, requestId) => engine.load({ ...req, requestId }),
        });
      } else {
        home = await this.place(backend, 0, this.adopted(winner.conn, [backend, ...ladder.filter((b) => b !== backend)]));
      }
    } catch {
      if (!existing) winner.conn.end();
      return undefined;
    }
    home.loaded(req);
    await unloadFrom(from.home, id);
    return { home, info };
  }

  /**
   * Loads a model in `home`; `choose`, when given, may move it to another engine before it is
   * made ready (routable by name) and returned.
   */
  private async loadOn<S extends ModelSchema = ModelSchema>(
    spec: ModelSpec, home: Supervisor, choose?: (loaded: Loaded) => Promise<{ home: Supervisor; info: ModelInfo }>,
  ): Promise<ModelHandle<S>> {
    const id = `m${++this.modelIds}`;
    const req = toLoadRequest(spec, id, home.nextRequestId());
    const progress = spec.onProgress;
    const callback = progress && (this.worker ? Comlink.proxy(progress) : progress);
    const control: RequestControl = {};
    let cancelled = false;
    this.registry.loading(id, req.name, req.version, home.backend, () => {
      cancelled = true;
      control.stop?.(disposedError(`Model ${req.name}`));
    });
    let info: ModelInfo;
    const t0 = performance.now();
    try {
      info = await home.request({ signal: spec.signal, timeoutMs: spec.timeoutMs, what: `Loading ${req.name}`, control }, {
        replayable: true,
        // The engine knows a load by the request id it was sent with: cancel() aborts it.
        send: (engine, requestId) => engine.load({ ...req, requestId }, callback),
      });
    } catch (e) {
      this.registry.failed(id);
      throw e;
    }
    home.loaded(req);
    if (choose) {
      try {
        ({ home, info } = await choose({ id, req, info, home, loadMs: performance.now() - t0 }));
        if (cancelled) throw disposedError(`Model ${req.name}`);
      } catch (e) {
        this.registry.failed(id);
        await unloadFrom(home, id);
        throw e;
      }
    }
    const handle = new ModelHandle<S>(this, id, info, req.postprocess, home);
    this.handles.set(id, handle);
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

  /** Every engine of the runtime: the first, then the others that have started. */
  private all(): Supervisor[] {
    return [this.supervisor, ...this.places.keys()];
  }

  /** Tensors and bytes held by the engines, added up. */
  async memory(): Promise<MemoryInfo> {
    this.assertLive();
    const parts = await Promise.all(this.all().map((sup) => sup.request(undefined, { replayable: true, send: (engine) => engine.memory() })));
    return { numTensors: parts.reduce((n, m) => n + m.numTensors, 0), numBytes: parts.reduce((n, m) => n + m.numBytes, 0) };
  }

  /** Losses, recoveries and replays of every engine, added up. */
  stats(): RuntimeStats {
    const counters = { ...this.supervisor.counters };
    for (const sup of this.places.keys()) {
      counters.losses += sup.counters.losses;
      counters.recoveries += sup.counters.recoveries;
      counters.replays += sup.counters.replays;
      counters.lostRequests += sup.counters.lostRequests;
    }
    const engines = this.all();
    return {
      ...counters,
      backend: this.backend,
      state: this.supervisor.state,
      engines: engines.length,
      backends: [...new Set(engines.map((sup) => sup.backend))],
    };
  }

  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    const starting = [...this.engines.values()].flat();
    try {
      await Promise.all([this.supervisor.terminate(), ...starting.map((p) => p.then((sup) => sup.terminate(), () => undefined))]);
    } finally {
      this.registry.clear();
      this.handles.clear();
    }
  }
}

/** A model loaded in an engine, not yet ready. */
interface Loaded {
  id: string;
  req: LoadRequest;
  info: ModelInfo;
  home: Supervisor;
  loadMs: number;
}

/** Frees a model in an engine it no longer serves from (best effort: the engine may be gone). */
async function unloadFrom(sup: Supervisor, id: string): Promise<void> {
  sup.forget(id);
  if (sup.state !== 'ready' && sup.state !== 'recovering') return;
  await sup.request(undefined, { replayable: true, send: (engine) => engine.dispose(id) }).catch(() => undefined);
}
