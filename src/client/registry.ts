/**
 * The runtime's model registry: every model it holds, by name and version, which
 * version of each name is active, and a handle per name whose calls go to the active
 * version at call time. Promoting a version and then disposing the old one is a hot
 * swap: the registry only stops routing to the old one; its dispose() lets the calls it
 * accepted finish before it is freed.
 */
import { InpageError, InputError } from '../errors.js';
import type {
  Backend, CalibrateOptions, CalibrationResult, DriftReference, EvaluateOptions, EvaluationReport, LabelledSample, ModelInfo, ModelStats,
  PostprocessSpec, Prediction, PredictBatchOptions, PredictOptions, PromoteOptions, RegistryEntry, RequestOptions, ShadowOptions, ShadowReport, TensorData,
  ThresholdChoice, ThresholdOptions,
} from '../types.js';
import type { ImageSource } from './inputs.js';
import type { LabelOf, Model, ModelSchema, RunInputs, RunOutputs, Sample, SampleSource } from './model.js';
import { Shadow, checkFraction, due, type EngineQuiet } from './shadow.js';

/** What the registry holds of a model: a handle with its id. */
export interface Registered extends Model {
  readonly id: string;
  readonly info: ModelInfo;
  /** The postprocess the model serves with now. */
  postprocess(): PostprocessSpec;
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
  /** Name -> the version that gets a share of its calls (a canary), and how many calls were routed. */
  private readonly canaries = new Map<string, { id: string; fraction: number; calls: number }>();
  /** Name -> its shadow (kept after the shadow stops, for its report, until replaced). */
  private readonly shadows = new Map<string, { shadow: Shadow; on: boolean }>();
  /** Name -> alias -> version. */
  private readonly aliases = new Map<string, Map<string, string>>();

  /**
   * @param recovering whether the engine of a model (by id) is being brought back (ready models then show `recovering`)
   * @param engineOf the engine of a model (by id): a shadow on it waits for it to be quiet to send its requests
   */
  constructor(
    private readonly recovering: (id: string) => boolean = () => false,
    private readonly engineOf?: (id: string) => EngineQuiet | undefined,
  ) {}

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
    if (this.canaries.get(slot.name)?.id === id) this.canaries.delete(slot.name);
    const sh = this.shadows.get(slot.name);
    if (sh?.shadow.target.id === id) sh.on = false;
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

  /** The version an alias of `name` stands for, or `version` itself. */
  resolve(name: string, version: string): string {
    return this.aliases.get(name)?.get(version) ?? version;
  }

  /** Names `version` of `name` by `alias` (`'champion'`, `'challenger'`...); a later call moves the alias. */
  alias(name: string, alias: string, version: string): void {
    if (typeof alias !== 'string' || alias === '') throw new InputError(`An alias must be a non-empty string, got ${JSON.stringify(alias)}`);
    const target = this.resolve(name, version);
    if (this.readyOf(name, target).length === 0 && ![...this.slots.values()].some((s) => s.name === name && s.version === target)) {
      throw new InpageError('NOT_FOUND', `No model ${name}@${target} to alias as ${alias}; this runtime holds: ${this.known()}`, { name, version: target });
    }
    const map = this.aliases.get(name) ?? new Map<string, string>();
    map.set(alias, target);
    this.aliases.set(name, map);
  }

  /** The aliases of `name@version`. */
  private aliasesOf(name: string, version: string): string[] {
    return [...(this.aliases.get(name) ?? [])].filter(([, v]) => v === version).map(([a]) => a);
  }

  /** The ready slot of `name@version` (an alias accepted; its latest load, if loaded twice). */
  private find(name: string, version: string, what: string): Slot<M> {
    const v = this.resolve(name, version);
    const found = this.readyOf(name, v);
    const slot = found[found.length - 1];
    if (!slot?.handle) throw new InpageError('NOT_FOUND', `No ready model ${name}@${v} to ${what}; this runtime holds: ${this.known()}`, { name, version: v });
    return slot;
  }

  /**
   * Makes `name@version` the active version of `name`; with `fraction` < 1 a canary instead:
   * that share of the name's calls goes to it, the rest to the active version.
   */
  promote(name: string, version: string, opts: PromoteOptions = {}): void {
    const fraction = opts.fraction === undefined ? 1 : checkFraction(opts.fraction, 'promote fraction');
    const slot = this.find(name, version, 'promote');
    if (fraction === 1 || this.active.get(name) === slot.id) {
      this.active.set(name, slot.id);
      this.canaries.delete(name);
      return;
    }
    this.canaries.set(name, { id: slot.id, fraction, calls: 0 });
  }

  /** The handle of `name@version` (an alias accepted). */
  version(name: string, version: string): M {
    return this.find(name, version, 'use').handle as M;
  }

  /** Starts shadowing `name`'s predict calls on `name@version`; `null` stops it. */
  shadow(name: string, version: string | null, opts?: ShadowOptions): void {
    if (version === null) {
      const sh = this.shadows.get(name);
      if (sh) sh.on = false;
      return;
    }
    const slot = this.find(name, version, 'shadow');
    this.shadows.set(name, { shadow: new Shadow(slot.handle as M, opts, this.engineOf?.(slot.id)), on: true });
  }

  /** The shadow serving `name` now, if any. */
  shadowOf(name: string): Shadow | undefined {
    const sh = this.shadows.get(name);
    return sh?.on ? sh.shadow : undefined;
  }

