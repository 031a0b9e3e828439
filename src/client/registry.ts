/**
 * The runtime's model registry: every model it holds, by name and version, which
 * version of each name is active, and a handle per name whose calls go to the active
 * version at call time. Promoting a version and then disposing the old one is a hot
 * swap: calls routed to the old one finish before it is freed.
 */
import { InpageError } from '../errors.js';
import type { Backend, ModelStats, Prediction, PredictBatchOptions, PredictOptions, RegistryEntry, RequestOptions, TensorData } from '../types.js';
import type { ImageSource } from './inputs.js';
import type { LabelOf, Model, ModelHandle, ModelSchema, RunInputs, RunOutputs } from './model.js';

interface Slot {
  id: string;
  name: string;
  version: string;
  backend: Backend;
  state: RegistryEntry['state'];
  handle?: ModelHandle;
}

export class Registry {
  /** By id, in load order. */
  private readonly slots = new Map<string, Slot>();
  /** Name -> id of its active version. */
  private readonly active = new Map<string, string>();
  /** Id -> calls routed to it by name that have not settled, and who waits for none. */
  private readonly inflight = new Map<string, { count: number; idle: (() => void)[] }>();

  /** A model starts loading. */
  loading(id: string, name: string, version: string, backend: Backend): void {
    this.slots.set(id, { id, name, version, backend, state: 'loading' });
  }

  /** A load failed: forget it. */
  failed(id: string): void {
    this.slots.delete(id);
  }

  /** A model is ready; it becomes the active version of its name when asked to or when its name has none. */
  ready(id: string, handle: ModelHandle, promote: boolean): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.state = 'ready';
    slot.handle = handle;
    if (promote || !this.active.has(slot.name)) this.active.set(slot.name, id);
  }

  /** A model is being disposed: no new call goes to it; its name falls back to its latest other ready version. */
  disposed(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.state = 'disposed';
    this.slots.delete(id);
    if (this.active.get(slot.name) !== id) return;
    const rest = this.readyOf(slot.name);
    const last = rest[rest.length - 1];
    if (last) this.active.set(slot.name, last.id);
    else this.active.delete(slot.name);
  }

  private readyOf(name: string, version?: string): Slot[] {
    return [...this.slots.values()].filter((s) => s.name === name && s.state === 'ready' && (version === undefined || s.version === version));
  }

  private known(): string {
    const all = [...this.slots.values()].map((s) => `${s.name}@${s.version}${s.state === 'ready' ? '' : ` (${s.state})`}`);
    return all.length ? all.join(', ') : 'none';
  }

  /** Makes `name@version` (its latest load, if loaded twice) the active version of `name`. */
  promote(name: string, version: string): void {
    const found = this.readyOf(name, version);
    const slot = found[found.length - 1];
    if (!slot) throw new InpageError('NOT_FOUND', `No ready model ${name}@${version} to promote; this runtime holds: ${this.known()}`, { name, version });
    this.active.set(name, slot.id);
  }

  /** The handle of the active version of `name`. */
  route(name: string): ModelHandle {
    const id = this.active.get(name);
    const handle = id === undefined ? undefined : this.slots.get(id)?.handle;
    if (!handle) throw new InpageError('NOT_FOUND', `No model named ${name} is loaded; this runtime holds: ${this.known()}`, { name });
    return handle;
  }

  /** Handles of every ready version of `name`. */
  handlesOf(name: string): ModelHandle[] {
    return this.readyOf(name).map((s) => s.handle as ModelHandle);
  }

  list(): RegistryEntry[] {
    return [...this.slots.values()].map((s) => ({
      name: s.name,
      version: s.version,
      backend: s.handle?.info.backend ?? s.backend,
      bytes: s.handle?.info.bytes ?? 0,
      state: s.state,
      active: this.active.get(s.name) === s.id,
    }));
  }

  clear(): void {
    this.slots.clear();
    this.active.clear();
  }

  /** Counts a call routed to `id` until it settles. */
  track<T>(id: string, call: Promise<T>): Promise<T> {
    const n = this.inflight.get(id) ?? { count: 0, idle: [] };
    n.count++;
    this.inflight.set(id, n);
    const settle = () => {
      if (--n.count > 0) return;
      this.inflight.delete(id);
      for (const f of n.idle) f();
    };
    call.then(settle, settle);
    return call;
  }

  /** Resolves once no call routed to `id` is outstanding. */
  drain(id: string): Promise<void> {
    const n = this.inflight.get(id);
    return n ? new Promise((resolve) => n.idle.push(resolve)) : Promise.resolve();
  }
}

/** A model by name: each call goes to the name's active version at the time of the call. */
export class NamedModel<S extends ModelSchema = ModelSchema> implements Model<S> {
  private last: ModelHandle<S>;

  constructor(
    private readonly registry: Registry,
    readonly name: string,
    private readonly assertLive: () => void,
  ) {
    this.last = registry.route(name) as unknown as ModelHandle<S>;
  }

  private target(): ModelHandle<S> {
    this.assertLive();
    this.last = this.registry.route(this.name) as unknown as ModelHandle<S>;
    return this.last;
  }

  private async call<T>(work: (m: ModelHandle<S>) => Promise<T>): Promise<T> {
    const m = this.target();
    return this.registry.track(m.id, work(m));
  }

  /** The active version's info (the last one used, once the name has none). */
  get info() {
    try {
      return this.target().info;
    } catch {
      return this.last.info;
    }
  }

  run(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>> {
    return this.call((m) => m.run(inputs, opts));
  }

  predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction<LabelOf<S>>> {
    return this.call((m) => m.predict(input, opts));
  }

  predictBatch(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts?: PredictBatchOptions,
  ): Promise<Prediction<LabelOf<S>>[]> {
    return this.call((m) => m.predictBatch(inputs, opts));
  }

  stats(): Promise<ModelStats> {
    return this.call((m) => m.stats());
  }

  /** Disposes every version of the name this runtime holds. */
  async dispose(): Promise<void> {
    await Promise.all(this.registry.handlesOf(this.name).map((m) => m.dispose()));
  }
}
