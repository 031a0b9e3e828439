#!/usr/bin/env node
// Generates the small test models in test/fixtures/ and checks them.
//
//   node scripts/make-fixtures.mjs           regenerate every fixture, then check them
//   node scripts/make-fixtures.mjs --check   only check the committed fixtures
//
// Everything is reproducible: tfjs initializers get fixed seeds, other random
// numbers come from scripts/lib/prng.mjs, and the output is byte-identical from
// run to run. The check serves test/fixtures/ on 127.0.0.1 and loads each model
// with tf.loadLayersModel / tf.loadGraphModel over HTTP (tfjs's own loader, as a
// page uses it), runs the inputs in its expected.json, and compares the outputs
// with expected.json and, for graph models, with the same maths done in plain JS.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createRng } from './lib/prng.mjs';
import { encodeWeights, fileSaver, float16Bits, float16Value, folderSizes, serveStatic } from './lib/model-io.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'test', 'fixtures');
const SEED = 20240601;

// ---------------------------------------------------------------------------
// Small helpers

const glorot = (seed) => tf.initializers.glorotUniform({ seed });
const smallUniform = (seed) => tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed });

/** `n` uniform values in [lo, hi) from `rng`, rounded to float32. */
function uniformArray(rng, n, lo, hi) {
  return Array.from({ length: n }, () => Math.fround(rng.uniform(lo, hi)));
}

/** Like uniformArray, on a grid of 1/256 (exact in float32, short in JSON): test inputs. */
function gridArray(rng, n, lo, hi) {
  return Array.from({ length: n }, () => Math.round(rng.uniform(lo, hi) * 256) / 256);
}

function writeJson(file, value, pretty = true) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, (pretty ? JSON.stringify(value, null, 1) : JSON.stringify(value)) + '\n');
}

/** A TensorData-like record for expected.json. */
function tensorRecord(dtype, shape, data) {
  return { dtype, shape, data: Array.from(data) };
}

const dims = (shape) => ({ dim: shape.map((s) => ({ size: String(s) })) });
const attrType = (t) => ({ type: t });
const T_FLOAT = { T: attrType('DT_FLOAT') };
const NHWC = { data_format: { s: Buffer.from('NHWC').toString('base64') } };

function placeholder(name, dtype, shape) {
  return { name, op: 'Placeholder', attr: { shape: { shape: dims(shape) }, dtype: attrType(dtype) } };
}
function constNode(name, dtype, shape) {
  return { name, op: 'Const', attr: { value: { tensor: { dtype, tensorShape: dims(shape) } }, dtype: attrType(dtype) } };
}
function sigEntry(name, dtype, shape) {
  return { name: `${name}:0`, dtype, tensorShape: dims(shape) };
}

// ---------------------------------------------------------------------------
// Plain-JS maths for the graph fixtures' reference outputs

function matmul(a, rows, inner, b, cols) {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < inner; k++) {
      const av = a[i * inner + k];
      for (let j = 0; j < cols; j++) out[i * cols + j] += av * b[k * cols + j];
    }
  }
  return out;
}
function addBias(x, rows, cols, bias) {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) x[i * cols + j] += bias[j];
  return x;
}
function softmaxRows(x, rows, cols) {
  for (let i = 0; i < rows; i++) {
    const row = x.subarray(i * cols, (i + 1) * cols);
    const m = Math.max(...row);
    let s = 0;
    for (let j = 0; j < cols; j++) s += (row[j] = Math.exp(row[j] - m));
    for (let j = 0; j < cols; j++) row[j] /= s;
  }
  return x;
}

// ---------------------------------------------------------------------------
// Fixtures. Each builder writes its folder (unless dir is null) and returns
// { inputs, reference }: test inputs, and the outputs computed independently of
// the saved files (the in-memory layers model; plain-JS maths for graph models).

async function layersCnn(dir) {
  const image = tf.input({ shape: [16, 16, 3], name: 'image', dtype: 'float32' });
  let x = tf.layers.conv2d({
    filters: 4, kernelSize: 3, activation: 'relu', name: 'conv',
    kernelInitializer: glorot(SEED + 1), biasInitializer: smallUniform(SEED + 2),
  }).apply(image);
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x);
  x = tf.layers.flatten({ name: 'flatten' }).apply(x);
  const probs = tf.layers.dense({
    units: 5, activation: 'softmax', name: 'probs',
    kernelInitializer: glorot(SEED + 3), biasInitializer: smallUniform(SEED + 4),
  }).apply(x);
  const model = tf.model({ inputs: image, outputs: probs, name: 'layers_cnn' });
  if (dir) {
    // 1 KiB shards: the ~4.4 KB of weights span 5 files, tensors cut across files.
    await model.save(fileSaver(dir, { shardBytes: 1024 }));
    writeJson(path.join(dir, 'labels.json'), ['a', 'b', 'c', 'd', 'e'], false);
  }

  const rng = createRng(SEED + 10);
  const input = gridArray(rng, 2 * 16 * 16 * 3, 0, 1);
  const out = tf.tidy(() => model.predict(tf.tensor(input, [2, 16, 16, 3])).dataSync());
  model.dispose();
  return {
    inputs: { image: tensorRecord('float32', [2, 16, 16, 3], input) },
    reference: { probs: { shape: [2, 5], data: Array.from(out) } },
  };
}

