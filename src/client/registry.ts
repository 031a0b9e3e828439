/**
 * The runtime's model registry: every model it holds, by name and version, which
 * version of each name is active, and a handle per name whose calls go to the active
 * version at call time. Promoting a version and then disposing the old one is a hot
 * swap: the registry only stops routing to the old one; its dispose() lets the calls it
 * accepted finish before it is freed.
 */
import { InpageError } from '../errors.js';
import type { Backend, ModelInfo, ModelStats, Prediction, PredictBatchOptions, PredictOptions, RegistryEntry, RequestOptions, TensorData } from '../types.js';
import type { ImageSource } from './inputs.js';
import type { LabelOf, Model, ModelSchema, RunInputs, RunOutputs } from './model.js';

/** What the registry holds of a model: a handle with its id. */
export interface Registered extends Model {
  readonly id: string;
  readonly info: ModelInfo;
}

interface Slot<M extends Registered> {
  id: string;
  name: string;
  version: string;
  backend: Backend;
  state: 'loading' | 'ready' | 'disposed';
  handle?: M;
  /** Ends the load of a model still loading. */
  cancel?: () => void;
}

export class Registry<M extends Registered = Registered> {
  /** By id, in load order. */
  private readonly slots = new Map<string, Slot<M>>();
  /** Name -> id of its active version. */
  private readonly active = new Map<string, string>();

  /** @param recovering whether the engine is being brought back (ready models then show `recovering`) */
  constructor(private readonly recovering: () => boolean = () => false) {}

  /** A model starts loading. */
  loading(id: string, name: string, version: string, backend: Backend, cancel?: () => void): void {
    this.slots.set(id, { id, name, version, backend, state: 'loading', ...(cancel ? { cancel } : {}) });
  }

  /** Ends the loads under way for `name` (the name is being disposed). */
  cancelLoads(name: string): void {
    for (const s of [...this.slots.values()]) if (s.name === name && s.state === 'loading') s.cancel?.();
  }

  /** A load failed: forget it. */
  failed(id: string): void {
    this.slots.delete(id);
  }

  /** A model is ready; it becomes the active version of its name when asked to or when its name has none. */
  ready(id: string, handle: M, promote: boolean): void {
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

  private readyOf(name: string, version?: string): Slot<M>[] {
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
  route(name: string): M {
    const id = this.active.get(name);
    const handle = id === undefined ? undefined : this.slots.get(id)?.handle;
    if (!handle) throw new InpageError('NOT_FOUND', `No model named ${name} is loaded; this runtime holds: ${this.known()}`, { name });
    return handle;
  }

  /** Handles of every ready version of `name`. */
  handlesOf(name: string): M[] {
    return this.readyOf(name).flatMap((s) => (s.handle ? [s.handle] : []));
  }

  list(): RegistryEntry[] {
    const recovering = this.recovering();
    return [...this.slots.values()].map((s) => ({
      name: s.name,
      version: s.version,
      backend: s.handle?.info.backend ?? s.backend,
      bytes: s.handle?.info.bytes ?? 0,
      state: recovering && s.state !== 'disposed' ? 'recovering' : s.state,
      active: this.active.get(s.name) === s.id,
    }));
  }

  clear(): void {
    this.slots.clear();
    this.active.clear();
  }
}

/** A model by name: each call goes to the name's active version at the time of the call. */
export class NamedModel<S extends ModelSchema = ModelSchema> implements Model<S> {
  private last: Registered;

  constructor(
    private readonly registry: Registry,
    readonly name: string,
    private readonly assertLive: () => void,
  ) {
    this.last = registry.route(name);
  }

  private target(): Registered {
    this.assertLive();
    this.last = this.registry.route(this.name);
    return this.last;
  }

  /** The active version's info (the last one used, once the name has none). */
  get info(): ModelInfo {
    try {
      return this.target().info;
    } catch {
      return this.last.info;
    }
  }

  async run(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>> {
    return (await this.target().run(inputs, opts)) as RunOutputs<S>;
  }

  async predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction<LabelOf<S>>> {
    return (await this.target().predict(input, opts)) as Prediction<LabelOf<S>>;
  }

  async predictBatch(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts?: PredictBatchOptions,
  ): Promise<Prediction<LabelOf<S>>[]> {
    return (await this.target().predictBatch(inputs, opts)) as Prediction<LabelOf<S>>[];
  }

  async stats(): Promise<ModelStats> {
    return this.target().stats();
  }

  /** Disposes every version of the name this runtime holds; its loads under way reject with DISPOSED. */
  async dispose(): Promise<void> {
    this.registry.cancelLoads(this.name);
    await Promise.all(this.registry.handlesOf(this.name).map((m) => m.dispose()));
  }
}
