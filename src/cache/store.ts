/**
 * inpage's IndexedDB cache of model files. The worker writes and reads it while
 * loading; the page lists and deletes through `cache` (src/cache/api.ts). Both run
 * this module against the same database (same origin).
 *
 * Layout: `models` holds one record per model (its key, files, sizes, hashes), `files`
 * the bytes of each file under `[modelKey, path]`. A model is written in one
 * transaction, record and bytes together, so a reader sees all of it or none.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { InpageError, toInpageError } from '../errors.js';
import type { CacheEntry, IntegrityMap } from '../types.js';

/** What the cache keeps of a model besides its bytes. */
export interface StoredModel extends CacheEntry {
  /** model.json's file name within `files`. */
  modelFile: string;
  /** Byte length of each file, parallel to `files`. */
  sizes: number[];
  /** The sha256 value of each file when stored; checked again when read. Absent without WebCrypto. */
  hashes?: IntegrityMap;
}

interface Schema extends DBSchema {
  models: { key: string; value: StoredModel };
  files: { key: [string, string]; value: ArrayBuffer };
}

/** The database name; one per origin, shared by the page and the worker. */
export const DB_NAME = 'inpage';
const DB_VERSION = 1;

/** Every file key of one model: `[key, path]` for any path (arrays sort after strings). */
function filesOf(key: string): IDBKeyRange {
  return IDBKeyRange.bound([key], [key, []]);
}

/** IndexedDB's failures as coded errors: quota is its own code. */
export function cacheError(e: unknown, what: string): InpageError {
  if (e instanceof InpageError) return e;
  const name = (e as { name?: string } | null)?.name;
  if (name === 'QuotaExceededError') {
    return new InpageError('CACHE_QUOTA_EXCEEDED', `${what}: the browser's storage quota is exhausted`, undefined, { cause: e });
  }
  return toInpageError(e, 'CACHE_FAILED', what);
}

/** Opens the database for one operation and closes it after, so no idle connection blocks an upgrade or delete. */
async function withDb<T>(what: string, work: (db: IDBPDatabase<Schema>) => Promise<T>): Promise<T> {
  if (typeof indexedDB === 'undefined') throw new InpageError('CACHE_FAILED', `${what}: IndexedDB is not available here`);
  let db: IDBPDatabase<Schema> | undefined;
  try {
    db = await openDB<Schema>(DB_NAME, DB_VERSION, {
      upgrade(d) {
        d.createObjectStore('models', { keyPath: 'key' });
        d.createObjectStore('files');
      },
      // Another tab or the worker wants a newer schema or to delete the database: let it.
      blocking() {
        db?.close();
      },
    });
    return await work(db);
  } catch (e) {
    throw cacheError(e, what);
  } finally {
    db?.close();
  }
}

/**
 * Stores a model in one transaction, replacing any earlier copy under the same key.
 * @throws InpageError `CACHE_QUOTA_EXCEEDED` or `CACHE_FAILED`; nothing is stored then
 */
export function putModel(record: StoredModel, files: Map<string, ArrayBuffer>): Promise<void> {
  return withDb(`Could not store ${record.key} in the cache`, async (db) => {
    const tx = db.transaction(['models', 'files'], 'readwrite');
    const store = tx.objectStore('files');
    // Every request is awaited together so a failed one is never an unhandled rejection.
    const writes: Promise<unknown>[] = [store.delete(filesOf(record.key))];
    for (const path of record.files) writes.push(store.put(files.get(path) as ArrayBuffer, [record.key, path]));
    writes.push(tx.objectStore('models').put(record));
    await Promise.all([...writes, tx.done]);
  });
}

/** A stored model and its bytes, or undefined when the key is not stored (or a file of it is missing). */
export function getModel(key: string): Promise<{ record: StoredModel; files: Map<string, ArrayBuffer> } | undefined> {
  return withDb(`Could not read ${key} from the cache`, async (db) => {
    const tx = db.transaction(['models', 'files']);
    const record = await tx.objectStore('models').get(key);
    if (!record) return undefined;
    const store = tx.objectStore('files');
    const bytes = await Promise.all(record.files.map((p) => store.get([key, p])));
    await tx.done;
    const files = new Map<string, ArrayBuffer>();
    for (const [i, p] of record.files.entries()) {
      const b = bytes[i];
      if (!(b instanceof ArrayBuffer)) return undefined;
      files.set(p, b);
    }
    return { record, files };
  });
}

/** Every stored model's record (no bytes are read). */
export function listModels(): Promise<StoredModel[]> {
  return withDb('Could not list the cache', (db) => db.getAll('models'));
}

/** Deletes the stored models for which `match` is true, in one transaction; resolves with how many. */
export function deleteModels(match: (r: StoredModel) => boolean): Promise<number> {
  return withDb('Could not delete from the cache', async (db) => {
    const tx = db.transaction(['models', 'files'], 'readwrite');
    const models = tx.objectStore('models');
    const doomed = (await models.getAll()).filter(match);
    const files = tx.objectStore('files');
    await Promise.all([...doomed.flatMap((r) => [models.delete(r.key), files.delete(filesOf(r.key))]), tx.done]);
    return doomed.length;
  });
}

/** Deletes every stored model. */
export function clearModels(): Promise<void> {
  return withDb('Could not clear the cache', async (db) => {
    const tx = db.transaction(['models', 'files'], 'readwrite');
    await Promise.all([tx.objectStore('models').clear(), tx.objectStore('files').clear(), tx.done]);
  });
}
