// A small seeded PRNG for the fixture and demo-model scripts, so that every
// random choice they make is reproducible from a seed.
//
// mulberry32: 32-bit state, period 2^32, good enough for synthetic data. Only
// integer arithmetic and Math.imul, so the stream is identical on every platform.

/**
 * @param {number} seed any integer (taken modulo 2^32)
 * @returns {Rng}
 */
export function createRng(seed) {
  let a = seed >>> 0;
  let spareNormal = null;
  /** Uniform in [0, 1), 32 bits of resolution. */
  function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  const rng = {
    next,
    /** Uniform in [lo, hi). */
    uniform(lo = 0, hi = 1) {
      return lo + (hi - lo) * next();
    },
    /** Integer in [0, n). */
    int(n) {
      return Math.floor(next() * n);
    },
    /** One element of a non-empty array. */
    pick(arr) {
      return arr[Math.floor(next() * arr.length)];
    },
    /** True with probability p. */
    chance(p) {
      return next() < p;
    },
    /** Standard normal (Box-Muller, caching the second value). */
    normal(mean = 0, std = 1) {
      if (spareNormal !== null) {
        const z = spareNormal;
        spareNormal = null;
        return mean + std * z;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return mean + std * r * Math.cos(2 * Math.PI * v);
    },
    /** Fisher-Yates shuffle in place; returns the array. */
    shuffle(arr) {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = arr[i];
        arr[i] = arr[j];
        arr[j] = t;
      }
      return arr;
    },
    /** A new integer seed drawn from this stream (to fork independent streams). */
    seed() {
      return Math.floor(next() * 4294967296) >>> 0;
    },
  };
  return rng;
}

/**
 * @typedef {{ next(): number, uniform(lo?: number, hi?: number): number, int(n: number): number,
 *   pick<T>(arr: T[]): T, chance(p: number): boolean, normal(mean?: number, std?: number): number,
 *   shuffle<T>(arr: T[]): T[], seed(): number }} Rng
 */
