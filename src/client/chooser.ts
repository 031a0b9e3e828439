/**
 * `backends: 'auto'`: the backend a model serves on is chosen by timing it on its first load
 * on each backend available here, each in an engine of its own, and the choice is kept in
 * IndexedDB per model and device so that the next visit starts on it at once.
 */
import { openDB } from 'idb';
import type { LoadRequest } from '../protocol.js';
import type { Backend, BackendChoice, BackendTiming, ModelInfo, TensorData } from '../types.js';
import type { Connection, Starter } from './supervisor.js';

const DB = 'inpage-backend-choice';
const STORE = 'choices';

interface StoredChoice {
  key: string;
  backend: Backend;
  timings: BackendTiming[];
  at: number;
}

async function withStore<T>(work: (db: Awaited<ReturnType<typeof openDB>>) => Promise<T>): Promise<T | undefined> {
  if (typeof indexedDB === 'undefined') return undefined;
  let db: Awaited<ReturnType<typeof openDB>> | undefined;
  try {
    db = await openDB(DB, 1, {
      upgrade(d) {
        d.createObjectStore(STORE, { keyPath: 'key' });
      },
      blocking() {
        db?.close();
      },
    });
    return await work(db);
  } catch {
    // The choice is only a shortcut: without storage the runtime measures again next time.
    return undefined;
  } finally {
    db?.close();
  }
}

/** The key a choice is kept under: the model (name, version, where it came from) and the device. */
export function choiceKey(req: Pick<LoadRequest, 'name' | 'version' | 'url'>, device: string): string {
  return `${req.name}@${req.version} ${req.url ?? '(files)'} | ${device}`;
}

export function rememberedChoice(key: string): Promise<StoredChoice | undefined> {
  return withStore((db) => db.get(STORE, key) as Promise<StoredChoice | undefined>);
}

export async function rememberChoice(key: string, backend: Backend, timings: BackendTiming[]): Promise<void> {
  await withStore((db) => db.put(STORE, { key, backend, timings, at: Date.now() } satisfies StoredChoice));
}

/** Forgets every remembered backend choice (the next load of each model measures again). */
export async function clearBackendChoices(): Promise<void> {
  await withStore((db) => db.clear(STORE));
}

/** Inputs for timing: the model's declared shapes with free dims set (batch 1, others 64), filled with 0.5 (0 for integers). */
export function timingInputs(info: ModelInfo): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const t of info.inputs) {
    const shape = (t.shape ?? [1]).map((d, i) => (d == null || d < 0 ? (i === 0 ? 1 : 64) : d));
    const n = shape.reduce((a, b) => a * b, 1);
    const dtype = t.dtype === 'int32' || t.dtype === 'bool' ? 'int32' : 'float32';
    out[t.name] = dtype === 'int32'
      ? { data: new Int32Array(n), shape, dtype }
      : { data: new Float32Array(n).fill(0.5), shape, dtype };
  }
  return out;
}

const now = () => performance.now();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Bounded runs of the model, one at a time: at least 3 and at most 20, within `budgetMs`. */
export async function timeRuns(
  conn: Connection, modelId: string, info: ModelInfo, budgetMs: number, deadline: Promise<never>, nextRequestId: () => number,
): Promise<{ medianMs: number; runs: number }> {
  const inputs = timingInputs(info);
  const gone = conn.gone.then((loss): never => {
    throw new Error(`its engine was lost (${loss.message})`);
  });
  gone.catch(() => undefined);
  const run = () => Promise.race([conn.engine.run(modelId, inputs, { requestId: nextRequestId() }), deadline, gone]);
  const times: number[] = [];
  const t0 = now();
  // The first run after warm-up may still compile on a GPU: it is not counted.
  await run();
  while (times.length < 20 && (times.length < 3 || now() - t0 < budgetMs)) {
    const t = now();
    await run();
    times.push(now() - t);
  }
  return { medianMs: median(times), runs: times.length };
}

/** Rejects after `ms` (never, for Infinity). */
function deadlineIn(ms: number): { promise: Promise<never>; clear: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    if (Number.isFinite(ms)) timer = setTimeout(() => reject(new Error(`over the budget of ${Math.round(ms)} ms`)), ms);
  });
  promise.catch(() => undefined);
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * Times the model on each backend of `candidates` but `first` (already loaded on `current`
 * in `firstLoadMs`), each in an engine of its own started by `start`, within a budget of
 * max(2 s, the first load's time) per backend (start, load, warm-up and runs): a backend
 * over it is left. Resolves with the timings and the engine of the fastest backend when it
 * is not `current` (the caller adopts it; the others are ended).
 */
export async function measure(opts: {
  current: Connection;
  info: ModelInfo;
  req: LoadRequest;
  firstLoadMs: number;
  candidates: Backend[];
  start: Starter;
  nextRequestId: () => number;
  /** Whether the runtime was terminated meanwhile: every engine started here is ended. */
  ended: () => boolean;
}): Promise<{ choice: BackendChoice; winner: { conn: Connection; info: ModelInfo } | undefined }> {
  const { current, info, req, candidates, start } = opts;
  const budgetMs = Math.max(2000, opts.firstLoadMs);
  const timings: BackendTiming[] = [];
  let best: { ms: number; conn: Connection; info: ModelInfo } = { ms: Infinity, conn: current, info };
  try {
    const first = await timeRuns(current, req.id, info, budgetMs, new Promise<never>(() => undefined), opts.nextRequestId);
    timings.push({ backend: current.backend, loadMs: Math.round(opts.firstLoadMs), medianMs: first.medianMs, runs: first.runs });
    best.ms = first.medianMs;
  } catch (e) {
    timings.push({ backend: current.backend, loadMs: Math.round(opts.firstLoadMs), skipped: (e as Error)?.message ?? String(e) });
  }
  for (const backend of candidates) {
    if (backend === current.backend) continue;
    if (opts.ended()) break;
    const t0 = now();
    const deadline = deadlineIn(budgetMs);
    let conn: Connection | undefined;
    try {
      const starting = start([backend]);
      conn = await Promise.race([starting, deadline.promise]).catch((e) => {
        // An engine that starts after the deadline is ended as soon as it does.
        void starting.then((c) => c.end(), () => undefined);
        throw e;
      });
      const probe = conn;
      const probeInfo = await Promise.race([probe.engine.load({ ...req, requestId: opts.nextRequestId() }), deadline.promise]);
      const loadMs = now() - t0;
      const left = Math.max(0, budgetMs - loadMs);
      const t = await timeRuns(probe, req.id, info, left, deadline.promise, opts.nextRequestId);
      timings.push({ backend, loadMs: Math.round(loadMs), medianMs: t.medianMs, runs: t.runs });
      if (t.medianMs < best.ms) {
        if (best.conn !== current) best.conn.end();
        best = { ms: t.medianMs, conn: probe, info: probeInfo };
        conn = undefined; // kept
      }
    } catch (e) {
      timings.push({ backend, skipped: (e as Error)?.message ?? String(e) });
    } finally {
      deadline.clear();
      conn?.end();
    }
  }
  if (opts.ended() && best.conn !== current) {
    best.conn.end();
    best = { ms: Infinity, conn: current, info };
  }
  const choice: BackendChoice = { backend: best.conn.backend, reason: 'measured', timings };
  return { choice, winner: best.conn === current ? undefined : { conn: best.conn, info: best.info } };
}
