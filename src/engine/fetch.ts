/**
 * Downloading a model's files: model.json and its shards, as bytes, with progress
 * and retries. Nothing here knows tfjs; `loader.ts` turns the bytes into a model.
 */
import { STALL_TIMEOUT_MS } from '../defaults.js';
import { ModelLoadError, toInpageError } from '../errors.js';
import type { LoadProgress } from '../types.js';

/** A model.json as tfjs writes it (only what inpage reads). */
export interface ModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

/** The bytes of every file of a model, keyed by path relative to model.json's folder. */
export interface ModelFiles {
  /** Name of model.json within `files` (usually `model.json`). */
  modelFile: string;
  files: Map<string, ArrayBuffer>;
}

export interface FetchOptions {
  requestInit?: RequestInit | undefined;
  onProgress?: ((p: LoadProgress) => void) | undefined;
  /** Attempts per file for network errors and 5xx/408/429 answers. Default 3. */
  retries?: number;
  /** First backoff in ms, doubled each retry. Default 200. */
  backoffMs?: number;
  /** Checks each file's bytes as soon as they are in (model.json before it is parsed); a throw fails the load. */
  verify?: ((file: string, bytes: ArrayBuffer) => Promise<void>) | undefined;
  /** Stops every download at once; the load rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** A download that receives no byte for this long (ms) is retried, then fails. Default 30,000. */
  stallTimeoutMs?: number | undefined;
  /**
   * The folder weight paths resolve against and must stay inside (same origin, same path
   * prefix). Default: model.json's own folder.
   */
  weightsUrl?: string | undefined;
}

/** Bytes per element of each dtype as stored. */
export const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, string: 0, complex64: 8 };

/** Parses and checks a model.json; `file` names it in errors. */
export function parseModelJson(bytes: ArrayBuffer, file: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ModelLoadError(`${file} is not JSON: ${(e as Error).message}`, { file });
  }
  const j = json as ModelJson;
  if (!j || typeof j !== 'object' || !j.modelTopology) {
    throw new ModelLoadError(`${file} is not a TensorFlow.js model: it has no modelTopology`, { file });
  }
  if (j.weightsManifest !== undefined && !Array.isArray(j.weightsManifest)) {
    throw new ModelLoadError(`${file} has a weightsManifest that is not a list`, { file });
  }
  return j;
}

/** Shard paths in manifest order: the order their bytes are concatenated. */
export function shardPaths(json: ModelJson): string[] {
  return (json.weightsManifest ?? []).flatMap((g) => g.paths);
}

/** Bytes the weights take as stored (quantized size where quantized). */
export function weightBytes(json: ModelJson): number {
  let n = 0;
  for (const g of json.weightsManifest ?? []) {
    for (const w of g.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      n += size * (BYTES[w.quantization?.dtype ?? w.dtype] ?? 4);
    }
  }
  return n;
}

/**
 * Resolves a shard path against model.json's URL (or `weightsUrl`, when given). The result
 * must stay inside that folder on its origin: a manifest cannot make inpage fetch
 * `../other/secret.bin` or a file of another site.
 * @throws ModelLoadError naming the path when it escapes
 */
export function resolveFile(modelUrl: string, path: string, weightsUrl?: string): string {
  const base = new URL(weightsUrl ?? modelUrl);
  const folder = base.pathname.endsWith('/') || weightsUrl === undefined ? base.pathname.replace(/[^/]*$/, '') : `${base.pathname}/`;
  let resolved: URL;
  try {
    resolved = new URL(path, new URL(folder, base));
  } catch {
    throw new ModelLoadError(`Weight path ${JSON.stringify(path)} is not a valid URL path`, { file: path });
  }
  if (resolved.origin !== base.origin || !resolved.pathname.startsWith(folder)) {
    throw new ModelLoadError(
      `Weight path ${JSON.stringify(path)} resolves to ${resolved.href}, outside the model's folder ${base.origin}${folder}; ` +
        'give spec.weightsUrl (a folder) to load weights from elsewhere',
      { file: path, url: resolved.href },
    );
  }
  return resolved.href;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** The reason a fetch attempt was stopped for lack of bytes. */
class Stalled extends Error {}
const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Downloads one file with retries on transient failures. A non-OK final status
 * fails with MODEL_LOAD_FAILED naming the file.
 */
export async function fetchFile(
  url: string,
  file: string,
  opts: FetchOptions,
  onBytes?: (n: number) => void,
): Promise<ArrayBuffer> {
  const attempts = Math.max(1, opts.retries ?? 3);
  const stallMs = opts.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  let backoff = opts.backoffMs ?? 200;
  let lastError: unknown;
  const outer = opts.signal;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (outer?.aborted) throw toInpageError(outer.reason, 'ABORTED');
    let received = 0;
    // One controller per attempt: the caller's abort, or no byte for `stallMs`, ends it.
    const attemptCtl = new AbortController();
    const onOuterAbort = () => attemptCtl.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let stallTimer: ReturnType<typeof setTimeout> | undefined;
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => attemptCtl.abort(new Stalled(`no byte received for ${stallMs} ms`)), stallMs);
    };
    try {
      armStall();
      const res = await fetch(url, { ...opts.requestInit, signal: attemptCtl.signal });
      if (!res.ok) {
        clearTimeout(stallTimer);
        if (RETRY_STATUS.has(res.status) && attempt < attempts) {
          lastError = new Error(`HTTP ${res.status}`);
          await sleep(backoff, outer);
          backoff *= 2;
          continue;
        }
        throw new ModelLoadError(`Could not download ${file}: HTTP ${res.status} ${res.statusText} from ${url}`, {
          file, url, status: res.status,
        });
      }
      if (!res.body) return await res.arrayBuffer();
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        armStall();
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.byteLength;
        onBytes?.(value.byteLength);
      }
      return concat(chunks, received);
    } catch (e) {
      if (e instanceof ModelLoadError) throw e;
      if (outer?.aborted) throw toInpageError(outer.reason, 'ABORTED');
      // A network failure (fetch's TypeError), a connection cut mid-body, or a stall: retry.
      lastError = attemptCtl.signal.reason instanceof Stalled ? attemptCtl.signal.reason : e;
      if (received && onBytes) onBytes(-received);
      if (attempt < attempts) {
        await sleep(backoff, outer).catch((reason: unknown) => {
          throw toInpageError(reason, 'ABORTED');
        });
        backoff *= 2;
      }
    } finally {
      clearTimeout(stallTimer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }
  throw new ModelLoadError(
    `Could not download ${file} from ${url} after ${attempts} attempts: ${(lastError as Error)?.message ?? lastError}`,
    { file, url },
  );
}

