/**
 * Watches the GPU behind tfjs's WebGL or WebGPU backend. tfjs has no recovery from a lost
 * WebGL context (tfjs#756) or WebGPU device: after a loss its readbacks hang or answer
 * zeros. The watch tells the engine at once, and `readbackTrusted()` is checked after each
 * readback so that no output read across a loss is ever returned.
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

const CANARY = [17, 99, 201, 255];

function isWebGL2(gl: WebGLRenderingContext | WebGL2RenderingContext): gl is WebGL2RenderingContext {
  return typeof WebGL2RenderingContext !== 'undefined' && gl instanceof WebGL2RenderingContext;
}

/** A 1x1 texture holding CANARY, behind its own framebuffer; tfjs's bindings are restored. */
function makeCanary(gl: WebGLRenderingContext | WebGL2RenderingContext): WebGLFramebuffer | undefined {
  const tex = gl.createTexture();
  const fb = gl.createFramebuffer();
  if (!tex || !fb) return undefined;
  const prevTex = gl.getParameter(gl.TEXTURE_BINDING_2D) as WebGLTexture | null;
  const prevFb = gl.getParameter(gl.FRAMEBUFFER_BINDING) as WebGLFramebuffer | null;
  const unpack = isWebGL2(gl) ? (gl.getParameter(gl.PIXEL_UNPACK_BUFFER_BINDING) as WebGLBuffer | null) : null;
  if (unpack && isWebGL2(gl)) gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, null);
  gl.bindTexture(gl.TEXTURE_2D, tex);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(CANARY));
  gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
  const complete = gl.checkFramebufferStatus(gl.FRAMEBUFFER) === gl.FRAMEBUFFER_COMPLETE;
  gl.bindFramebuffer(gl.FRAMEBUFFER, prevFb);
  gl.bindTexture(gl.TEXTURE_2D, prevTex);
  if (unpack && isWebGL2(gl)) gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, unpack);
  return complete ? fb : undefined;
}

export class GpuWatch {
  private loss: EngineLoss | undefined;
  private notify: ((loss: EngineLoss) => void) | undefined;
  private stopped = false;
  readonly lostPromise: Promise<EngineLoss>;
  private gl: WebGLRenderingContext | WebGL2RenderingContext | undefined;
  private canary: WebGLFramebuffer | undefined;

  constructor(readonly backend: Backend) {
    this.lostPromise = new Promise((resolve) => (this.notify = resolve));
    if (backend === 'webgl') {
      const gl = (tf.backend() as unknown as WebGLish).gpgpu?.gl;
      if (!gl) return;
      this.gl = gl;
      this.canary = makeCanary(gl);
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
   * Whether a loss is known here already (an event, a failed canary, a context that says it
   * is lost), with no round trip to the GPU process: cheap enough for every request.
   */
  knownLost(): boolean {
    if (!this.loss && this.gl?.isContextLost()) this.lose('webgl-context-lost', 'The WebGL context was lost');
    return this.loss !== undefined;
  }

  /**
   * Whether the GPU is gone, checked now. On WebGL `getError()` makes the context ask the
   * GPU process, so a context lost a moment ago is known before its zeros are returned.
   * That is a synchronous round trip (about 0.3 ms on SwiftShader): not for every request.
   */
  lost(): boolean {
    if (this.knownLost()) return true;
    if (this.gl) {
      this.gl.getError();
      this.knownLost();
    }
    return this.loss !== undefined;
  }

  /**
   * Whether numbers just read back from the GPU can be trusted. After a GPU process crash,
   * WebGL readbacks answer zeros before the context knows it is lost; a one-pixel read of a
   * texture with known bytes, made after the outputs were read, tells: if it comes back wrong,
   * the GPU was gone by then, and so possibly during the read of the outputs. The canary's
   * read is itself the round trip to the GPU process, so no `getError()` goes with it.
   */
  readbackTrusted(): boolean {
    if (this.knownLost()) return false;
    const gl = this.gl;
    if (!gl || !this.canary) return !this.lost();
    const pack = isWebGL2(gl) ? (gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING) as WebGLBuffer | null) : null;
    const fb = gl.getParameter(gl.FRAMEBUFFER_BINDING) as WebGLFramebuffer | null;
    const px = new Uint8Array(4);
    if (pack && isWebGL2(gl)) gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.canary);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    if (pack && isWebGL2(gl)) gl.bindBuffer(gl.PIXEL_PACK_BUFFER, pack);
    if (!CANARY.every((b, i) => px[i] === b)) {
      this.lose('webgl-context-lost', 'The GPU process was lost (a WebGL readback came back wrong)');
    }
    return !this.knownLost();
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
