// Synthetic images of coloured shapes for the demo model, rasterised in pure JS.
//
// Each image is SIZE x SIZE RGB, float32 in [0, 1], row-major HWC (the layout of a
// tfjs image tensor). A shape (circle, square, triangle, cross, star) is drawn at a
// random position, size and rotation, filled or as a thick outline, in one of four
// colours (red, green, blue, yellow) with some jitter, on a random light or dark
// background, with Gaussian pixel noise. Edges are anti-aliased by 3x3
// supersampling. Optionally some images use dark "ink" on a light background
// instead of a colour, like a shape drawn with a mouse; those have colour -1.
// All randomness comes from a seeded PRNG, so a seed gives the same images.
import { createRng } from './prng.mjs';

export const SIZE = 32;
export const SHAPES = ['circle', 'square', 'triangle', 'cross', 'star'];
export const COLORS = ['red', 'green', 'blue', 'yellow'];

const BASE_RGB = {
  red: [0.88, 0.12, 0.12],
  green: [0.15, 0.7, 0.2],
  blue: [0.15, 0.3, 0.92],
  yellow: [0.95, 0.85, 0.12],
};

const clamp01 = (v) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Vertices of a regular star / polygon outline, radius r, rotated by rot. */
function radialPolygon(count, radii, rot) {
  const xs = [];
  const ys = [];
  for (let i = 0; i < count; i++) {
    const a = rot + (i * 2 * Math.PI) / count - Math.PI / 2;
    const r = radii[i % radii.length];
    xs.push(r * Math.cos(a));
    ys.push(r * Math.sin(a));
  }
  return [xs, ys];
}

/** A plus sign: arms of half-length r and half-width w, rotated by rot. */
function crossPolygon(r, w, rot) {
  const pts = [
    [w, r], [w, w], [r, w], [r, -w], [w, -w], [w, -r],
    [-w, -r], [-w, -w], [-r, -w], [-r, w], [-w, w], [-w, r],
  ];
  const c = Math.cos(rot);
  const s = Math.sin(rot);
  return [pts.map(([x, y]) => x * c - y * s), pts.map(([x, y]) => x * s + y * c)];
}

/** Signed distance from (px, py) to a polygon's boundary: negative inside. */
function sdPolygon(vx, vy, px, py) {
  const n = vx.length;
  let d = (px - vx[0]) ** 2 + (py - vy[0]) ** 2;
  let s = 1;
  for (let i = 0, j = n - 1; i < n; j = i, i++) {
    const ex = vx[j] - vx[i];
    const ey = vy[j] - vy[i];
    const wx = px - vx[i];
    const wy = py - vy[i];
    let t = (wx * ex + wy * ey) / (ex * ex + ey * ey);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const bx = wx - ex * t;
    const by = wy - ey * t;
    const dd = bx * bx + by * by;
    if (dd < d) d = dd;
    const c1 = py >= vy[i];
    const c2 = py < vy[j];
    const c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
  }
  return s * Math.sqrt(d);
}

/**
 * The signed distance function of a shape centred on the origin.
 * @param {string} shape one of SHAPES
 * @param {number} r size: the circumradius (circles use 0.85 r, so areas are alike)
 * @param {number} rot rotation in radians
 * @returns {(x: number, y: number) => number}
 */
export function shapeSdf(shape, r, rot) {
  switch (shape) {
    case 'circle': {
      const rc = 0.85 * r;
      return (x, y) => Math.sqrt(x * x + y * y) - rc;
    }
    case 'square': {
      const [vx, vy] = radialPolygon(4, [r], rot + Math.PI / 4);
      return (x, y) => sdPolygon(vx, vy, x, y);
    }
    case 'triangle': {
      const [vx, vy] = radialPolygon(3, [r], rot);
      return (x, y) => sdPolygon(vx, vy, x, y);
    }
    case 'cross': {
      const [vx, vy] = crossPolygon(0.95 * r, 0.3 * r, rot);
      return (x, y) => sdPolygon(vx, vy, x, y);
    }
    case 'star': {
      const [vx, vy] = radialPolygon(10, [r, 0.42 * r], rot);
      return (x, y) => sdPolygon(vx, vy, x, y);
    }
    default:
      throw new Error(`unknown shape ${shape}`);
  }
}

/**
 * Random drawing parameters for one image.
 * @param {import('./prng.mjs').Rng} rng
 * @param {number} shapeIndex index into SHAPES
 * @param {{ inkProb?: number }} [opts] inkProb: chance of dark ink on a light background
 *   (colour -1) instead of one of COLORS
 */
