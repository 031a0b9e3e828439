/**
 * The supervisor: owns the engine a runtime talks to, knows at once when it is gone (its
 * worker died, or its GPU was lost), starts a new one, loads every model again and replays
 * the requests that were queued or running. Every call to the engine goes through
 * `request()`: one place holds a request's id, signal, deadline and replay count.
 */
import { InpageError, InputError, RequestError, WorkerLostError, disposedError, toInpageError } from '../errors.js';
import { RECOVERY_DEFAULTS } from '../defaults.js';
import type { EngineApi, EngineLoss, LoadRequest, ModelSettings } from '../protocol.js';
import type { Backend, ModelInfo, RequestOptions } from '../types.js';

/**
 * The engine as the page calls it: comlink's `Remote<EngineApi>` of the worker, or the
 * engine itself with `worker: false` (every EngineApi method is async, so the two agree).
 */
export type EngineClient = EngineApi;

/** Why an engine is gone. */
export interface LossInfo {
  /** `worker-exit`: the worker stopped (closed, terminated, crashed); or the GPU watch's cause. */
  cause: 'worker-exit' | 'worker-error' | EngineLoss['cause'];
  message: string;
}

/** A started engine. */
export interface Connection {
  engine: EngineClient;
  backend: Backend;
  /** Resolves when this engine is gone, whatever the reason. */
  gone: Promise<LossInfo>;
  /** Ends it for good (terminates its worker). */
  end(): void;
}

/** Starts an engine on the first backend of `ladder` that works. */
export type Starter = (ladder: Backend[]) => Promise<Connection>;

/** How the supervisor recovers. */
export interface RecoveryOptions {
  /** Engine deaths within `windowMs` after which the backend in use is dropped for the next one of the ladder. Default 3. */
  maxRestarts?: number;
  /** The window of `maxRestarts`, in ms. Default 60,000. */
  windowMs?: number;
}


/** What the runtime hears from its supervisor. */
export interface SupervisorEvents {
  lost(cause: LossInfo, backend: Backend): void;
  recovered(backend: Backend, ms: number, replayed: number): void;
  backendchange(from: Backend, to: Backend): void;
  /** A model was loaded again after a recovery (its backend may have changed). */
  reloaded(modelId: string, info: ModelInfo): void;
  /** A model could not be loaded again: its calls fail with WORKER_LOST. */
  unloadable(modelId: string, error: InpageError): void;
}

/** Counters of `runtime.stats()`. */
export interface SupervisorStats {
  /** Engines lost (worker deaths and GPU losses). */
  losses: number;
  /** Recoveries that brought serving back. */
  recoveries: number;
  /** Requests sent again after a loss. */
  replays: number;
  /** Requests that failed with WORKER_LOST. */
  lostRequests: number;
}

export type SupervisorState = 'ready' | 'recovering' | 'lost' | 'terminated';

/** Filled by `request()`: ends the request with an error of the caller's choosing (the engine drops it). */
export interface RequestControl {
  stop?: (err: InpageError) => void;
}

/** One call to the engine, from its first send to its answer. */
interface Call {
  modelId: string | undefined;
  requestId: number;
  /** The call's payload, prepared once on the page (inputs decoded) and kept for a replay. */
  prepared: Promise<unknown>;
  send: (engine: EngineClient, requestId: number, prepared: unknown) => Promise<unknown>;
  /** Frees what the payload holds on the page, once the call is settled. */
  release: ((prepared: unknown) => void) | undefined;
  /** False when its inputs were transferred (nothing left on the page to send again). */
  replayable: boolean;
  replays: number;
  /** The engine generation it was last sent to; -1 while waiting to be sent. */
  gen: number;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  done: boolean;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting when it rejects.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const now = () => performance.now();

export class Supervisor {
  private conn: Connection;
  private gen = 0;
  private ladder: Backend[];
  private readonly opts: Required<RecoveryOptions>;
  private readyGate: Deferred = deferred();
  private readonly calls = new Set<Call>();
  /** Models to load again after a loss, in load order. */
  private readonly models = new Map<string, LoadRequest>();
  /** Model id -> resolvers waiting for its calls to settle. */
  private readonly idleWaiters = new Map<string, (() => void)[]>();
  /** Model id -> calls accepted that send their requests later (predictBatch's chunks). */
  private readonly holds = new Map<string, number>();
  /** Resolvers waiting for no call at all to be outstanding. */
  private quietWaiters: (() => void)[] = [];
  private deaths: number[] = [];
  private lostError: WorkerLostError | undefined;
  private requestIds = 0;
  state: SupervisorState = 'ready';
  readonly counters: SupervisorStats = { losses: 0, recoveries: 0, replays: 0, lostRequests: 0 };

