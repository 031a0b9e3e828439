/**
 * Page-side inputs to wire form: DOM images become ImageBitmaps (transferred, never
 * serialized), Blobs travel as they are and are decoded in the worker, tensors keep
 * their typed arrays.
 */
import { InputError } from '../errors.js';
import type { WireInput } from '../protocol.js';
import type { TensorData } from '../types.js';
import { isTensorData } from '../validate.js';

/** Anything `predict` accepts as an image. */
export type ImageSource =
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | ImageBitmap
  | ImageData
  | OffscreenCanvas
  | Blob;

export interface Wired<T> {
  value: T;
  transfer: Transferable[];
}

const has = (name: string): boolean => typeof (globalThis as Record<string, unknown>)[name] === 'function';

/**
 * The buffer of a typed array, to transfer; a view on part of a larger buffer is
 * copied first so the rest of the caller's buffer is not detached.
 */
export function ownBuffer<T extends TensorData['data']>(data: T): { data: T; buffer: ArrayBuffer } {
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const own = (whole ? data : data.slice()) as T;
  return { data: own, buffer: own.buffer as ArrayBuffer };
}

/**
 * Tensors as they cross the boundary: only `data`, `shape` and `dtype` (other keys of the
 * caller's objects, a callback say, are left behind), with their buffers listed for
 * transfer (each buffer once) when `transfer` is set.
 */
export function wireTensors<M extends Record<string, TensorData>>(inputs: M, transfer: boolean): Wired<M> {
  const out: Record<string, TensorData> = {};
  const buffers = new Set<ArrayBuffer>();
  for (const [name, t] of Object.entries(inputs)) {
    let data = t.data;
    if (transfer) {
      const own = ownBuffer(t.data);
      data = own.data;
      buffers.add(own.buffer);
    }
    out[name] = t.dtype === undefined ? { data, shape: t.shape } : { data, shape: t.shape, dtype: t.dtype };
  }
  return { value: out as M, transfer: [...buffers] };
}

async function ready(img: HTMLImageElement): Promise<void> {
  if (!img.complete || img.naturalWidth === 0) {
    try {
      await img.decode();
    } catch {
      throw new InputError(`The image ${img.currentSrc || img.src || '(no src)'} could not be loaded or decoded`);
    }
  }
}

/** Turns any accepted predict input into its wire form. */
export async function toWireInput(input: ImageSource | TensorData, transfer: boolean): Promise<Wired<WireInput>> {
  if (isTensorData(input)) {
    const { value, transfer: t } = wireTensors({ x: input }, transfer);
    return { value: { kind: 'tensor', tensor: value.x }, transfer: t };
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    if (input.size === 0) throw new InputError('The image file is empty');
    return { value: { kind: 'blob', blob: input }, transfer: [] };
  }
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) {
    return { value: { kind: 'pixels', data: input.data, width: input.width, height: input.height }, transfer: [] };
  }
  if (has('HTMLVideoElement') && input instanceof HTMLVideoElement) {
    if (input.readyState < 2 || input.videoWidth === 0) {
      throw new InputError('The video has no current frame yet (readyState < HAVE_CURRENT_DATA); wait for "loadeddata"');
    }
  } else if (has('HTMLImageElement') && input instanceof HTMLImageElement) {
    await ready(input);
  } else if (
    !(has('HTMLCanvasElement') && input instanceof HTMLCanvasElement) &&
    !(has('OffscreenCanvas') && input instanceof OffscreenCanvas) &&
    !(has('ImageBitmap') && input instanceof ImageBitmap)
  ) {
    throw new InputError(
      'predict takes an HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, ImageBitmap, ImageData, OffscreenCanvas, Blob/File or a TensorData',
    );
  }
  let bitmap: ImageBitmap;
  try {
    // A new bitmap, so the caller's own ImageBitmap stays usable after the transfer.
    bitmap = await createImageBitmap(input as ImageBitmapSource);
  } catch (e) {
    throw new InputError(`The image could not be read: ${(e as Error).message}`);
  }
  return { value: { kind: 'bitmap', bitmap }, transfer: transfer ? [bitmap] : [] };
}
