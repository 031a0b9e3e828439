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
  'WORKER_LOST',
  'NON_FINITE_OUTPUT',
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
  declare readonly code: 'INPUT_INVALID';
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('INPUT_INVALID', message, details, options);
  }
}

/** A model that could not be downloaded, read or built. */
export class ModelLoadError extends InpageError {
  override name = 'ModelLoadError';
  declare readonly code: 'MODEL_LOAD_FAILED';
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('MODEL_LOAD_FAILED', message, details, options);
  }
}

/** A file whose bytes do not match the integrity map. */
export class IntegrityError extends InpageError {
  override name = 'IntegrityError';
  declare readonly code: 'INTEGRITY_MISMATCH';
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('INTEGRITY_MISMATCH', message, details, options);
  }
}

/** No backend of the ladder could start. */
export class BackendError extends InpageError {
  override name = 'BackendError';
  declare readonly code: 'BACKEND_UNAVAILABLE';
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, details, options);
  }
}

/** Codes of {@link RequestError}. */
export type RequestErrorCode = 'ABORTED' | 'TIMEOUT' | 'QUEUE_FULL';

/** A request that was cancelled (`ABORTED`), ran out of time (`TIMEOUT`) or found the queue full (`QUEUE_FULL`). */
export class RequestError extends InpageError {
  override name = 'RequestError';
  declare readonly code: RequestErrorCode;
  constructor(code: RequestErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/**
 * The engine is gone and could not be brought back: its worker died (or its GPU was lost)
 * more often than `recovery.maxRestarts` allows on every backend of the ladder, or a
 * request was in flight through two deaths in a row. Calls fail with it at once.
 */
export class WorkerLostError extends InpageError {
  override name = 'WorkerLostError';
  declare readonly code: 'WORKER_LOST';
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('WORKER_LOST', message, details, options);
  }
}

const classes = { InpageError, InputError, ModelLoadError, IntegrityError, BackendError, RequestError, WorkerLostError } as const;
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

/** The class that carries `code`: the subclass made for it, else InpageError. */
function create(name: string, code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }): InpageError {
  switch (name in classes ? name : CLASS_OF_CODE[code] ?? 'InpageError') {
    case 'InputError': return new InputError(message, details, options);
    case 'ModelLoadError': return new ModelLoadError(message, details, options);
    case 'IntegrityError': return new IntegrityError(message, details, options);
    case 'BackendError': return new BackendError(message, details, options);
    case 'RequestError': return new RequestError(code as RequestErrorCode, message, details, options);
    case 'WorkerLostError': return new WorkerLostError(message, details, options);
    default: return new InpageError(code, message, details, options);
  }
}

/** Codes that have a class of their own: an error with the code is always of that class. */
const CLASS_OF_CODE: Partial<Record<ErrorCode, ClassName>> = {
  INPUT_INVALID: 'InputError',
  MODEL_LOAD_FAILED: 'ModelLoadError',
  INTEGRITY_MISMATCH: 'IntegrityError',
  BACKEND_UNAVAILABLE: 'BackendError',
  ABORTED: 'RequestError',
  TIMEOUT: 'RequestError',
  QUEUE_FULL: 'RequestError',
  WORKER_LOST: 'WorkerLostError',
};

/** Rebuilds the class the worker threw, keeping its stack. */
export function deserializeError(s: SerializedError): InpageError {
  const e = create(s.name, s.code, s.message, s.details);
  if (s.stack) e.stack = s.stack;
  return e;
}

/**
 * Wraps a foreign error (tfjs, fetch, IndexedDB) in an InpageError with `code`, of the class
 * made for that code, keeping its message and the original as `cause`.
 */
export function toInpageError(err: unknown, code: ErrorCode, prefix?: string): InpageError {
  if (err instanceof InpageError) return err;
  // An InpageError of another copy of this module (the engine bundle on the page, with
  // worker: false) fails instanceof here; rebuild it as this copy's class.
  if (isForeignInpageError(err)) return deserializeError(err);
  const message = err instanceof Error ? err.message : String(err);
  const wrapped = create('', code, prefix ? `${prefix}: ${message}` : message, undefined, { cause: err });
  if (err instanceof Error && err.stack) wrapped.stack = err.stack;
  return wrapped;
}

function isForeignInpageError(err: unknown): err is SerializedError {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown };
  return e.name in classes && (ERROR_CODES as readonly unknown[]).includes(e.code);
}

/**
 * The same error with more context: the same class and code, `prefix` before its message,
 * `details` added, and the original kept as `cause`.
 */
export function withContext(err: unknown, fallback: ErrorCode, prefix: string, details?: Record<string, unknown>): InpageError {
  const e = toInpageError(err, fallback);
  const s = serializeError(e);
  const out = create(s.name, s.code, `${prefix}: ${s.message}`, { ...s.details, ...details }, { cause: e });
  if (s.stack) out.stack = s.stack;
  return out;
}

/** The error for a call on something already disposed or terminated. */
export function disposedError(what: string): InpageError {
  return new InpageError('DISPOSED', `${what} has been disposed; create or load a new one`);
}
