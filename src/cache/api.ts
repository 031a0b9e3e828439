/**
 * The page's view of the model cache: list, delete, clear, usage. It needs no
 * runtime: it reads the same IndexedDB database the worker fills.
 */
import type { CacheEntry } from '../types.js';
import { clearModels, deleteModels, listModels, type StoredModel } from './store.js';

/** inpage's IndexedDB cache of model files (what `spec.cache: true` stores). */
export interface ModelCache {
  /** Every cached model, oldest first. */
  list(): Promise<CacheEntry[]>;
  /**
   * Deletes the cached models of a name (or of a URL, for models cached without a
   * name), or only its version `version`. Resolves with how many were deleted.
   * @example await cache.delete('emotion', '1')
   */
  delete(name: string, version?: string): Promise<number>;
  /** Deletes every cached model. */
  clear(): Promise<void>;
  /** Bytes the cached models take, summed over their files. */
  usage(): Promise<number>;
}

function entry(r: StoredModel): CacheEntry {
  return { key: r.key, name: r.name, version: r.version, url: r.url, bytes: r.bytes, files: r.files, storedAt: r.storedAt };
}

/**
 * The model cache, usable without a runtime. Every method may reject with
 * `CACHE_FAILED` (IndexedDB unavailable, say).
 * @example
 * import { cache } from 'inpage';
 * for (const m of await cache.list()) console.log(m.name, m.version, m.bytes);
 * await cache.delete('emotion', '1');
 */
export const cache: ModelCache = {
  async list() {
    return (await listModels()).sort((a, b) => a.storedAt - b.storedAt).map(entry);
  },
  delete(name, version) {
    return deleteModels((r) => (r.name === name || r.url === name || r.key === name) && (version === undefined || r.version === version));
  },
  clear: clearModels,
  async usage() {
    return (await listModels()).reduce((n, r) => n + r.bytes, 0);
  },
};
