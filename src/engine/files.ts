/**
 * Where a model's bytes come from: the user's files, inpage's IndexedDB cache, or the
 * network. Every file is checked against `spec.integrity` before use; downloaded
 * files are stored in the cache only once all of them are in and checked.
 */
import { IntegrityError, ModelLoadError, type InpageError } from '../errors.js';
import { canHash, checkIntegrityMap, digest, verifyFile } from '../integrity.js';
import type { LoadRequest } from '../protocol.js';
import type { IntegrityMap, LoadProgress } from '../types.js';
import { cacheError, deleteModels, getModel, putModel, type StoredModel } from '../cache/store.js';
import { fetchModelFiles, parseModelJson, readPickedFiles, shardPaths, weightBytes, type ModelFiles } from './fetch.js';

export interface LoadedFiles {
  files: ModelFiles;
  fromCache: boolean;
  /**
   * Stores downloaded files in the cache when `req.cache` is set (a no-op otherwise).
   * Never rejects: resolves with the reason the cache could not be used, if any
   * (including a failed read before the download).
   */
  persist(): Promise<InpageError | undefined>;
  /** Takes back what `persist` stored: the load failed after all. */
  unpersist(): Promise<void>;
}

const nothing = async (): Promise<undefined> => undefined;

/** The cache key of a request: `name@version`, or `url@version` when the spec gave no name. */
export function cacheKeyOf(req: LoadRequest): string {
  return req.cacheKey ?? `${req.name}@${req.version}`;
}

/**
 * Weight files must hold exactly the bytes their manifest group describes: a server
 * answering a shard with an HTML page, or a cut file, fails here, naming the files,
 * instead of deep in tfjs (or in the cache).
 */
export function checkShardSizes(files: ModelFiles): void {
  const json = parseModelJson(files.files.get(files.modelFile) as ArrayBuffer, files.modelFile);
  for (const group of json.weightsManifest ?? []) {
    if (group.weights.some((w) => w.dtype === 'string')) continue;
    const want = weightBytes({ weightsManifest: [group] });
    const got = group.paths.reduce((n, p) => n + (files.files.get(p)?.byteLength ?? 0), 0);
    if (got !== want) {
      throw new ModelLoadError(
        `Weight file${group.paths.length > 1 ? 's' : ''} ${group.paths.join(', ')} hold${group.paths.length > 1 ? '' : 's'} ${got} bytes; ${files.modelFile} describes ${want}`,
        { file: group.paths[0], files: group.paths, bytes: got, expected: want },
      );
    }
  }
}

/**
 * Reads a cached copy and checks it again: every file's size, and its hash against
 * `integrity` when given, else against the hash taken when it was stored.
 * @throws IntegrityError when a cached file does not match (the caller drops the copy)
 */
async function readCached(key: string, integrity: IntegrityMap | undefined): Promise<ModelFiles | undefined> {
  const hit = await getModel(key);
  if (!hit) return undefined;
  const { record, files } = hit;
  for (const [i, path] of record.files.entries()) {
    const bytes = files.get(path) as ArrayBuffer;
    if (bytes.byteLength !== record.sizes[i]) {
      throw new IntegrityError(`The cached ${path} of ${key} has ${bytes.byteLength} bytes, not the ${record.sizes[i]} stored`, { file: path });
    }
    const stored = record.hashes?.[path];
    const sha = stored !== undefined && canHash() ? await digest(bytes) : undefined;
    if (sha !== undefined && sha !== stored) {
      throw new IntegrityError(`The cached ${path} of ${key} has changed since it was stored`, { file: path, expected: stored, actual: sha });
    }
    if (integrity) await verifyFile(path, bytes, integrity, sha);
  }
  const out = { modelFile: record.modelFile, files };
  try {
    checkShardSizes(out);
  } catch (e) {
    throw new IntegrityError(`The cached copy of ${key} is not whole: ${(e as Error).message}`, (e as ModelLoadError).details);
  }
  return out;
}

/** Reads or downloads every file of the model, checking each against `req.integrity`. */
export async function loadModelFiles(req: LoadRequest, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<LoadedFiles> {
  const integrity = req.integrity;
  if (integrity) checkIntegrityMap(integrity);
  const caching = req.cache && !req.files;
  // sha256 of each file, taken once: checked against the map and stored with the copy.
  const hashes = new Map<string, string>();
  const hashing = caching && canHash();
  const verify = integrity || hashing
    ? async (file: string, bytes: ArrayBuffer) => {
      const sha = hashing ? await digest(bytes) : undefined;
      if (integrity) await verifyFile(file, bytes, integrity, sha);
      if (sha !== undefined) hashes.set(file, sha);
    }
    : undefined;

  if (req.files) {
    const files = await readPickedFiles(req.files, onProgress, verify);
    checkShardSizes(files);
    return { files, fromCache: false, persist: nothing, unpersist: nothing };
  }
  const url = req.url;
  if (!url) throw new ModelLoadError('Nothing to load: give spec.url or spec.files');
  const key = cacheKeyOf(req);

  let readError: InpageError | undefined;
  if (caching) {
    try {
      const files = await readCached(key, integrity);
      if (files) {
        const bytes = [...files.files.values()].reduce((n, b) => n + b.byteLength, 0);
        onProgress?.({ loaded: bytes, total: bytes, file: files.modelFile });
        return { files, fromCache: true, persist: nothing, unpersist: nothing };
      }
    } catch (e) {
      readError = cacheError(e, `Could not read ${key} from the cache`);
      // A copy that fails its check is dropped; the download below replaces it.
      if (readError.code === 'INTEGRITY_MISMATCH') await deleteModels((r) => r.key === key).catch(() => 0);
    }
  }

  let files: ModelFiles;
  try {
    files = await fetchModelFiles(url, {
      requestInit: req.requestInit, onProgress, verify, signal, stallTimeoutMs: req.stallTimeoutMs, weightsUrl: req.weightsUrl,
    });
    checkShardSizes(files);
  } catch (e) {
    if (readError?.code === 'INTEGRITY_MISMATCH') {
      throw new IntegrityError(`${readError.message}, and downloading it again failed: ${(e as Error).message}`, readError.details);
    }
    throw e;
  }

  let stored = false;
  return {
    files,
    fromCache: false,
    async persist() {
      if (!caching) return undefined;
      // Manifest order, not the order the downloads finished in.
      const paths = [files.modelFile, ...shardPaths(parseModelJson(files.files.get(files.modelFile) as ArrayBuffer, files.modelFile))];
      const sizes = paths.map((p) => (files.files.get(p) as ArrayBuffer).byteLength);
      const record: StoredModel = {
        key, name: req.name, version: req.version, url, modelFile: files.modelFile, files: paths, sizes,
        bytes: sizes.reduce((a, b) => a + b, 0), storedAt: Date.now(),
      };
      if (paths.every((p) => hashes.has(p))) record.hashes = Object.fromEntries(paths.map((p) => [p, hashes.get(p) as string]));
      try {
        await putModel(record, files.files);
        stored = true;
        return readError;
      } catch (e) {
        return cacheError(e, `Could not store ${key} in the cache`);
      }
    },
    async unpersist() {
      if (stored) await deleteModels((r) => r.key === key).catch(() => 0);
    },
  };
}