async function layersMulti(dir) {
  const features = tf.input({ shape: [8], name: 'features', dtype: 'float32' });
  const trunk = tf.layers.dense({
    units: 16, activation: 'relu', name: 'trunk',
    kernelInitializer: glorot(SEED + 21), biasInitializer: smallUniform(SEED + 22),
  }).apply(features);
  const kind = tf.layers.dense({
    units: 3, activation: 'softmax', name: 'kind',
    kernelInitializer: glorot(SEED + 23), biasInitializer: smallUniform(SEED + 24),
  }).apply(trunk);
  const score = tf.layers.dense({
    units: 1, activation: 'sigmoid', name: 'score',
    kernelInitializer: glorot(SEED + 25), biasInitializer: smallUniform(SEED + 26),
  }).apply(trunk);
  const model = tf.model({ inputs: features, outputs: [kind, score], name: 'layers_multi' });
  if (dir) await model.save(fileSaver(dir));

  const rng = createRng(SEED + 30);
  const input = gridArray(rng, 3 * 8, -1, 1);
  const [k, s] = tf.tidy(() => model.predict(tf.tensor(input, [3, 8])).map((t) => t.dataSync()));
  model.dispose();
  return {
    inputs: { features: tensorRecord('float32', [3, 8], input) },
    reference: { kind: { shape: [3, 3], data: Array.from(k) }, score: { shape: [3, 1], data: Array.from(s) } },
  };
}

/** Weights of the graph MLP, shared by graph-mlp and graph-f16. */
function mlpWeights() {
  const rng = createRng(SEED + 40);
  return {
    W1: uniformArray(rng, 8 * 16, -0.6, 0.6),
    b1: uniformArray(rng, 16, -0.1, 0.1),
    W2: uniformArray(rng, 16 * 4, -0.6, 0.6),
    b2: uniformArray(rng, 4, -0.1, 0.1),
  };
}

