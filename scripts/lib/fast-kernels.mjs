// Faster gradients for training small CNNs with tfjs in node (no tfjs-node, no GPU).
//
// tfjs 4.22's own convolution gradients are the bottleneck in node: the cpu
// backend computes Conv2DBackpropFilter with TensorBuffer.get() in its inner
// loop (~70x slower than the forward convolution), and the wasm backend has no
// Conv2DBackpropFilter kernel at all. But the wasm backend runs a forward Conv2D
// quickly (XNNPACK), and for stride 1 both gradients of a convolution are forward
// convolutions themselves:
//
//   dL/dx = conv2d(pad(dy), reverse(W, [0,1]) with in/out channels swapped, 'valid')
//   dL/dW = conv2d(pad(x) with batch and channels swapped, dy as a filter, 'valid')
//
// installConvGradients() registers that as the gradient of Conv2D (other strides
// and dilations keep tfjs's own gradient). With it, one training step of the demo
// CNN (batch 64) on the wasm backend takes ~0.16 s of CPU, against ~0.5 s with
// the filter gradient done by wasm's Conv3DBackpropFilterV2 and ~14 s on the cpu
// backend with its own kernels.
// Only the scripts that build models use this file (never the library), and
// checkGradients() compares the results with plain float64 maths before they are
// trusted. Deterministic: the wasm backend runs single-threaded in node.
import * as tf from '@tensorflow/tfjs';

let originalConvGrad = null;

/** Override the gradient of Conv2D (idempotent). Works on any backend. */
export function installConvGradients() {
  if (originalConvGrad) return;
  originalConvGrad = tf.getGradient('Conv2D');
  if (!originalConvGrad) throw new Error('no gradient registered for Conv2D');
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved;
      const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
      const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, dilations ?? 1, pad,
        dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC'));
      if (info.dataFormat !== 'channelsLast' || info.strideHeight !== 1 || info.strideWidth !== 1 ||
        info.dilationHeight !== 1 || info.dilationWidth !== 1 || x.rank !== 4) {
        return originalConvGrad.gradFunc(dy, saved, attrs);
      }
      const [kh, kw] = filter.shape;
      const { top, bottom, left, right } = info.padInfo;
      return {
        x: () => tf.conv2d(
          tf.pad(dy, [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]]),
          tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]),
          1, 'valid'),
        filter: () => tf.transpose(tf.conv2d(
          tf.transpose(tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]), [3, 1, 2, 0]),
          tf.transpose(dy, [1, 2, 0, 3]),
          1, 'valid'), [1, 2, 0, 3]),
      };
    },
  });
}

/** Both gradients of a convolution in float64, for checks. */
function refConvGrads(xv, xs, wv, ws, dyv, ys, padInfo) {
  const [B, H, W, C] = xs;
  const [KH, KW, , O] = ws;
  const [, OH, OW] = ys;
  const { top, left } = padInfo;
  const dx = new Float64Array(xv.length);
  const dw = new Float64Array(wv.length);
  for (let b = 0; b < B; b++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const iy = oy + kh - top;
      const ix = ox + kw - left;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      for (let ci = 0; ci < C; ci++) for (let co = 0; co < O; co++) {
        const g = dyv[((b * OH + oy) * OW + ox) * O + co];
        const xi = ((b * H + iy) * W + ix) * C + ci;
        const wi = ((kh * KW + kw) * C + ci) * O + co;
        dw[wi] += xv[xi] * g;
        dx[xi] += wv[wi] * g;
      }
    }
  }
  return { dx, dw };
}

function maxDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Checks, on the current backend, the gradients of stride-1 convolutions (both
 * inputs) against float64 maths. Throws on a mismatch.
 */
export async function checkGradients() {
  const cases = [
    { x: [2, 7, 6, 3], f: [3, 3, 3, 4], pad: 'same' },
    { x: [3, 8, 8, 5], f: [3, 3, 5, 7], pad: 'same' },
    { x: [2, 9, 7, 3], f: [3, 2, 3, 2], pad: 'valid' },
    { x: [2, 6, 6, 2], f: [2, 2, 2, 3], pad: 'same' }, // asymmetric padding
    { x: [1, 5, 6, 2], f: [1, 1, 2, 3], pad: 'valid' },
  ];
  for (const c of cases) {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 7);
    const w = tf.randomNormal(c.f, 0, 1, 'float32', 8);
    const y = tf.conv2d(x, w, 1, c.pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 9);
    const [gx, gw] = tf.grads((a, b) => tf.conv2d(a, b, 1, c.pad).mul(dy).sum())([x, w]);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, 1, 1, c.pad);
    const ref = refConvGrads(await x.data(), c.x, await w.data(), c.f, await dy.data(), y.shape, info.padInfo);
    const dX = maxDiff(await gx.data(), ref.dx);
    const dW = maxDiff(await gw.data(), ref.dw);
    tf.dispose([x, w, y, dy, gx, gw]);
    if (!(dX < 1e-3 && dW < 1e-3)) {
      throw new Error(`conv2d gradient on ${tf.getBackend()} is wrong for ${JSON.stringify(c)}: ` +
        `max diff ${dX} (x), ${dW} (filter)`);
    }
  }
}
