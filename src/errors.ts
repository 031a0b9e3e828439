/**
 * Every failure inpage reports is an {@link InpageError} with a stable `code`.
 * Errors thrown in the worker are sent as `{ name, code, message, stack, details }`
 * and rebuilt on the page as the same class, so `instanceof` and `code` hold there.
 */

/** Every stable error code, as a value (for checks) and as a type. */
export const ERROR_CODES = [
  'MODEL_LOAD_FAILED',
  'INPUT_INVALID',
  'BACKEND_UNAVAILABLE',
  'DISPOSED',
  'ABORTED',
  'TIMEOUT',
  'QUEUE_FULL',
  'INTEGRITY_MISMATCH',
  'CACHE_QUOTA_EXCEEDED',
  'CACHE_FAILED',
  'NOT_FOUND',
  'INFERENCE_FAILED',
  'WORKER_FAILED',
] as const;

/** Stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The base class of every error inpage throws. */
export class InpageError extends Error {
  override name = 'InpageError';
  /** A stable code to branch on; the message is for people. */
  readonly code: ErrorCode;
  /** Structured facts about the failure (the file, the input, the expected shape...). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

/** An input that does not fit the model: wrong name, shape, dtype or size. */
export class InputError extends InpageError {
  override name = 'InputError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('INPUT_INVALID', message, details);
  }
}

/** A model that could not be downloaded, read or built. */
export class ModelLoadError extends InpageError {
  override name = 'ModelLoadError';
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('MODEL_LOAD_FAILED', message, details, options);
  }
}

/** A file whose bytes do not match the integrity map. */
export class IntegrityError extends InpageError {
  override name = 'IntegrityError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('INTEGRITY_MISMATCH', message, details);
  }
}

/** No backend of the ladder could start. */
export class BackendError extends InpageError {
  override name = 'BackendError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('BACKEND_UNAVAILABLE', message, details);
  }
}

/** A request that was cancelled (`ABORTED`), ran out of time (`TIMEOUT`) or found the queue full (`QUEUE_FULL`). */
export class RequestError extends InpageError {
  override name = 'RequestError';
}

const classes = { InpageError, InputError, ModelLoadError, IntegrityError, BackendError, RequestError } as const;
type ClassName = keyof typeof classes;

/** An error as it crosses the worker boundary. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  stack?: string;
  details?: Record<string, unknown>;
}

/** Turns any thrown value into the wire form; foreign errors become `fallback`-coded InpageErrors. */
export function serializeError(err: unknown, fallback: ErrorCode = 'INFERENCE_FAILED'): SerializedError {
  const e = toInpageError(err, fallback);
  const out: SerializedError = { name: e.name, code: e.code, message: e.message };
  if (e.stack !== undefined) out.stack = e.stack;
  if (e.details !== undefined) out.details = e.details;
  return out;
}

/** Rebuilds the class the worker threw, keeping its stack. */
export function deserializeError(s: SerializedError): InpageError {
  const name = (s.name in classes ? s.name : 'InpageError') as ClassName;
  let e: InpageError;
  switch (name) {
    case 'InputError': e = new InputError(s.message, s.details); break;
    case 'ModelLoadError': e = new ModelLoadError(s.message, s.details); break;
    case 'IntegrityError': e = new IntegrityError(s.message, s.details); break;
    case 'BackendError': e = new BackendError(s.message, s.details); break;
    case 'RequestError': e = new RequestError(s.code, s.message, s.details); break;
    default: e = new InpageError(s.code, s.message, s.details);
  }
  if (s.stack) e.stack = s.stack;
  return e;
}

/** Wraps a foreign error (tfjs, fetch, IndexedDB) in an InpageError with `code`, keeping its message. */
export function toInpageError(err: unknown, code: ErrorCode, prefix?: string): InpageError {
  if (err instanceof InpageError) return err;
  // An InpageError of another copy of this module (the engine bundle on the page, with
  // worker: false) fails instanceof here; rebuild it as this copy's class.
  if (isForeignInpageError(err)) return deserializeError(err);
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = new InpageError(code, prefix ? `${prefix}: ${message}` : message, undefined, { cause: err });
  if (err instanceof Error && err.stack) wrapped.stack = err.stack;
  return wrapped;
}

function isForeignInpageError(err: unknown): err is SerializedError {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown };
  return e.name in classes && (ERROR_CODES as readonly unknown[]).includes(e.code);
}

/** The error for a call on something already disposed or terminated. */
export function disposedError(what: string): InpageError {
  return new InpageError('DISPOSED', `${what} has been disposed; create or load a new one`);
}
