/**
 * What GPUs this device offers, read cheaply on the page: WebGL's renderer string
 * (WEBGL_debug_renderer_info) and WebGPU's adapter info. Software rasterizers (SwiftShader,
 * llvmpipe, WARP, a WebGPU fallback adapter) run models far slower than WASM: they are tried
 * last by `backends: 'auto'`.
 */
import type { Backend } from '../types.js';

/** The GPUs behind the WebGL and WebGPU backends; absent when that API is missing here. */
export interface Adapters {
  webgl?: { renderer: string; software: boolean };
  webgpu?: { description: string; software: boolean };
}

const SOFTWARE = /swiftshader|llvmpipe|softpipe|lavapipe|software|microsoft basic render|\bwarp\b/i;

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

function webgl(): Adapters['webgl'] {
  try {
    const canvas: HTMLCanvasElement | OffscreenCanvas = typeof OffscreenCanvas !== 'undefined'
      ? new OffscreenCanvas(1, 1)
      : document.createElement('canvas');
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return undefined;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { renderer, software: SOFTWARE.test(renderer) };
  } catch {
    return undefined;
  }
}

async function webgpu(): Promise<Adapters['webgpu']> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } | undefined)?.gpu;
  if (!gpu) return undefined;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return undefined;
    const info = adapter.info ?? {};
    const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
    const software = Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter) || SOFTWARE.test(description);
    return { description, software };
  } catch {
    return undefined;
  }
}

/** Reads both adapters (a few milliseconds; no backend is started). */
export async function describeAdapters(): Promise<Adapters> {
  const out: Adapters = {};
  const gl = webgl();
  if (gl) out.webgl = gl;
  const gpu = await webgpu();
  if (gpu) out.webgpu = gpu;
  return out;
}

/**
 * The order `backends: 'auto'` tries backends in: hardware WebGPU, hardware WebGL, WASM,
 * CPU, then software WebGL and software WebGPU. A backend whose API is missing is left out.
 */
export function autoLadder(a: Adapters): Backend[] {
  const hardware: Backend[] = [];
  const software: Backend[] = [];
  if (a.webgpu) (a.webgpu.software ? software : hardware).push('webgpu');
  if (a.webgl) (a.webgl.software ? software : hardware).push('webgl');
  // Software WebGL is usually ahead of software WebGPU.
  software.sort((x) => (x === 'webgl' ? -1 : 1));
  return [...hardware, 'wasm', 'cpu', ...software];
}

/** The device as a backend choice depends on it: browser and GPU adapters. */
export function deviceKey(a: Adapters): string {
  const ua = globalThis.navigator?.userAgent ?? 'unknown';
  return `${ua} | webgl: ${a.webgl?.renderer ?? 'none'} | webgpu: ${a.webgpu?.description ?? 'none'}`;
}
