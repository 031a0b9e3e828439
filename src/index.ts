/**
 * inpage: in-page model serving. Load a converted TensorFlow.js model and predict
 * in a Web Worker on WebGPU, WebGL, WASM or CPU.
 * @packageDocumentation
 */
export { createRuntime, DEFAULT_BACKENDS } from './client/runtime.js';
export type { Runtime, RuntimeOptions } from './client/runtime.js';
export type { LabelOf, Model, ModelSchema, RunInputs, RunOutputs } from './client/model.js';
export type { ImageSource } from './client/inputs.js';
export { cache } from './cache/api.js';
export type { ModelCache } from './cache/api.js';
export {
  InpageError, InputError, ModelLoadError, IntegrityError, BackendError, RequestError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export { softmax, activate, topK, classify } from './postprocess.js';
export type * from './types.js';
