// Writing and reading TensorFlow.js model folders (model.json + weight shards) in
// node, without tfjs-node: a save IOHandler that writes the standard layout, a
// float16 weight encoder, and a tiny static HTTP server on the loopback address so
// that the checks load models through tfjs's own http loader, as a page would.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Default shard size of tfjs-converter (4 MiB). */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

/** Bytes per element of each weight dtype as stored (after quantization). */
const STORED_BYTES = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

/**
 * A save IOHandler that writes `dir/model.json` and `dir/group1-shardKofN.bin`.
 * The weight buffer is cut into `shardBytes`-sized pieces regardless of tensor
 * boundaries, as tfjs-converter does, so a tensor may span two shards.
 * @param {string} dir output folder (created; old model.json and *.bin in it are removed)
 * @param {{ shardBytes?: number, pretty?: boolean, extra?: object }} [opts]
 *   `extra`: more top-level keys for model.json (e.g. `signature`, `userDefinedMetadata`)
 */
export function fileSaver(dir, opts = {}) {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  return {
    async save(artifacts) {
      fs.mkdirSync(dir, { recursive: true });
      for (const f of fs.readdirSync(dir)) {
        if (f === 'model.json' || /^group\d+-shard\d+of\d+\.bin$/.test(f)) fs.rmSync(path.join(dir, f));
      }
      const data = new Uint8Array(
        artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      const expected = expectedWeightBytes(artifacts.weightSpecs ?? []);
      if (expected !== data.byteLength) {
        throw new Error(`weight specs describe ${expected} bytes but the data has ${data.byteLength}`);
      }
      const n = Math.max(1, Math.ceil(data.byteLength / shardBytes));
      const paths = [];
      for (let i = 0; i < n; i++) {
        const name = `group1-shard${i + 1}of${n}.bin`;
        fs.writeFileSync(path.join(dir, name), data.subarray(i * shardBytes, (i + 1) * shardBytes));
        paths.push(name);
      }
      // Key order as tfjs's getModelJSONForModelArtifacts() writes it.
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      };
      for (const key of ['signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig']) {
        if (artifacts[key] != null) json[key] = artifacts[key];
      }
      Object.assign(json, opts.extra ?? {});
      const text = opts.pretty ? JSON.stringify(json, null, 1) : JSON.stringify(json);
      fs.writeFileSync(path.join(dir, 'model.json'), text + '\n');
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(0),
          modelTopologyType: 'JSON',
          modelTopologyBytes: text.length,
          weightSpecsBytes: JSON.stringify(json.weightsManifest).length,
          weightDataBytes: data.byteLength,
        },
      };
    },
  };
}

function expectedWeightBytes(specs) {
  let total = 0;
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const dtype = s.quantization ? s.quantization.dtype : s.dtype;
    const per = STORED_BYTES[dtype];
    if (per == null) throw new Error(`unsupported stored dtype ${dtype} for ${s.name}`);
    total += size * per;
  }
  return total;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of a number, rounding to nearest even. */
export function float16Bits(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    // Subnormal half (or zero).
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // may carry into Inf: correct
  return sign | half;
}

/** The number a binary16 bit pattern stands for. */
export function float16Value(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Weight specs and bytes for named arrays, in the given order.
 * @param {{ name: string, shape: number[], dtype: 'float32'|'int32', data: ArrayLike<number> }[]} entries
 * @param {{ float16?: boolean }} [opts] float16: store float32 weights as float16
 *   with the `quantization` entry tfjs-converter writes
 * @returns {{ weightSpecs: object[], weightData: ArrayBuffer }}
 */
export function encodeWeights(entries, opts = {}) {
  const parts = [];
  const weightSpecs = [];
  for (const e of entries) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.data.length !== size) throw new Error(`${e.name}: ${e.data.length} values for shape [${e.shape}]`);
    const spec = { name: e.name, shape: e.shape, dtype: e.dtype };
    if (opts.float16 && e.dtype === 'float32') {
      spec.quantization = { dtype: 'float16', original_dtype: 'float32' };
      parts.push(Uint16Array.from(e.data, float16Bits));
    } else if (e.dtype === 'float32') {
      parts.push(Float32Array.from(e.data));
    } else if (e.dtype === 'int32') {
      parts.push(Int32Array.from(e.data));
    } else {
      throw new Error(`unsupported dtype ${e.dtype}`);
    }
    weightSpecs.push(spec);
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
    off += p.byteLength;
  }
  return { weightSpecs, weightData: out.buffer };
}

const MIME = { '.json': 'application/json', '.bin': 'application/octet-stream', '.png': 'image/png' };

/**
 * Serves the files under `root` on 127.0.0.1 (a free port) until `close()`.
 * @param {string} root
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function serveStatic(root) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.resolve(base, '.' + rel);
    if (!file.startsWith(base + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { connection: 'close' }).end('not found');
      return;
    }
    // No keep-alive: a client that reuses an idle socket after the server's
    // keep-alive timeout gets ECONNRESET.
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', connection: 'close' });
    res.end(fs.readFileSync(file));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Sizes of the files in a folder, name -> bytes, sorted by name. */
export function folderSizes(dir) {
  const out = {};
  for (const f of fs.readdirSync(dir).sort()) {
    const st = fs.statSync(path.join(dir, f));
    if (st.isFile()) out[f] = st.size;
  }
  return out;
}
