/**
 * The backend ladder. Importing this module registers tfjs's four backends with
 * tfjs-core; it is imported only by the engine bundles (the worker, or the page's
 * engine with `worker: false`), never by the page-side entry.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import type { Backend } from '../types.js';

export const ALL_BACKENDS: readonly Backend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

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

/**
 * Tries each backend in order and keeps the first that really starts.
 * @returns the backend in use
 * @throws BackendError (`BACKEND_UNAVAILABLE`) naming why each one failed
 */
export async function startBackend(
  ladder: readonly Backend[],
  opts: { wasmPaths?: string | undefined; flags?: Record<string, boolean | number> | undefined } = {},
): Promise<Backend> {
  if (ladder.length === 0) {
    throw new BackendError('The backend ladder is empty; pass at least one of webgpu, webgl, wasm, cpu');
  }
  const unknown = ladder.filter((b) => !ALL_BACKENDS.includes(b));
  if (unknown.length) {
    throw new BackendError(`Unknown backend ${unknown.join(', ')}; valid: ${ALL_BACKENDS.join(', ')}`);
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
      if (await tf.setBackend(backend)) {
        await tf.ready();
        return backend;
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
