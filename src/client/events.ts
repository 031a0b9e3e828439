/**
 * The runtime's events, typed. A runtime is an EventTarget; these are what it dispatches.
 */
import type { Backend } from '../types.js';
import type { LossInfo } from './supervisor.js';

/** The engine is gone (its worker stopped, or its GPU was lost); calls wait for the recovery. */
export class RuntimeLostEvent extends Event {
  constructor(
    /** What ended the engine: `worker-exit`, `worker-error`, `webgl-context-lost`, `webgpu-device-lost`. */
    readonly cause: LossInfo['cause'],
    /** The backend it was serving on. */
    readonly backend: Backend,
    readonly message: string,
  ) {
    super('lost');
  }
}

/** Serving again after a loss. */
export class RuntimeRecoveredEvent extends Event {
  constructor(
    /** The backend now in use. */
    readonly backend: Backend,
    /** From the loss to serving again, in ms. */
    readonly ms: number,
    /** Requests sent again to the new engine. */
    readonly replayed: number,
  ) {
    super('recovered');
  }
}

/** The backend in use changed (a recovery went down the ladder). */
export class BackendChangeEvent extends Event {
  constructor(readonly from: Backend, readonly to: Backend) {
    super('backendchange');
  }

  /** The backend now in use (same as `to`). */
  get backend(): Backend {
    return this.to;
  }
}

/** Event types of a runtime and their classes. */
export interface RuntimeEventMap {
  lost: RuntimeLostEvent;
  recovered: RuntimeRecoveredEvent;
  backendchange: BackendChangeEvent;
}
