/**
 * Images to model inputs, on the backend: decode, resize (stretch, cover or contain),
 * grayscale, scale, normalize and lay out, all as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import type { WireImage } from '../protocol.js';
import type { ResolvedPreprocess } from '../preprocess-spec.js';

/** Decodes a wire image into an int32 [h, w, 3] tensor of 0..255 and frees the source. */
export async function decodeImage(img: WireImage): Promise<tf.Tensor3D> {
  switch (img.kind) {
    case 'pixels':
      return tf.browser.fromPixels({ data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength), width: img.width, height: img.height }, 3);
    case 'bitmap':
      try {
        return tf.browser.fromPixels(img.bitmap, 3);
      } finally {
        img.bitmap.close();
      }
    case 'blob': {
      let bitmap: ImageBitmap;
      try {
        bitmap = await createImageBitmap(img.blob);
      } catch (e) {
        throw new InputError(`Could not decode the image (${img.blob.type || 'unknown type'}, ${img.blob.size} bytes): ${(e as Error).message}`);
      }
      try {
        return tf.browser.fromPixels(bitmap, 3);
      } finally {
        bitmap.close();
      }
    }
    default:
      throw new InputError(`Unknown image kind ${(img as { kind: string }).kind}`);
  }
}

/** Resizes per `fit`: stretch ignores the aspect ratio, cover center-crops, contain letterboxes. */
function resize(x: tf.Tensor3D, size: [number, number] | null, fit: ResolvedPreprocess['fit']): tf.Tensor3D {
  const [h, w] = x.shape;
  if (!size || (size[0] === h && size[1] === w)) return x;
  const [th, tw] = size;
  if (fit === 'stretch') return tf.image.resizeBilinear(x, [th, tw], false, true);
  if (fit === 'cover') {
    // The largest centered crop of the target's aspect ratio, in whole pixels, then the same resize as stretch.
    const ch = Math.min(h, Math.round((w * th) / tw));
    const cw = Math.min(w, Math.round((h * tw) / th));
    const crop = tf.slice(x, [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), 0], [ch, cw, x.shape[2]]);
    return ch === th && cw === tw ? crop : tf.image.resizeBilinear(crop, [th, tw], false, true);
  }
  const scale = Math.min(th / h, tw / w);
  const nh = Math.max(1, Math.round(h * scale));
  const nw = Math.max(1, Math.round(w * scale));
  const small = tf.image.resizeBilinear(x, [nh, nw], false, true);
  const top = Math.floor((th - nh) / 2);
  const left = Math.floor((tw - nw) / 2);
  return tf.pad(small, [[top, th - nh - top], [left, tw - nw - left], [0, 0]]);
}

/** Pixels ([h, w, 3], 0..255) to the model's input tensor, batch dimension included. */
export function toModelInput(pixels: tf.Tensor3D, p: ResolvedPreprocess): tf.Tensor {
  return tf.tidy(() => {
    let x: tf.Tensor = tf.cast(resize(pixels, p.size, p.fit), 'float32');
    if (p.channels === 1) x = tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true);
    if (p.scale !== 1) x = tf.mul(x, p.scale);
    if (p.mean.some((m) => m !== 0)) x = tf.sub(x, tf.tensor1d(p.mean));
    if (p.std.some((s) => s !== 1)) x = tf.div(x, tf.tensor1d(p.std));
    if (p.layout === 'NCHW') x = tf.transpose(x, [2, 0, 1]);
    if (p.dtype === 'int32') x = tf.cast(tf.round(x), 'int32');
    return p.batched ? tf.expandDims(x, 0) : x;
  });
}
