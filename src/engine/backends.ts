/**
 * The backend ladder. Importing this module registers tfjs's four backends with
 * tfjs-core; it is imported only by the engine bundles (the worker, or the page's
 * engine with `worker: false`), never by the page-side entry.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BACKENDS, MAX_WASM_THREADS } from '../defaults.js';
import { BackendError } from '../errors.js';
import type { Backend } from '../types.js';

/** Backends whose GPU was lost in this global scope: they get a fresh instance at their next start. */
const lostBackends = new Set<Backend>();

/** Marks a backend's GPU lost (with `worker: false` the page's tfjs outlives the engine). */
export function markLost(backend: Backend): void {
  lostBackends.add(backend);
}

/**
 * Replaces tfjs's instance of a backend whose GPU was lost by a new one from the same
 * factory: a new WebGL context or WebGPU device. tfjs never does this itself.
 */
function renew(backend: Backend): void {
  if (!lostBackends.delete(backend)) return;
  const factory = tf.findBackendFactory(backend);
  if (!factory) return;
  try {
    tf.removeBackend(backend);
  } catch {
    // Disposing a backend whose GPU is gone may fail; the registry entry is gone either way.
  }
  tf.registerBackend(backend, factory);
}

interface GpuLike { requestAdapter(): Promise<unknown> }

/** Why a backend cannot start here, or null when it may. Cheap checks before tfjs tries. */
async function precheck(backend: Backend): Promise<string | null> {
  if (backend === 'webgpu') {
    const gpu = (globalThis.navigator as unknown as { gpu?: GpuLike } | undefined)?.gpu;
    if (!gpu) return 'navigator.gpu is missing';
    try {
      if ((await gpu.requestAdapter()) == null) return 'no WebGPU adapter';
    } catch (e) {
      return `requestAdapter failed: ${(e as Error).message}`;
    }
  }
  if (backend === 'webgl' && typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') {
    return 'no OffscreenCanvas in this worker';
  }
  return null;
}

/** `wasmThreads` when none is given: one a logical core, within tfjs's pool. */
export function defaultWasmThreads(): number {
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  return Math.min(Math.max(1, cores), MAX_WASM_THREADS);
}

/** The thread count the wasm backend of this global scope was started with, if any. */
let wasmThreadsAsked: number | undefined;
/** Engines of this global scope serving on wasm (several with `worker: false` on one page). */
let wasmEngines = 0;

/** An engine that served on wasm has shut down. */
export function releaseWasm(): void {
  wasmEngines = Math.max(0, wasmEngines - 1);
}

/**
 * Starts tfjs's wasm backend with `threads` threads (they run only where SharedArrayBuffer
 * does: on a cross-origin-isolated page). tfjs caps its pool at `hardwareConcurrency / 2`,
 * read by its C++ as the module starts, even under `setThreadsCount`; the cap exists for
 * pages that share the cores with other work. inpage's engine is its own global scope (or
 * the caller asked for the count), so for the start only, `hardwareConcurrency` reads as
 * twice the count asked for, then is left as it was.
 */
async function startWasm(threads: number): Promise<boolean> {
  // A wasm backend started here before with another count (an earlier runtime with
  // `worker: false`) is replaced, as its pool is sized once, at start; not while another
  // engine still serves on it: then the new one shares it, and its thread count.
  if (wasmThreadsAsked !== undefined && wasmThreadsAsked !== threads && wasmEngines === 0 && tf.findBackend('wasm')) {
    const factory = tf.findBackendFactory('wasm');
    if (factory) {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', factory);
    }
  }
  setThreadsCount(threads);
  const nav = globalThis.navigator as Navigator | undefined;
  const lift = !!nav && threads > Math.floor(nav.hardwareConcurrency / 2);
  if (lift) Object.defineProperty(nav, 'hardwareConcurrency', { value: threads * 2, configurable: true, enumerable: true });
  try {
    const ok = await tf.setBackend('wasm');
    if (ok) {
      if (wasmEngines === 0) wasmThreadsAsked = threads;
      wasmEngines++;
    }
    return ok;
  } finally {
    // The own property shadowed the prototype's getter; deleting it brings the real value back.
    if (lift) delete (nav as unknown as Record<string, unknown>)['hardwareConcurrency'];
  }
}

/** What a started backend computes with: `threads` CPU threads (XNNPACK's pool on wasm, else 1). */
export interface StartedBackend {
  backend: Backend;
  threads: number;
}

/**
 * Tries each backend in order and keeps the first that really starts.
 * @returns the backend in use and its thread count
 * @throws BackendError (`BACKEND_UNAVAILABLE`) naming why each one failed
 */
export async function startBackend(
  ladder: readonly Backend[],
  opts: { wasmPaths?: string | undefined; flags?: Record<string, boolean | number> | undefined; wasmThreads?: number | undefined } = {},
): Promise<StartedBackend> {
  if (ladder.length === 0) {
    throw new BackendError('The backend ladder is empty; pass at least one of webgpu, webgl, wasm, cpu');
  }
  const unknown = ladder.filter((b) => !BACKENDS.includes(b));
  if (unknown.length) {
    throw new BackendError(`Unknown backend ${unknown.join(', ')}; valid: ${BACKENDS.join(', ')}`);
  }
  for (const [k, v] of Object.entries(opts.flags ?? {})) tf.env().set(k, v);
  if (ladder.includes('wasm')) setWasmPaths(opts.wasmPaths ?? defaultWasmPaths());

  const reasons: string[] = [];
  for (const backend of ladder) {
    const why = await precheck(backend);
    if (why) {
      reasons.push(`${backend}: ${why}`);
      continue;
    }
    try {
      renew(backend);
      if (await (backend === 'wasm' ? startWasm(opts.wasmThreads ?? defaultWasmThreads()) : tf.setBackend(backend))) {
        await tf.ready();
        return { backend, threads: backend === 'wasm' ? getThreadsCount() : 1 };
      }
      reasons.push(`${backend}: setBackend returned false`);
    } catch (e) {
      reasons.push(`${backend}: ${(e as Error).message}`);
    }
  }
  throw new BackendError(`No backend could start (${reasons.join('; ')})`, { tried: [...ladder], reasons });
}

/**
 * The tfjs WASM binaries beside this bundle. Each is named with `new URL(literal,
 * import.meta.url)` so that bundlers (Vite, webpack, rollup) copy them into the app.
 */
function defaultWasmPaths(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
  };
}