async function graphMlp(dir, { float16 = false } = {}) {
  const w = mlpWeights();
  const nodes = [
    constNode('dense/kernel', 'DT_FLOAT', [8, 16]),
    constNode('dense/bias', 'DT_FLOAT', [16]),
    constNode('dense_1/kernel', 'DT_FLOAT', [16, 4]),
    constNode('dense_1/bias', 'DT_FLOAT', [4]),
    placeholder('x', 'DT_FLOAT', [-1, 8]),
    { name: 'dense/MatMul', op: 'MatMul', input: ['x', 'dense/kernel'],
      attr: { ...T_FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'dense/BiasAdd', op: 'BiasAdd', input: ['dense/MatMul', 'dense/bias'], attr: { ...T_FLOAT, ...NHWC } },
    { name: 'dense/Relu', op: 'Relu', input: ['dense/BiasAdd'], attr: { ...T_FLOAT } },
    { name: 'dense_1/MatMul', op: 'MatMul', input: ['dense/Relu', 'dense_1/kernel'],
      attr: { ...T_FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'dense_1/BiasAdd', op: 'BiasAdd', input: ['dense_1/MatMul', 'dense_1/bias'], attr: { ...T_FLOAT, ...NHWC } },
    { name: 'probs', op: 'Softmax', input: ['dense_1/BiasAdd'], attr: { ...T_FLOAT } },
  ];
  const { weightSpecs, weightData } = encodeWeights([
    { name: 'dense/kernel', shape: [8, 16], dtype: 'float32', data: w.W1 },
    { name: 'dense/bias', shape: [16], dtype: 'float32', data: w.b1 },
    { name: 'dense_1/kernel', shape: [16, 4], dtype: 'float32', data: w.W2 },
    { name: 'dense_1/bias', shape: [4], dtype: 'float32', data: w.b2 },
  ], { float16 });
  if (dir) await fileSaver(dir, { pretty: true }).save({
    modelTopology: { node: nodes, library: {}, versions: {} },
    format: 'graph-model',
    generatedBy: 'inpage scripts/make-fixtures.mjs',
    convertedBy: 'hand-written GraphDef (tfjs-converter layout)',
    signature: {
      inputs: { x: sigEntry('x', 'DT_FLOAT', [-1, 8]) },
      outputs: { probs: sigEntry('probs', 'DT_FLOAT', [-1, 4]) },
    },
    weightSpecs,
    weightData,
  });

  const rng = createRng(SEED + 50);
  const input = gridArray(rng, 3 * 8, -1, 1);
  // Reference: the same maths in float64, with the weights as stored.
  const q = (a) => (float16 ? a.map((v) => float16Value(float16Bits(v))) : a);
  const h = addBias(matmul(input, 3, 8, q(w.W1), 16), 3, 16, q(w.b1)).map((v) => Math.max(0, v));
  const ref = softmaxRows(addBias(matmul(h, 3, 16, q(w.W2), 4), 3, 4, q(w.b2)), 3, 4);
  return {
    inputs: { x: tensorRecord('float32', [3, 8], input) },
    reference: { probs: { shape: [3, 4], data: Array.from(ref) } },
  };
}

async function graphTwoIo(dir) {
  const rng = createRng(SEED + 60);
  const wv = uniformArray(rng, 4, -2, 2);
  const nodes = [
    placeholder('a', 'DT_FLOAT', [-1, 4]),
    placeholder('b', 'DT_INT32', [-1, 4]),
    constNode('w', 'DT_FLOAT', [4]),
    { name: 'b_float', op: 'Cast', input: ['b'],
      attr: { SrcT: attrType('DT_INT32'), Truncate: { b: false }, DstT: attrType('DT_FLOAT') } },
    { name: 'sum', op: 'AddV2', input: ['a', 'b_float'], attr: { ...T_FLOAT } },
    { name: 'prod', op: 'Mul', input: ['a', 'w'], attr: { ...T_FLOAT } },
  ];
  const { weightSpecs, weightData } = encodeWeights([{ name: 'w', shape: [4], dtype: 'float32', data: wv }]);
  if (dir) await fileSaver(dir, { pretty: true }).save({
    modelTopology: { node: nodes, library: {}, versions: {} },
    format: 'graph-model',
    generatedBy: 'inpage scripts/make-fixtures.mjs',
    convertedBy: 'hand-written GraphDef (tfjs-converter layout)',
    weightSpecs,
    weightData,
  });

  const a = gridArray(rng, 2 * 4, -1, 1);
  const b = Array.from({ length: 2 * 4 }, () => rng.int(11) - 5);
  return {
    inputs: { a: tensorRecord('float32', [2, 4], a), b: tensorRecord('int32', [2, 4], b) },
    reference: {
      sum: { shape: [2, 4], data: a.map((v, i) => v + b[i]) },
      prod: { shape: [2, 4], data: a.map((v, i) => Math.fround(v * wv[i % 4])) },
    },
  };
}

const BUILD = {
  'layers-cnn': layersCnn,
  'layers-multi': layersMulti,
  'graph-mlp': (dir) => graphMlp(dir),
  'graph-two-io': graphTwoIo,
  'graph-f16': (dir) => graphMlp(dir, { float16: true }),
};

const FIXTURES = [
  { name: 'layers-cnn', kind: 'layers', inputNames: ['image'], outputNames: ['probs'] },
  { name: 'layers-multi', kind: 'layers', inputNames: ['features'], outputNames: ['kind', 'score'] },
  { name: 'graph-mlp', kind: 'graph', inputNames: ['x'], outputNames: ['probs'] },
  { name: 'graph-two-io', kind: 'graph', inputNames: ['a', 'b'], outputNames: ['sum', 'prod'] },
  { name: 'graph-f16', kind: 'graph', inputNames: ['x'], outputNames: ['probs'] },
];

async function generate() {
  for (const f of FIXTURES) {
    const dir = path.join(OUT, f.name);
    fs.rmSync(dir, { recursive: true, force: true });
    const { inputs } = await BUILD[f.name](dir);
    // expected.json: what tfjs (cpu backend) computes from the saved files.
    const outputs = await runSaved(f, inputs, dir);
    writeJson(path.join(dir, 'expected.json'), { inputs, outputs }, false);
  }
}

/** Loads a saved model from a folder (read from disk) and runs `inputs`. */
async function runSaved(f, inputs, dir) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const handler = {
    load: () => tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const buffers = [];
      const specs = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const b = fs.readFileSync(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
        }
        specs.push(...group.weights);
      }
      return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
    }),
  };
  const model = f.kind === 'graph' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  try {
    return await predictNamed(model, f, inputs);
  } finally {
    model.dispose();
  }
}

