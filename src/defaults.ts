/**
 * Defaults that the code reads and the JSDoc names, in one place (a unit test holds the
 * two together).
 */
import type { Backend } from './types.js';

/** Every backend inpage knows, fastest first where a real GPU is present. */
export const BACKENDS: readonly Backend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
/** `backends` of `createRuntime()`: chosen per model by timing it (see RuntimeOptions.backends). */
export const DEFAULT_BACKENDS: Backend[] | 'auto' = 'auto';
/** `spec.batching` where the model can batch. */
export const DEFAULT_BATCHING = { maxBatchSize: 8, maxQueueDelayMs: 0 } as const;
/** `spec.maxQueue`. */
export const DEFAULT_MAX_QUEUE = 1024;
/** `predictBatch`'s `batchSize`: items sent to the engine in one call. */
export const PREDICT_BATCH_SIZE = 8;
/** `spec.stallTimeoutMs`: a download with no byte for this long is retried, then fails. */
export const STALL_TIMEOUT_MS = 30_000;
/** `createRuntime({ recovery })`. */
export const RECOVERY_DEFAULTS = { maxRestarts: 3, windowMs: 60_000 } as const;
/** Bins of the top-1 confidence histogram in `stats().confidence` and of the ECE in `evaluate`. */
export const CONFIDENCE_BINS = 10;
/** PSI over which `stats().drift.alarm` is raised (the usual "significant shift" level). */
export const DRIFT_ALARM_PSI = 0.25;
/** Predictions the stats window must hold before `stats().drift.alarm` can be raised. */
export const DRIFT_MIN_SAMPLES = 30;
/** `runtime.shadow`: shadow requests in flight at once; beyond it a request is not shadowed (counted as `skipped`). */
export const SHADOW_MAX_IN_FLIGHT = 4;
/**
 * Most threads tfjs's WASM backend can run: its module starts a pool of this many pthread
 * workers. `createRuntime({ wasmThreads })` defaults to `navigator.hardwareConcurrency`, at most this.
 */
export const MAX_WASM_THREADS = 8;
/**
 * On WebGL and WebGPU, batch buckets other than 1 are warmed (their shaders compiled) in the
 * background, one at a time, once a model has had no request for this long (ms), or four
 * times the warm-up's expected run time where that is longer.
 */
export const BACKGROUND_WARMUP_IDLE_MS = 500;
