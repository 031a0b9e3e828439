/**
 * The Engine: all model logic, behind the {@link EngineApi}. It runs in the worker
 * (src/worker.ts exposes it) or on the page with `worker: false`, the same code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InpageError, InputError, RequestError, disposedError, toInpageError, withContext } from '../errors.js';
import type { EngineApi, EngineInit, EngineLoss, LoadRequest, ModelSettings, WireInput, WirePredictRequest, WireRequest } from '../protocol.js';
import type { Backend, LoadProgress, MemoryInfo, ModelInfo, ModelStats, Prediction, TensorData } from '../types.js';
import { releaseWasm, startBackend } from './backends.js';
import { loadModelFiles } from './files.js';
import { GpuWatch } from './gpu-watch.js';
import { buildModel } from './loader.js';
import { EngineClock, ServedModel } from './served.js';

/** Takes a Web Lock and holds it until this global scope ends; resolves once it is held. */
function holdLock(name: string): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return Promise.resolve();
  return new Promise<void>((held) => {
    void locks.request(name, () => {
      held();
      return new Promise<never>(() => undefined);
    });
  });
}

export class Engine implements EngineApi {
  private backend: Backend | undefined;
  /** CPU threads the backend computes on (XNNPACK's pool on wasm, else 1). */
  private threads = 1;
  private starting: Promise<Backend> | undefined;
  private gpu: GpuWatch | undefined;
  private readonly models = new Map<string, ServedModel>();
  /** Loads under way, by request id: `cancel` and `shutdown` abort them. */
  private readonly loads = new Map<number, AbortController>();
  /** Requests cancelled before they reached a batcher (still decoding, say). */
  private readonly cancelled = new Set<number>();
  private shut = false;

  init(opts: EngineInit): Promise<Backend> {
    this.starting ??= (async () => {
      const { backend, threads } = await startBackend(opts.backends, opts);
      this.threads = threads;
      this.gpu = new GpuWatch(backend);
      if (opts.lockName) await holdLock(opts.lockName);
      this.backend = backend;
      return backend;
    })();
    return this.starting;
  }

  async watch(): Promise<EngineLoss> {
    await this.starting;
    return this.gpu ? this.gpu.lostPromise : new Promise<never>(() => undefined);
  }

  private ready(): Backend {
    if (this.shut) throw disposedError('The runtime');
    if (!this.backend) throw new InpageError('BACKEND_UNAVAILABLE', 'The engine has not started a backend; call init first');
    return this.backend;
  }

  private model(id: string): ServedModel {
    this.ready();
    const m = this.models.get(id);
    if (!m) throw disposedError(`Model ${id}`);
    return m;
  }

  async load(req: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    const backend = this.ready();
    if (this.models.has(req.id)) throw new InputError(`A model with id ${req.id} is already loaded`);
    const abort = new AbortController();
    this.loads.set(req.requestId, abort);
    const { signal } = abort;
    /** Throws the reason the load was stopped (cancel: ABORTED; shutdown: DISPOSED), if it was. */
    const stopped = () => {
      if (signal.aborted) throw toInpageError(signal.reason, 'ABORTED');
    };
    let built: Awaited<ReturnType<typeof buildModel>> | undefined;
    let served: ServedModel | undefined;
    let storing: Promise<InpageError | undefined> | undefined;
    let loaded: Awaited<ReturnType<typeof loadModelFiles>> | undefined;
    try {
      loaded = await loadModelFiles(req, onProgress, signal);
      stopped();
      built = await buildModel(loaded.files, req.format);
      stopped();
      served = new ServedModel(built, req, { backend, threads: this.threads, clock: this.clock }, loaded.fromCache, this.gpu);
      // Only a model that builds is cached; the write runs beside the warmup.
      storing = loaded.persist();
      if (req.warmup) await served.warmup();
      const cacheError = await storing;
      if (cacheError) served.info.cacheError = { code: cacheError.code, message: cacheError.message };
      stopped();
    } catch (e) {
      if (served) await served.dispose();
      else built?.model.dispose();
      if (storing) await storing.then(() => loaded?.unpersist());
      throw signal.aborted ? toInpageError(signal.reason, 'ABORTED') : toInpageError(e, 'MODEL_LOAD_FAILED', `Could not load ${req.name}`);
    } finally {
      this.loads.delete(req.requestId);
      this.clock.touch();
    }
    this.models.set(req.id, served);
    return served.info;
  }