  constructor(
    first: Connection,
    ladder: Backend[],
    private readonly start: Starter,
    private readonly events: SupervisorEvents,
    opts: RecoveryOptions = {},
  ) {
    this.conn = first;
    this.ladder = ladder.slice(ladder.indexOf(first.backend));
    this.opts = { ...RECOVERY_DEFAULTS, ...opts };
    this.readyGate.resolve();
    this.watch(first);
  }

  /** The backend of the engine in use (the last one, while recovering). */
  get backend(): Backend {
    return this.conn.backend;
  }

  nextRequestId(): number {
    return ++this.requestIds;
  }

  private watch(conn: Connection): void {
    void conn.gone.then((loss) => {
      if (conn === this.conn && this.state === 'ready') void this.onLoss(loss);
    });
  }

  /**
   * Runs one call on the engine as a request: it settles with the engine's answer, or
   * ABORTED / TIMEOUT as soon as `opts.signal` fires or `opts.timeoutMs` passes (the engine
   * is told to drop it), or WORKER_LOST when it cannot be answered. A loss of the engine
   * sends it again, once, to the next engine.
   */
  request<T, P = undefined>(
    opts: (RequestOptions & { what?: string; control?: RequestControl }) | undefined,
    call: {
      modelId?: string;
      replayable: boolean;
      /** The payload, being prepared (inputs decoded); the call counts as accepted from now on. */
      prepared?: Promise<P>;
      send: (engine: EngineClient, requestId: number, prepared: P) => Promise<T>;
      release?: (prepared: P) => void;
    },
  ): Promise<T> {
    const signal = opts?.signal;
    const what = opts?.what ?? 'The request';
    if (this.state === 'terminated') return Promise.reject(disposedError('The runtime'));
    if (this.lostError) return Promise.reject(this.lostError);
    if (signal?.aborted) return Promise.reject(new RequestError('ABORTED', `${what} was aborted before it was sent`));
    if (opts?.timeoutMs !== undefined && !(opts.timeoutMs > 0)) {
      return Promise.reject(new InputError(`timeoutMs must be a number > 0, got ${opts.timeoutMs}`));
    }
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const prepared = call.prepared ?? Promise.resolve(undefined);
      // A rejection here is the call's own failure, reported by dispatch.
      prepared.catch(() => undefined);
      const c: Call = {
        modelId: call.modelId,
        requestId: this.nextRequestId(),
        prepared,
        send: (engine, id, p) => call.send(engine, id, p as P),
        release: call.release && ((p) => call.release?.(p as P)),
        replayable: call.replayable,
        replays: 0,
        gen: -1,
        done: false,
        resolve: (v) => {
          cleanup();
          resolve(v as T);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const stop = (err: InpageError) => {
        if (c.done) return;
        this.finish(c);
        c.reject(err);
        if (c.gen === this.gen && this.state === 'ready') void this.conn.engine.cancel(c.requestId).catch(() => undefined);
      };
      const onAbort = () => stop(new RequestError('ABORTED', `${what} was aborted`));
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (opts?.control) opts.control.stop = stop;
      if (opts?.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        timer = setTimeout(() => stop(new RequestError('TIMEOUT', `${what} took longer than ${ms} ms`, { timeoutMs: ms })), ms);
      }
      this.calls.add(c);
      void this.dispatch(c);
    });
  }

  /** Sends a call once the engine is ready; answers from an engine that has since been lost are dropped. */
  private async dispatch(c: Call): Promise<void> {
    let prepared: unknown;
    try {
      prepared = await c.prepared;
      await this.readyGate.promise;
    } catch (e) {
      if (!c.done) this.fail(c, e);
      return;
    }
    if (c.done) return;
    const gen = this.gen;
    c.gen = gen;
    let value: unknown;
    try {
      value = await c.send(this.conn.engine, c.requestId, prepared);
    } catch (e) {
      if (c.done || gen !== this.gen) return;
      this.fail(c, e);
      return;
    }
    if (c.done || gen !== this.gen) return;
    this.finish(c);
    c.resolve(value);
  }

  private fail(c: Call, e: unknown): void {
    this.finish(c);
    c.reject(toInpageError(e, 'INFERENCE_FAILED'));
  }