function concat(chunks: Uint8Array[], total: number): ArrayBuffer {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out.buffer;
}

/** Downloads model.json and every shard it lists, reporting bytes as they arrive. */
export async function fetchModelFiles(url: string, opts: FetchOptions): Promise<ModelFiles> {
  const modelFile = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'model.json');
  const files = new Map<string, ArrayBuffer>();
  let loaded = 0;
  let total = 0;
  const report = (file: string) => opts.onProgress?.({ loaded, total: Math.max(total, loaded), file });

  const jsonBytes = await fetchFile(url, modelFile, opts);
  await opts.verify?.(modelFile, jsonBytes);
  const json = parseModelJson(jsonBytes, modelFile);
  files.set(modelFile, jsonBytes);
  loaded = jsonBytes.byteLength;
  total = loaded + weightBytes(json);
  report(modelFile);

  const paths = shardPaths(json);
  // Every path is checked before any byte of weights is fetched.
  const urls = new Map(paths.map((p) => [p, resolveFile(url, p, opts.weightsUrl)]));
  // A few at a time: parallel enough to fill the pipe, few enough to keep memory flat.
  const queue = [...paths];
  const worker = async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const path = p;
      try {
        const buf = await fetchFile(urls.get(path) as string, path, opts, (n) => {
          loaded += n;
          report(path);
        });
        await opts.verify?.(path, buf);
        files.set(path, buf);
      } catch (e) {
        // The load has failed: the other downloaders stop after their current file.
        queue.length = 0;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, paths.length) }, worker));
  if (loaded !== total) {
    loaded = total;
    report(modelFile);
  }
  return { modelFile, files };
}

/** Reads model.json and its shards from files the user picked. */
export async function readPickedFiles(
  picked: File[],
  onProgress?: (p: LoadProgress) => void,
  verify?: FetchOptions['verify'],
): Promise<ModelFiles> {
  const jsons = picked.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const modelJson = jsons.find((f) => f.name === 'model.json') ?? (jsons.length === 1 ? jsons[0] : undefined);
  if (!modelJson) {
    throw new ModelLoadError(
      jsons.length
        ? `Several .json files were given (${jsons.map((f) => f.name).join(', ')}); name the model's one model.json`
        : `No model.json among the files given (${picked.map((f) => f.name).join(', ') || 'none'})`,
    );
  }
  const read = async (f: File) => {
    try {
      return await f.arrayBuffer();
    } catch (e) {
      throw toInpageError(e, 'MODEL_LOAD_FAILED', `Could not read ${f.name}`);
    }
  };
  const jsonBytes = await read(modelJson);
  await verify?.(modelJson.name, jsonBytes);
  const json = parseModelJson(jsonBytes, modelJson.name);
  const files = new Map<string, ArrayBuffer>([[modelJson.name, jsonBytes]]);
  const byName = new Map(picked.map((f) => [f.name, f]));
  const total = picked.reduce((n, f) => n + f.size, 0);
  let loaded = jsonBytes.byteLength;
  for (const path of shardPaths(json)) {
    const base = path.split('/').pop() ?? path;
    const f = byName.get(path) ?? byName.get(base);
    if (!f) {
      throw new ModelLoadError(`Missing weight file ${path}: model.json lists it but it was not among the files given`, {
        file: path,
      });
    }
    const bytes = await read(f);
    await verify?.(path, bytes);
    files.set(path, bytes);
    loaded += f.size;
    onProgress?.({ loaded, total, file: path });
  }
  return { modelFile: modelJson.name, files };
}