/** Runs a loaded model on named inputs; returns outputs keyed by f.outputNames. */
async function predictNamed(model, f, inputs) {
  const feeds = {};
  for (const name of f.inputNames) {
    const r = inputs[name];
    feeds[name] = tf.tensor(r.data, r.shape, r.dtype);
  }
  let outs;
  if (f.kind === 'graph') {
    // Output keys: signature keys where there is a signature, else node names.
    if (JSON.stringify(model.outputNodes) !== JSON.stringify(f.outputNames)) {
      throw new Error(`${f.name}: output nodes ${JSON.stringify(model.outputNodes)}, expected ${JSON.stringify(f.outputNames)}`);
    }
    if (JSON.stringify(model.inputNodes) !== JSON.stringify(f.inputNames)) {
      throw new Error(`${f.name}: input nodes ${JSON.stringify(model.inputNodes)}, expected ${JSON.stringify(f.inputNames)}`);
    }
    outs = model.execute(feeds, f.outputNames);
  } else {
    if (JSON.stringify(model.outputNames) !== JSON.stringify(f.outputNames)) {
      throw new Error(`${f.name}: outputNames ${JSON.stringify(model.outputNames)}, expected ${JSON.stringify(f.outputNames)}`);
    }
    if (JSON.stringify(model.inputNames) !== JSON.stringify(f.inputNames)) {
      throw new Error(`${f.name}: inputNames ${JSON.stringify(model.inputNames)}, expected ${JSON.stringify(f.inputNames)}`);
    }
    outs = model.predict(f.inputNames.map((n) => feeds[n]));
  }
  if (!Array.isArray(outs)) outs = [outs];
  const result = {};
  for (let i = 0; i < f.outputNames.length; i++) {
    result[f.outputNames[i]] = tensorRecord(outs[i].dtype, outs[i].shape, await outs[i].data());
  }
  tf.dispose([...Object.values(feeds), ...outs]);
  return result;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Loads every fixture over HTTP and compares outputs with expected.json. */
async function check() {
  const server = await serveStatic(OUT);
  let failed = 0;
  try {
    for (const f of FIXTURES) {
      const dir = path.join(OUT, f.name);
      const url = `${server.url}/${f.name}/model.json`;
      try {
        const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
        const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
        const shards = json.weightsManifest.flatMap((g) => g.paths);
        const model = f.kind === 'graph' ? await tf.loadGraphModel(url) : await tf.loadLayersModel(url);
        let got;
        try {
          got = await predictNamed(model, f, expected.inputs);
        } finally {
          model.dispose();
        }
        const parts = [];
        for (const name of f.outputNames) {
          const e = expected.outputs[name];
          const g = got[name];
          if (JSON.stringify(g.shape) !== JSON.stringify(e.shape)) {
            throw new Error(`output ${name}: shape [${g.shape}], expected [${e.shape}]`);
          }
          const d = maxAbsDiff(g.data, e.data);
          if (!(d <= 1e-6)) throw new Error(`output ${name}: max |diff| ${d} from expected.json`);
          parts.push(`${name} [${g.shape}] ${g.dtype}`);
        }
        // The same outputs computed without the saved files, from this script's code.
        const { reference } = await BUILD[f.name](null);
        for (const [name, r] of Object.entries(reference)) {
          const d = maxAbsDiff(got[name].data, r.data);
          if (!(d <= 1e-5)) throw new Error(`output ${name}: max |diff| ${d} from the ${f.kind === 'graph' ? 'plain-JS maths' : 'in-memory model'}`);
        }
        console.log(`ok   ${f.name.padEnd(13)} ${f.kind} model, ${shards.length} shard(s); ` +
          `inputs ${f.inputNames.map((n) => `${n} [${expected.inputs[n].shape}] ${expected.inputs[n].dtype}`).join(', ')}` +
          ` -> ${parts.join('; ')}`);
      } catch (err) {
        failed++;
        console.error(`FAIL ${f.name}: ${err.stack ?? err}`);
      }
    }
  } finally {
    await server.close();
  }
  return failed;
}

// ---------------------------------------------------------------------------

const t0 = Date.now();
await tf.setBackend('cpu');
const checkOnly = process.argv.includes('--check');
if (!checkOnly) {
  await generate();
  for (const f of FIXTURES) {
    const sizes = folderSizes(path.join(OUT, f.name));
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    console.log(`wrote test/fixtures/${f.name}/ (${total} bytes): ${Object.keys(sizes).join(', ')}`);
  }
}
const failed = await check();
console.log(`${FIXTURES.length - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
if (failed) process.exit(1);