  /** The report of `name`'s shadow (running or last run). */
  shadowReport(name: string): ShadowReport {
    const sh = this.shadows.get(name);
    if (!sh) throw new InpageError('NOT_FOUND', `No shadow was set for ${name}; call runtime.shadow(name, version) first`, { name });
    const id = this.active.get(name);
    const slot = id === undefined ? undefined : this.slots.get(id);
    return sh.shadow.report(slot ? `${slot.name}@${slot.version}` : '');
  }

  /** Names with a shadow (running or last run). */
  shadowed(): string[] {
    return [...this.shadows.keys()];
  }

  /** The handle of the active version of `name`. */
  route(name: string): M {
    const id = this.active.get(name);
    const handle = id === undefined ? undefined : this.slots.get(id)?.handle;
    if (!handle) throw new InpageError('NOT_FOUND', `No model named ${name} is loaded; this runtime holds: ${this.known()}`, { name });
    return handle;
  }

  /** The handle a call to `name` goes to: the canary's on its share of calls, else the active version's. */
  routeCall(name: string): M {
    const c = this.canaries.get(name);
    if (c) {
      const handle = this.slots.get(c.id)?.handle;
      if (handle && due(++c.calls, c.fraction)) return handle;
    }
    return this.route(name);
  }

  /** Handles of every ready version of `name`. */
  handlesOf(name: string): M[] {
    return this.readyOf(name).flatMap((s) => (s.handle ? [s.handle] : []));
  }

  list(): RegistryEntry[] {
    return [...this.slots.values()].map((s) => ({
      name: s.name,
      version: s.version,
      backend: s.handle?.info.backend ?? s.backend,
      bytes: s.handle?.info.bytes ?? 0,
      state: s.state !== 'disposed' && this.recovering(s.id) ? 'recovering' : s.state,
      active: this.active.get(s.name) === s.id,
      ...(this.canaries.get(s.name)?.id === s.id ? { canary: (this.canaries.get(s.name) as { fraction: number }).fraction } : {}),
      ...(this.shadowOf(s.name)?.target.id === s.id ? { shadow: (this.shadowOf(s.name) as Shadow).fraction } : {}),
      ...(this.aliasesOf(s.name, s.version).length ? { aliases: this.aliasesOf(s.name, s.version) } : {}),
    }));
  }

  /** Ready handles with their registry facts. */
  readyHandles(): { handle: M; name: string; version: string; active: boolean }[] {
    return [...this.slots.values()].flatMap((s) => (s.state === 'ready' && s.handle ? [{ handle: s.handle, name: s.name, version: s.version, active: this.active.get(s.name) === s.id }] : []));
  }

  clear(): void {
    this.slots.clear();
    this.active.clear();
    this.canaries.clear();
    this.shadows.clear();
    this.aliases.clear();
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

  /** Where a serving call goes: a canary on its share of calls, else the active version. */
  private callTarget(): Registered {
    this.assertLive();
    this.last = this.registry.routeCall(this.name);
    return this.last;
  }

  async run(inputs: RunInputs<S>, opts?: RequestOptions): Promise<RunOutputs<S>> {
    return (await this.callTarget().run(inputs, opts)) as RunOutputs<S>;
  }

  /** Goes to the active version (or a canary); a shadow, when set, answers a copy after it, unseen. */
  async predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction<LabelOf<S>>> {
    const target = this.callTarget();
    const answer = target.predict(input, opts);
    const shadow = this.registry.shadowOf(this.name);
    if (!shadow || shadow.target.id === target.id) return (await answer) as Prediction<LabelOf<S>>;
    return (await shadow.serve(input, opts, answer)) as Prediction<LabelOf<S>>;
  }

  async predictBatch(
    inputs: Iterable<ImageSource | TensorData> | AsyncIterable<ImageSource | TensorData>,
    opts?: PredictBatchOptions,
  ): Promise<Prediction<LabelOf<S>>[]> {
    return (await this.callTarget().predictBatch(inputs, opts)) as Prediction<LabelOf<S>>[];
  }

  /** The active version's statistics. */
  async stats(): Promise<ModelStats> {
    return this.target().stats();
  }

  /** Evaluates the active version. */
  evaluate<T extends Sample>(samples: SampleSource<T>, opts?: EvaluateOptions<T>): Promise<EvaluationReport> {
    return this.target().evaluate(samples, opts);
  }

  /** Calibrates the active version. */
  calibrate(samples: SampleSource<Sample>, opts?: CalibrateOptions): Promise<CalibrationResult> {
    return this.target().calibrate(samples, opts);
  }

  /** Chooses the active version's threshold. */
  chooseThreshold(samples: SampleSource<Sample>, opts: ThresholdOptions): Promise<ThresholdChoice & { head: string; applied: boolean }> {
    return this.target().chooseThreshold(samples, opts);
  }

  /** Sets the active version's drift reference. */
  setReference<I extends ImageSource | TensorData>(
    samples: Iterable<I | LabelledSample<I>> | AsyncIterable<I | LabelledSample<I>> | null,
    opts?: RequestOptions & { onProgress?: (done: number, total: number) => void },
  ): Promise<DriftReference | null> {
    return this.target().setReference(samples, opts);
  }

  /** Disposes every version of the name this runtime holds; its loads under way reject with DISPOSED. */
  async dispose(): Promise<void> {
    this.registry.cancelLoads(this.name);
    await Promise.all(this.registry.handlesOf(this.name).map((m) => m.dispose()));
  }
}