export function randomParams(rng, shapeIndex, opts = {}) {
  const shape = SHAPES[shapeIndex];
  const r = rng.uniform(6.5, 14.5);
  const filled = rng.chance(0.5);
  const stroke = Math.min(rng.uniform(1.3, 3.6), 0.45 * r);
  const extent = r + (filled ? 0 : stroke / 2) + 0.5;
  const lo = Math.min(extent, SIZE / 2);
  const cx = rng.uniform(lo, SIZE - lo);
  const cy = rng.uniform(lo, SIZE - lo);
  const rot = rng.uniform(0, 2 * Math.PI);
  const ink = rng.chance(opts.inkProb ?? 0);
  let colorIndex = -1;
  let fg;
  if (ink) {
    const g = rng.uniform(0, 0.3);
    fg = [0, 1, 2].map(() => clamp01(g + rng.uniform(-0.03, 0.03)));
  } else {
    colorIndex = rng.int(COLORS.length);
    const base = BASE_RGB[COLORS[colorIndex]];
    const k = rng.uniform(0.8, 1.05);
    fg = base.map((v) => clamp01(k * v + rng.uniform(-0.08, 0.08)));
  }
  // Background: light or dark, slightly tinted; redrawn until it contrasts with fg.
  let bg;
  for (;;) {
    const light = ink || rng.chance(0.5);
    const l = light ? rng.uniform(0.72, 1) : rng.uniform(0, 0.28);
    bg = [0, 1, 2].map(() => clamp01(l + rng.uniform(-0.06, 0.06)));
    const dist = Math.hypot(fg[0] - bg[0], fg[1] - bg[1], fg[2] - bg[2]);
    if (dist >= 0.4) break;
  }
  const noise = rng.uniform(0, 0.06);
  return { shape, shapeIndex, colorIndex, r, filled, stroke, cx, cy, rot, fg, bg, noise, noiseSeed: rng.seed() };
}

const SS = 3; // supersampling per axis

/**
 * Rasterises one image.
 * @param {ReturnType<typeof randomParams>} p
 * @param {Float32Array} [out] SIZE*SIZE*3 floats to write into (at `offset`)
 * @param {number} [offset]
 * @returns {Float32Array}
 */
export function render(p, out = new Float32Array(SIZE * SIZE * 3), offset = 0) {
  const sdf = shapeSdf(p.shape, p.r, p.rot);
  const half = p.stroke / 2;
  const reach = p.r + half + 1;
  const x0 = Math.max(0, Math.floor(p.cx - reach));
  const x1 = Math.min(SIZE - 1, Math.ceil(p.cx + reach));
  const y0 = Math.max(0, Math.floor(p.cy - reach));
  const y1 = Math.min(SIZE - 1, Math.ceil(p.cy + reach));
  const noise = createRng(p.noiseSeed);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let cov = 0;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
        let hits = 0;
        for (let sy = 0; sy < SS; sy++) {
          for (let sx = 0; sx < SS; sx++) {
            const d = sdf(x + (sx + 0.5) / SS - p.cx, y + (sy + 0.5) / SS - p.cy);
            if (p.filled ? d <= 0 : Math.abs(d) <= half) hits++;
          }
        }
        cov = hits / (SS * SS);
      }
      const o = offset + (y * SIZE + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = p.bg[c] * (1 - cov) + p.fg[c] * cov + (p.noise > 0 ? noise.normal(0, p.noise) : 0);
        out[o + c] = clamp01(v);
      }
    }
  }
  return out;
}

/**
 * Makes drawing parameters harder to read: a small shape, heavy pixel noise and the
 * colour pulled towards the background. Draws from `rng` after `randomParams` did, so
 * the ordinary images of a stream stay as they were.
 * @param {import('./prng.mjs').Rng} rng
 * @param {ReturnType<typeof randomParams>} p
 */
export function harden(rng, p) {
  const shrink = rng.uniform(0.65, 0.9);
  const fade = rng.uniform(0.1, 0.3);
  return {
    ...p,
    r: p.r * shrink,
    stroke: Math.min(p.stroke, 0.45 * p.r * shrink),
    fg: p.fg.map((v, c) => clamp01(p.bg[c] + (1 - fade) * (v - p.bg[c]))),
    noise: rng.uniform(0.08, 0.14),
  };
}

/**
 * A data set of `n` images, classes balanced (shape i % SHAPES.length, in order).
 * @param {number} seed
 * @param {number} n
 * @param {{ inkProb?: number, hardProb?: number }} [opts] hardProb: share of images made
 *   hard to read by `harden` (default 0)
 * @returns {{ x: Float32Array, shape: Int32Array, color: Int32Array, params: object[] }}
 */
export function makeDataset(seed, n, opts = {}) {
  const rng = createRng(seed);
  const x = new Float32Array(n * SIZE * SIZE * 3);
  const shape = new Int32Array(n);
  const color = new Int32Array(n);
  const params = [];
  const hardProb = opts.hardProb ?? 0;
  for (let i = 0; i < n; i++) {
    let p = randomParams(rng, i % SHAPES.length, opts);
    if (hardProb > 0 && rng.chance(hardProb)) p = harden(rng, p);
    render(p, x, i * SIZE * SIZE * 3);
    shape[i] = p.shapeIndex;
    color[i] = p.colorIndex;
    params.push(p);
  }
  return { x, shape, color, params };
}
