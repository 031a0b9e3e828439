/**
 * Watches the GPU behind tfjs's WebGL or WebGPU backend. tfjs has no recovery from a lost
 * WebGL context (tfjs#756) or WebGPU device: after a loss its readbacks hang or answer
 * zeros. The watch tells the engine at once, and `lost()` is checked after each readback so
 * that no output read across a loss is ever returned.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EngineLoss } from '../protocol.js';
import type { Backend } from '../types.js';
import { markLost } from './backends.js';

interface WebGLish {
  gpgpu?: { gl?: WebGLRenderingContext | WebGL2RenderingContext };
}
interface WebGPUish {
  device?: { lost?: Promise<{ reason?: string; message?: string }> };
}

export class GpuWatch {
  private loss: EngineLoss | undefined;
  private notify: ((loss: EngineLoss) => void) | undefined;
  private stopped = false;
  readonly lostPromise: Promise<EngineLoss>;
  private gl: WebGLRenderingContext | WebGL2RenderingContext | undefined;

  constructor(readonly backend: Backend) {
    this.lostPromise = new Promise((resolve) => (this.notify = resolve));
    if (backend === 'webgl') {
      const gl = (tf.backend() as unknown as WebGLish).gpgpu?.gl;
      if (!gl) return;
      this.gl = gl;
      const canvas = gl.canvas as (HTMLCanvasElement | OffscreenCanvas) & EventTarget;
      canvas.addEventListener('webglcontextlost', () => this.lose('webgl-context-lost', 'The WebGL context was lost'));
    } else if (backend === 'webgpu') {
      const lost = (tf.backend() as unknown as WebGPUish).device?.lost;
      void lost?.then((info) => this.lose('webgpu-device-lost', `The WebGPU device was lost (${info?.reason ?? 'unknown'}${info?.message ? `: ${info.message}` : ''})`));
    }
  }

  private lose(cause: EngineLoss['cause'], message: string): void {
    // The engine's own shutdown destroys the device: that is no loss.
    if (this.loss || this.stopped) return;
    this.loss = { cause, backend: this.backend, message };
    markLost(this.backend);
    this.notify?.(this.loss);
  }

  /**
   * Whether the GPU is gone, checked now. On WebGL `getError()` makes the context ask the
   * GPU process, so a context lost a moment ago is known before its zeros are returned.
   */
  lost(): boolean {
    if (this.loss) return true;
    if (this.gl) {
      this.gl.getError();
      if (this.gl.isContextLost()) this.lose('webgl-context-lost', 'The WebGL context was lost');
    }
    return this.loss !== undefined;
  }

  /**
   * Whether a failure just seen was the GPU going away: WebGPU reports a destroyed or lost
   * device through a promise that may settle after the failed call, so it is given a moment.
   */
  async lostAfterFailure(graceMs = 250): Promise<boolean> {
    if (this.lost()) return true;
    if (this.backend !== 'webgpu') return false;
    await Promise.race([this.lostPromise, new Promise((r) => setTimeout(r, graceMs))]);
    return this.loss !== undefined;
  }

  /** The engine shuts down on purpose from here on. */
  stop(): void {
    this.stopped = true;
  }
}
