// PNG encoding for generated images (pngjs).
import { PNG } from 'pngjs';

/**
 * Encodes an HWC float RGB image in [0, 1] as an 8-bit RGB PNG, upscaled by an
 * integer factor with nearest-neighbour sampling.
 * @param {Float32Array} rgb height*width*3 floats
 * @param {number} width
 * @param {number} height
 * @param {{ scale?: number, offset?: number }} [opts]
 * @returns {Buffer}
 */
export function encodePng(rgb, width, height, opts = {}) {
  const scale = opts.scale ?? 1;
  const offset = opts.offset ?? 0;
  const w = width * scale;
  const h = height * scale;
  const png = new PNG({ width: w, height: h, colorType: 2, inputColorType: 6, inputHasAlpha: true });
  for (let y = 0; y < h; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < w; x++) {
      const sx = Math.floor(x / scale);
      const i = offset + (sy * width + sx) * 3;
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) png.data[o + c] = Math.round(Math.min(1, Math.max(0, rgb[i + c])) * 255);
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true, deflateLevel: 9 });
}

/**
 * Decodes a PNG into HWC float RGB in [0, 1] (alpha dropped).
 * @param {Buffer} buf
 * @returns {{ width: number, height: number, rgb: Float32Array }}
 */
export function decodePng(buf) {
  const png = PNG.sync.read(buf);
  const rgb = new Float32Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < png.data.length; i += 4, j += 3) {
    rgb[j] = png.data[i] / 255;
    rgb[j + 1] = png.data[i + 1] / 255;
    rgb[j + 2] = png.data[i + 2] / 255;
  }
  return { width: png.width, height: png.height, rgb };
}