  /** Marks a call settled and wakes whoever waits for its model to be idle. */
  private finish(c: Call): void {
    c.done = true;
    this.calls.delete(c);
    if (c.release) void c.prepared.then(c.release, () => undefined);
    if (this.calls.size === 0 && this.quietWaiters.length) {
      const waiters = this.quietWaiters;
      this.quietWaiters = [];
      for (const w of waiters) w();
    }
    if (c.modelId !== undefined) this.wake(c.modelId);
  }

  private wake(modelId: string): void {
    const waiters = this.idleWaiters.get(modelId);
    if (!waiters || this.busy(modelId)) return;
    this.idleWaiters.delete(modelId);
    for (const w of waiters) w();
  }

  private busy(modelId: string): boolean {
    if (this.holds.has(modelId)) return true;
    for (const c of this.calls) if (c.modelId === modelId) return true;
    return false;
  }

  /** Calls for `modelId` outstanding here (accepted, sent or waiting to be). */
  outstanding(modelId: string): number {
    let n = this.holds.get(modelId) ?? 0;
    for (const c of this.calls) if (c.modelId === modelId) n++;
    return n;
  }

  /**
   * Counts a call accepted for `modelId` that sends its requests over time (predictBatch):
   * `idle(modelId)` waits for the returned release too.
   */
  hold(modelId: string): () => void {
    this.holds.set(modelId, (this.holds.get(modelId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.holds.get(modelId) ?? 1) - 1;
      if (n > 0) this.holds.set(modelId, n);
      else this.holds.delete(modelId);
      this.wake(modelId);
    };
  }

  /** Resolves once no call for `modelId` is outstanding (the page-side half of draining a model). */
  idle(modelId: string): Promise<void> {
    if (!this.busy(modelId)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.idleWaiters.get(modelId) ?? [];
      list.push(resolve);
      this.idleWaiters.set(modelId, list);
    });
  }

  /** Whether no call at all is outstanding. */
  get quiet(): boolean {
    return this.calls.size === 0;
  }

  /** Resolves the next time no call at all is outstanding (at once when none is). */
  whenQuiet(): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  /** A model is loaded: after a loss it is loaded again, from the same request (cache, URL or the picked files). */
  loaded(req: LoadRequest): void {
    this.models.set(req.id, req);
  }

  /**
   * Serves from now on through `conn`, an engine started on purpose (the backend chosen by
   * measurement) with the models it needs already loaded; the engine in use is ended. Only
   * while nothing is in flight: a call sent to the old engine would be lost with it.
   */
  adopt(conn: Connection, ladder: Backend[]): boolean {
    if (this.state !== 'ready' || [...this.calls].some((c) => c.gen >= 0)) return false;
    const old = this.conn;
    this.conn = conn;
    this.ladder = [conn.backend, ...ladder.filter((b) => b !== conn.backend)];
    this.deaths = [];
    this.gen++;
    this.watch(conn);
    old.end();
    if (old.backend !== conn.backend) this.events.backendchange(old.backend, conn.backend);
    return true;
  }

  /** The engine in use, for work that is not a request (timing it for a backend choice). */
  get connection(): Connection {
    return this.conn;
  }

  /** The models loaded in this engine (what a recovery loads again), by id. */
  get modelIds(): string[] {
    return [...this.models.keys()];
  }

  /** The request a loaded model was loaded with (what a recovery loads again). */
  loadRequest(modelId: string): LoadRequest | undefined {
    return this.models.get(modelId);
  }

  /**
   * A loaded model's settings changed (engine.configure): its stored request takes them, so
   * the model loaded again after a loss serves with them too.
   */
  amend(modelId: string, settings: ModelSettings): void {
    const req = this.models.get(modelId);
    if (!req) return;
    const next: LoadRequest = { ...req };
    if (settings.postprocess) next.postprocess = settings.postprocess;
    if (settings.reference === null) delete next.reference;
    else if (settings.reference) next.reference = settings.reference;
    this.models.set(modelId, next);
  }

  /** A model is disposed: it is not loaded again. */
  forget(modelId: string): void {
    this.models.delete(modelId);
  }

