/**
 * inpage: in-page model serving. Load a converted TensorFlow.js model and predict
 * in a Web Worker on WebGPU, WebGL, WASM or CPU.
 * @packageDocumentation
 */
export { createRuntime } from './client/runtime.js';
export { DEFAULT_BACKENDS } from './defaults.js';
export type { Runtime, RuntimeOptions, RuntimeStats } from './client/runtime.js';
export type { LabelOf, Model, ModelSchema, RunInputs, RunOutputs, SampleSource } from './client/model.js';
export type { ImageSource } from './client/inputs.js';
export { cache } from './cache/api.js';
export type { ModelCache } from './cache/api.js';
export {
  InpageError, InputError, ModelLoadError, IntegrityError, BackendError, RequestError, WorkerLostError,
} from './errors.js';
export type { ErrorCode, RequestErrorCode } from './errors.js';
export { RuntimeLostEvent, RuntimeRecoveredEvent, BackendChangeEvent } from './client/events.js';
export type { RuntimeEventMap } from './client/events.js';
export type { RecoveryOptions, SupervisorStats } from './client/supervisor.js';
export { softmax, activate, topK, classify } from './postprocess.js';
export {
  evaluateHead, fitTemperature, chooseThreshold, crossFit, reliability, nllAt, eceAt, logSoftmax, toLogits,
} from './ops/metrics.js';
export { psi } from './ops/drift.js';
export { renderMetrics } from './ops/prometheus.js';
export type { MetricFamily } from './ops/prometheus.js';
export { CONFIDENCE_BINS, DRIFT_ALARM_PSI, DRIFT_MIN_SAMPLES } from './defaults.js';
export type * from './types.js';