  /** When the engine last loaded or served: background warm-ups wait for a quiet spell of it. */
  private readonly clock = new EngineClock(() => this.busy());

  /** Whether a load or a call to any model is under way (background warm-ups wait for none). */
  private busy(): boolean {
    if (this.loads.size > 0) return true;
    for (const m of this.models.values()) if (m.busy) return true;
    return false;
  }

  private async track<T>(requestId: number, work: () => Promise<T>): Promise<T> {
    if (this.cancelled.delete(requestId)) throw new RequestError('ABORTED', 'The request was aborted before it ran');
    return work();
  }

  run(modelId: string, inputs: Record<string, TensorData>, req: WireRequest): Promise<Record<string, TensorData>> {
    const m = this.model(modelId);
    return this.track(req.requestId, () => m.run(inputs, req.requestId));
  }

  predict(modelId: string, input: WireInput, req: WirePredictRequest): Promise<Prediction> {
    const m = this.model(modelId);
    return this.track(req.requestId, () => m.predict(input, req));
  }

  async predictMany(modelId: string, inputs: WireInput[], req: WirePredictRequest): Promise<Prediction[]> {
    const m = this.model(modelId);
    return this.track(req.requestId, async () => {
      // Each item is its own request so the batcher can group them; one id cancels them all.
      const settled = await Promise.allSettled(inputs.map((input) => m.predict(input, req)));
      const failed = settled.findIndex((s) => s.status === 'rejected');
      if (failed >= 0) {
        const reason: unknown = (settled[failed] as PromiseRejectedResult).reason;
        throw withContext(reason, 'INFERENCE_FAILED', `Item ${failed} of the batch`, { item: failed });
      }
      return settled.map((s) => (s as PromiseFulfilledResult<Prediction>).value);
    });
  }

  async cancel(requestId: number): Promise<void> {
    const load = this.loads.get(requestId);
    if (load) {
      load.abort(new RequestError('ABORTED', 'The load was aborted'));
      return;
    }
    let found = false;
    // Several queued jobs may share an id (a predictMany chunk): drop them all.
    for (const m of this.models.values()) while (m.cancel(requestId)) found = true;
    if (!found) {
      this.cancelled.add(requestId);
      // Ids are never reused; an id that arrives after its request finished is forgotten later.
      if (this.cancelled.size > 1024) this.cancelled.delete(this.cancelled.values().next().value as number);
    }
  }

  async stats(modelId: string): Promise<ModelStats> {
    return this.model(modelId).snapshot();
  }

  async configure(modelId: string, settings: ModelSettings): Promise<void> {
    this.model(modelId).configure(settings);
  }

  async dispose(modelId: string): Promise<void> {
    const m = this.models.get(modelId);
    if (!m) return;
    this.models.delete(modelId);
    await m.dispose();
  }

  async memory(): Promise<MemoryInfo> {
    const { numTensors, numBytes } = tf.memory();
    return { numTensors, numBytes };
  }

  async shutdown(): Promise<void> {
    if (this.shut) return;
    this.shut = true;
    if (this.backend === 'wasm') releaseWasm();
    this.gpu?.stop();
    for (const load of this.loads.values()) load.abort(disposedError('The runtime'));
    const all = [...this.models.values()];
    this.models.clear();
    await Promise.all(all.map((m) => m.dispose()));
  }
}