  private async onLoss(loss: LossInfo): Promise<void> {
    const lostConn = this.conn;
    const from = lostConn.backend;
    this.gen++;
    this.state = 'recovering';
    this.readyGate = deferred();
    this.counters.losses++;
    lostConn.end();
    this.events.lost(loss, from);
    const t0 = now();
    const resend = this.takeInFlight(loss);
    this.deaths.push(t0);

    for (;;) {
      this.deaths = this.deaths.filter((t) => t0 - t < this.opts.windowMs);
      if (this.deaths.length >= this.opts.maxRestarts) {
        // This backend keeps dying: go down the ladder.
        this.ladder = this.ladder.slice(this.ladder.indexOf(this.conn.backend) + 1);
        this.deaths = [];
      }
      if (this.ladder.length === 0) return this.giveUp(loss, `it was lost ${this.counters.losses} times and no backend of the ladder is left`);
      let conn: Connection;
      try {
        conn = await this.start(this.ladder);
      } catch (e) {
        return this.giveUp(loss, `no new engine could start: ${toInpageError(e, 'BACKEND_UNAVAILABLE').message}`);
      }
      if (this.ended()) {
        conn.end();
        return;
      }
      this.conn = conn;
      const died = await this.reload(conn);
      if (this.ended()) return;
      if (!died) break;
      // The new engine died while loading the models: count it and start again.
      this.counters.losses++;
      conn.end();
      this.deaths.push(now());
    }

    this.state = 'ready';
    this.counters.recoveries++;
    this.counters.replays += resend.length;
    this.watch(this.conn);
    this.readyGate.resolve();
    if (this.conn.backend !== from) this.events.backendchange(from, this.conn.backend);
    this.events.recovered(this.conn.backend, now() - t0, resend.length);
    for (const c of resend) void this.dispatch(c);
  }

  /**
   * The calls the lost engine held: each is sent again once; one already replayed, or whose
   * inputs were transferred, fails with WORKER_LOST.
   */
  private takeInFlight(loss: LossInfo): Call[] {
    const resend: Call[] = [];
    for (const c of [...this.calls]) {
      if (c.gen < 0) continue; // not sent yet: it waits for the gate
      if (!c.replayable || c.replays >= 1) {
        this.counters.lostRequests++;
        const why = c.replayable ? 'it was in flight through two engine losses' : 'its inputs were transferred (transferInputs: true), so nothing was left to send again';
        this.finish(c);
        c.reject(new WorkerLostError(`The engine was lost (${loss.message}) and the request could not be replayed: ${why}`, { cause: loss.cause }));
        continue;
      }
      c.replays++;
      c.gen = -1;
      resend.push(c);
    }
    return resend;
  }

  /** Loads every model again on `conn`; resolves true when `conn` died meanwhile. */
  private async reload(conn: Connection): Promise<boolean> {
    const died = conn.gone.then(() => true as const);
    for (const [id, req] of [...this.models]) {
      if (!this.models.has(id)) continue;
      const result = await Promise.race([
        conn.engine.load({ ...req, requestId: this.nextRequestId() }).then(
          (info) => ({ info }),
          (error: unknown) => ({ error }),
        ),
        died,
      ]);
      if (result === true) return true;
      if (this.ended()) return false;
      if ('info' in result) {
        this.events.reloaded(id, result.info);
        continue;
      }
      const err = new WorkerLostError(`${req.name}@${req.version} could not be loaded again after the engine was lost: ${toInpageError(result.error, 'MODEL_LOAD_FAILED').message}`);
      this.models.delete(id);
      this.events.unloadable(id, err);
      for (const c of [...this.calls]) {
        if (c.modelId !== id) continue;
        this.counters.lostRequests++;
        this.finish(c);
        c.reject(err);
      }
    }
    return false;
  }

  /** Whether terminate() was called (state changes behind awaits). */
  private ended(): boolean {
    return this.state === 'terminated';
  }

  /** Nothing is left to serve on: every pending and later call fails with WORKER_LOST at once. */
  private giveUp(loss: LossInfo, why: string): void {
    this.state = 'lost';
    this.lostError = new WorkerLostError(`The inpage engine is lost: ${why} (last: ${loss.message})`, { cause: loss.cause });
    this.readyGate.reject(this.lostError);
    for (const c of [...this.calls]) {
      this.counters.lostRequests++;
      this.finish(c);
      c.reject(this.lostError);
    }
  }

  /**
   * Ends everything: every pending call rejects with DISPOSED, the engine frees its models
   * (given 2 s to do so) and its worker is terminated.
   */
  async terminate(): Promise<void> {
    if (this.state === 'terminated') return;
    const wasReady = this.state === 'ready';
    this.state = 'terminated';
    const err = disposedError('The runtime');
    this.readyGate.reject(err);
    for (const c of [...this.calls]) {
      this.finish(c);
      c.reject(err);
    }
    const conn = this.conn;
    try {
      if (wasReady) {
        await Promise.race([conn.engine.shutdown(), conn.gone, new Promise((r) => setTimeout(r, 2000))]);
      }
    } catch {
      // A failing shutdown still ends the worker below.
    } finally {
      conn.end();
    }
  }
}
