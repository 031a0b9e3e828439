#!/usr/bin/env node
// Trains the demo's models on synthetic shape images and writes them, with sample
// images, into examples/demo/:
//
//   model/            input `image` [null,32,32,3] float32 in [0,1] -> `shape` softmax
//   model-multihead/  same input -> `shape` softmax and `color` softmax
//   model-v2/         the shape model's successor: the same network trained on data of which
//                     a share is hard to read (small, faint, noisy shapes)
//   samples/          held-out PNGs named by label (star_017.png), labels.csv
//   samples-hard/     hard held-out PNGs with labels.csv: the shape model is right on fewer
//                     of them than its confidence says (the demo calibrates on them)
//   samples-reference/  in-distribution PNGs with labels.csv, the demo's drift reference
//
//   node scripts/train-demo.mjs             train the models (a worker thread each), then check
//   node scripts/train-demo.mjs --only=v2   train only the named models (comma-separated keys;
//                                           --only= trains none: samples and the check only)
//   node scripts/train-demo.mjs --check     only check the committed models
//
// Reproducible: the data come from scripts/lib/shapes.mjs with fixed seeds, the
// initializers have fixed seeds, batches are taken in an order shuffled by our own
// PRNG (no tfjs shuffling), and tfjs's wasm backend is deterministic in node
// (single-threaded); so a run gives the same files.
//
// Backend: training runs on tfjs's wasm backend (its .wasm ships in the npm
// package: no download, no tfjs-node, no GPU), with the convolution gradients
// computed as forward convolutions (scripts/lib/fast-kernels.mjs, checked against
// float64 maths at start): the cpu backend's own gradient kernels would take
// about 90x longer. The check at the end runs the saved models on the cpu backend.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { createRng } from './lib/prng.mjs';
import { COLORS, SHAPES, SIZE, makeDataset } from './lib/shapes.mjs';
import { fileSaver, folderSizes, serveStatic } from './lib/model-io.mjs';
import { encodePng, decodePng } from './lib/png.mjs';
import '@tensorflow/tfjs-backend-wasm';
import { checkGradients, installConvGradients } from './lib/fast-kernels.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = path.join(ROOT, 'examples', 'demo');

const CONFIG = {
  seed: 5,
  trainSize: 10000,
  heldOutSize: 1500,
  epochs: 5,
  batchSize: 64,
  learningRate: 0.003,
  /** Learning rate multiplier per epoch (epoch e uses lr * decay^e). */
  lrDecay: 0.65,
  /** Share of the shape model's images drawn in dark ink on a light background. */
  inkProb: 0.15,
  samplesPerClass: 12,
  unlabelledSamples: 3,
  hardSamplesPerClass: 20,
  /** Share of hard images (scripts/lib/shapes.mjs `harden`) in model-v2's training data. */
  v2HardShare: 0.3,
  hardHeldOutSize: 500,
  referenceSamples: 300,
  sampleScale: 3,
};

// Seeds of the independent data streams.
const SEEDS = {
  train: CONFIG.seed * 1000 + 1,
  heldOut: CONFIG.seed * 1000 + 2,
  samples: CONFIG.seed * 1000 + 3,
  order: CONFIG.seed * 1000 + 4,
  init: CONFIG.seed * 1000 + 100,
  hardSamples: CONFIG.seed * 1000 + 5,
  hardHeldOut: CONFIG.seed * 1000 + 6,
  reference: CONFIG.seed * 1000 + 8,
};

const MODELS = {
  shape: {
    dir: path.join(DEMO, 'model'),
    heads: ['shape'],
    inkProb: CONFIG.inkProb,
    labels: SHAPES,
  },
  multihead: {
    dir: path.join(DEMO, 'model-multihead'),
    heads: ['shape', 'color'],
    inkProb: 0, // ink has no colour label
    labels: { shape: SHAPES, color: COLORS },
  },
  v2: {
    dir: path.join(DEMO, 'model-v2'),
    heads: ['shape'],
    inkProb: CONFIG.inkProb,
    hardProb: CONFIG.v2HardShare,
    labels: SHAPES,
  },
};

const CLASSES = { shape: SHAPES, color: COLORS };

// ---------------------------------------------------------------------------
// Model

function buildModel(heads) {
  let seed = SEEDS.init;
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  const conv = (filters, name) => tf.layers.conv2d({
    filters, kernelSize: 3, padding: 'same', activation: 'relu', name,
    kernelInitializer: init(), biasInitializer: 'zeros',
  });
  const image = tf.input({ shape: [SIZE, SIZE, 3], name: 'image', dtype: 'float32' });
  let x = conv(16, 'conv1').apply(image);
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x);
  x = conv(32, 'conv2').apply(x);
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(x);
  x = conv(64, 'conv3').apply(x);
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool3' }).apply(x);
  x = tf.layers.flatten({ name: 'flatten' }).apply(x);
  x = tf.layers.dense({ units: 64, activation: 'relu', name: 'hidden', kernelInitializer: init() }).apply(x);
  const outputs = heads.map((head) => tf.layers.dense({
    units: CLASSES[head].length, activation: 'softmax', name: head,
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
  }).apply(x));
  return tf.model({ inputs: image, outputs, name: heads.length > 1 ? 'shapes_multihead' : 'shapes' });
}

// ---------------------------------------------------------------------------
// Training (in a worker thread: one per model)

function oneHot(labels, indices, classes) {
  const out = new Float32Array(indices.length * classes);
  indices.forEach((i, k) => {
    out[k * classes + labels[i]] = 1;
  });
  return out;
}

function gather(x, indices) {
  const per = SIZE * SIZE * 3;
  const out = new Float32Array(indices.length * per);
  indices.forEach((i, k) => out.set(x.subarray(i * per, (i + 1) * per), k * per));
  return out;
}

/** Predicted class per head for a data set, in batches. */
async function predictAll(model, x, n, heads) {
  const per = SIZE * SIZE * 3;
  const preds = heads.map(() => new Int32Array(n));
  for (let start = 0; start < n; start += 256) {
    const end = Math.min(n, start + 256);
    const outs = tf.tidy(() => {
      let o = model.predict(tf.tensor4d(x.subarray(start * per, end * per), [end - start, SIZE, SIZE, 3]));
      if (!Array.isArray(o)) o = [o];
      return o.map((t) => t.argMax(-1));
    });
    for (let h = 0; h < heads.length; h++) {
      preds[h].set(await outs[h].data(), start);
    }
    tf.dispose(outs);
  }
  return preds;
}

/** Accuracy overall and per class of one head, over items whose label is >= 0. */
function accuracy(pred, truth, classes) {
  let right = 0;
  let total = 0;
  const perRight = new Array(classes.length).fill(0);
  const perTotal = new Array(classes.length).fill(0);
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] < 0) continue;
    total++;
    perTotal[truth[i]]++;
    if (pred[i] === truth[i]) {
      right++;
      perRight[truth[i]]++;
    }
  }
  const round = (v) => Math.round(v * 10000) / 10000;
  return {
    accuracy: round(right / total),
    evaluated: total,
    perClass: Object.fromEntries(classes.map((c, k) => [c, round(perRight[k] / perTotal[k])])),
  };
}

const BACKEND = 'wasm';

async function trainOne(key) {
  const spec = MODELS[key];
  const log = (msg) => console.log(`[${key}] ${msg}`);
  if (!(await tf.setBackend(BACKEND))) throw new Error(`tfjs backend ${BACKEND} is not available`);
  installConvGradients();
  await checkGradients();
  const t0 = Date.now();
  const cpuStart = process.cpuUsage();
  const train = makeDataset(SEEDS.train, CONFIG.trainSize, { inkProb: spec.inkProb, hardProb: spec.hardProb ?? 0 });
  const held = makeDataset(SEEDS.heldOut, CONFIG.heldOutSize, { inkProb: spec.inkProb });
  log(`data: ${CONFIG.trainSize} train, ${CONFIG.heldOutSize} held-out images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const model = buildModel(spec.heads);
  const optimizer = tf.train.adam(CONFIG.learningRate);
  model.compile({
    optimizer,
    loss: spec.heads.map(() => 'categoricalCrossentropy'),
    metrics: ['accuracy'],
  });
  log(`model: ${model.countParams()} parameters`);

  const orderRng = createRng(SEEDS.order);
  const n = CONFIG.trainSize;
  const bs = CONFIG.batchSize;
  const labelsOf = { shape: train.shape, color: train.color };
  for (let epoch = 0; epoch < CONFIG.epochs; epoch++) {
    const te = Date.now();
    const ce = process.cpuUsage();
    optimizer.learningRate = CONFIG.learningRate * CONFIG.lrDecay ** epoch;
    const order = orderRng.shuffle(Array.from({ length: n }, (_, i) => i));
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start + bs <= n; start += bs) {
      const idx = order.slice(start, start + bs);
      const xs = tf.tensor4d(gather(train.x, idx), [bs, SIZE, SIZE, 3]);
      const ys = spec.heads.map((h) => tf.tensor2d(oneHot(labelsOf[h], idx, CLASSES[h].length), [bs, CLASSES[h].length]));
      const res = await model.trainOnBatch(xs, ys.length === 1 ? ys[0] : ys);
      lossSum += Array.isArray(res) ? res[0] : res;
      batches++;
      tf.dispose([xs, ...ys]);
    }
    const preds = await predictAll(model, held.x, held.x.length / (SIZE * SIZE * 3), spec.heads);
    const accs = spec.heads.map((h, k) => `${h} ${(accuracy(preds[k], { shape: held.shape, color: held.color }[h], CLASSES[h]).accuracy * 100).toFixed(2)}%`);
    log(`epoch ${epoch + 1}/${CONFIG.epochs}: lr ${optimizer.learningRate.toFixed(5)}, loss ${(lossSum / batches).toFixed(4)}, ` +
      `held-out ${accs.join(', ')} (${((Date.now() - te) / 1000).toFixed(1)} s, cpu ${(process.cpuUsage(ce).user / 1e6).toFixed(1)} s)`);
  }

  const preds = await predictAll(model, held.x, CONFIG.heldOutSize, spec.heads);
  const heads = {};
  spec.heads.forEach((h, k) => {
    heads[h] = accuracy(preds[k], { shape: held.shape, color: held.color }[h], CLASSES[h]);
  });
  // Shapes in dark ink on a light background (like a mouse drawing), apart.
  const inkTruth = Int32Array.from(held.shape, (v, i) => (held.color[i] < 0 ? v : -1));
  const ink = spec.inkProb > 0 ? accuracy(preds[0], inkTruth, SHAPES) : null;
  // Hard images (small, faint, noisy), for a model that saw some in training.
  let hard = null;
  if (spec.hardProb) {
    const hardHeld = makeDataset(SEEDS.hardHeldOut, CONFIG.hardHeldOutSize, { inkProb: spec.inkProb, hardProb: 1 });
    const [hp] = await predictAll(model, hardHeld.x, CONFIG.hardHeldOutSize, ['shape']);
    hard = accuracy(hp, hardHeld.shape, SHAPES);
  }

  fs.rmSync(spec.dir, { recursive: true, force: true });
  await model.save(fileSaver(spec.dir));
  fs.writeFileSync(path.join(spec.dir, 'labels.json'), JSON.stringify(spec.labels) + '\n');
  const metrics = {
    model: path.relative(ROOT, spec.dir),
    task: 'synthetic 32x32 RGB shape images (scripts/lib/shapes.mjs)',
    input: { name: 'image', shape: [null, SIZE, SIZE, 3], dtype: 'float32', range: [0, 1] },
    outputs: spec.heads.map((h) => ({ name: h, classes: CLASSES[h] })),
    parameters: model.countParams(),
    trainSize: CONFIG.trainSize,
    heldOutSize: CONFIG.heldOutSize,
    inkShare: spec.inkProb,
    ...(spec.hardProb ? { hardShare: spec.hardProb } : {}),
    seed: CONFIG.seed,
    epochs: CONFIG.epochs,
    backend: `${BACKEND} (tfjs ${tf.version.tfjs})`,
    batchSize: CONFIG.batchSize,
    optimizer: { name: 'adam', learningRate: CONFIG.learningRate, decayPerEpoch: CONFIG.lrDecay },
    ...(spec.heads.length === 1
      ? {
        heldOutAccuracy: heads.shape.accuracy,
        perClassAccuracy: heads.shape.perClass,
        inkHeldOut: { size: ink.evaluated, accuracy: ink.accuracy },
        ...(hard ? { hardHeldOut: { size: hard.evaluated, accuracy: hard.accuracy } } : {}),
      }
      : { heads: Object.fromEntries(Object.entries(heads).map(([h, a]) => [h, {
        heldOutAccuracy: a.accuracy, evaluated: a.evaluated, perClassAccuracy: a.perClass,
      }])) }),
    generatedBy: 'scripts/train-demo.mjs',
  };
  fs.writeFileSync(path.join(spec.dir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  model.dispose();
  const cpu = process.cpuUsage(cpuStart).user / 1e6;
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s (cpu ${cpu.toFixed(1)} s): ` +
    Object.entries(heads).map(([h, a]) => `${h} held-out accuracy ${(a.accuracy * 100).toFixed(2)}%`).join(', '));
  return { heads, seconds: (Date.now() - t0) / 1000, cpuSeconds: cpu };
}

// ---------------------------------------------------------------------------
// Samples (main thread)

function writeSamples() {
  const dir = path.join(DEMO, 'samples');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const nLabelled = CONFIG.samplesPerClass * SHAPES.length;
  const n = nLabelled + CONFIG.unlabelledSamples;
  // Same distribution as the shape model's data, from a stream of its own.
  const ds = makeDataset(SEEDS.samples, n, { inkProb: CONFIG.inkProb });
  const per = SIZE * SIZE * 3;
  const rows = ['file,label'];
  const rowsMulti = ['file,shape,color'];
  const counts = {};
  for (let i = 0; i < n; i++) {
    const shape = SHAPES[ds.shape[i]];
    const color = ds.color[i] >= 0 ? COLORS[ds.color[i]] : '-1';
    let file;
    if (i < nLabelled) {
      counts[shape] = (counts[shape] ?? 0) + 1;
      file = `${shape}_${String(counts[shape]).padStart(3, '0')}.png`;
      rows.push(`${file},${shape}`);
      rowsMulti.push(`${file},${shape},${color}`);
    } else {
      file = `unlabelled_${String(i - nLabelled + 1).padStart(3, '0')}.png`;
      rows.push(`${file},-1`);
      rowsMulti.push(`${file},-1,-1`);
    }
    fs.writeFileSync(path.join(dir, file), encodePng(ds.x, SIZE, SIZE, { scale: CONFIG.sampleScale, offset: i * per }));
  }
  fs.writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'labels-multihead.csv'), rowsMulti.join('\n') + '\n');
  return n;
}

/**
 * Labelled samples at the model's size (noise does not compress): every image through
 * `harden` (for calibration), or of the training distribution (the drift reference).
 */
function writeSampleFolder(folder, prefix, seed, n, opts) {
  const dir = path.join(DEMO, folder);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const ds = makeDataset(seed, n, { inkProb: CONFIG.inkProb, ...opts });
  const per = SIZE * SIZE * 3;
  const rows = ['file,label'];
  const counts = {};
  for (let i = 0; i < n; i++) {
    const shape = SHAPES[ds.shape[i]];
    counts[shape] = (counts[shape] ?? 0) + 1;
    const file = `${prefix}_${shape}_${String(counts[shape]).padStart(3, '0')}.png`;
    rows.push(`${file},${shape}`);
    fs.writeFileSync(path.join(dir, file), encodePng(ds.x, SIZE, SIZE, { offset: i * per }));
  }
  fs.writeFileSync(path.join(dir, 'labels.csv'), rows.join('\n') + '\n');
  return n;
}

// ---------------------------------------------------------------------------
// Check (main thread): load the saved models over HTTP as a page would and
// classify the sample PNGs (decoded, downscaled by taking each block's centre).

async function checkSaved() {
  await tf.setBackend('cpu');
  const server = await serveStatic(DEMO);
  const lines = [];
  let failed = 0;
  try {
    const dir = path.join(DEMO, 'samples');
    const csv = fs.readFileSync(path.join(dir, 'labels-multihead.csv'), 'utf8').trim().split('\n').slice(1);
    const items = csv.map((l) => l.split(','));
    const x = new Float32Array(items.length * SIZE * SIZE * 3);
    items.forEach(([file], k) => {
      const { width, rgb } = decodePng(fs.readFileSync(path.join(dir, file)));
      const s = width / SIZE;
      for (let y = 0; y < SIZE; y++) {
        for (let xx = 0; xx < SIZE; xx++) {
          const src = ((y * s + Math.floor(s / 2)) * width + xx * s + Math.floor(s / 2)) * 3;
          x.set(rgb.subarray(src, src + 3), (k * SIZE * SIZE + y * SIZE + xx) * 3);
        }
      }
    });
    for (const [key, spec] of Object.entries(MODELS)) {
      const rel = path.relative(DEMO, spec.dir);
      const model = await tf.loadLayersModel(`${server.url}/${rel}/model.json`);
      const metrics = JSON.parse(fs.readFileSync(path.join(spec.dir, 'metrics.json'), 'utf8'));
      const io = `${model.inputNames[0]} [${model.inputs[0].shape.map((d) => d ?? 'null')}] -> ` +
        model.outputNames.map((o, k) => `${o} [${model.outputs[k].shape.map((d) => d ?? 'null')}]`).join(', ');
      if (JSON.stringify(model.outputNames) !== JSON.stringify(spec.heads) || model.inputNames[0] !== 'image') {
        failed++;
        lines.push(`FAIL ${rel}: unexpected names ${io}`);
        continue;
      }
      const preds = await predictAll(model, x, items.length, spec.heads);
      // The held-out set again, from its seed, through the saved files on this backend.
      const held = makeDataset(SEEDS.heldOut, CONFIG.heldOutSize, { inkProb: spec.inkProb });
      const heldPreds = await predictAll(model, held.x, CONFIG.heldOutSize, spec.heads);
      let ok = true;
      const parts = spec.heads.map((h, k) => {
        const truth = Int32Array.from(items, (it) => CLASSES[h].indexOf(it[h === 'shape' ? 1 : 2]));
        const a = accuracy(preds[k], truth, CLASSES[h]);
        const recorded = spec.heads.length === 1 ? metrics.heldOutAccuracy : metrics.heads[h].heldOutAccuracy;
        const again = accuracy(heldPreds[k], { shape: held.shape, color: held.color }[h], CLASSES[h]).accuracy;
        // Another backend may flip an argmax that was a near tie, not more.
        if (Math.abs(again - recorded) > 0.003) ok = false;
        return `${h}: held-out ${(recorded * 100).toFixed(2)}% (metrics.json), ${(again * 100).toFixed(2)}% (reloaded, ${tf.getBackend()}); ` +
          `samples ${(a.accuracy * 100).toFixed(1)}% of ${a.evaluated}`;
      });
      if (!ok) failed++;
      lines.push(`${ok ? 'ok  ' : 'FAIL'} ${rel}: ${io}; ${parts.join('; ')}`);
      model.dispose();
      const sizes = folderSizes(spec.dir);
      lines.push(`     ${Object.entries(sizes).map(([f, b]) => `${f} ${b} B`).join(', ')}`);
    }
  } finally {
    await server.close();
  }
  for (const l of lines) console.log(l);
  return failed;
}

// ---------------------------------------------------------------------------

if (!isMainThread) {
  const result = await trainOne(workerData.key);
  parentPort.postMessage(result);
} else {
  const t0 = Date.now();
  if (!process.argv.includes('--check')) {
    const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',').filter(Boolean);
    const unknown = only?.filter((k) => !(k in MODELS)) ?? [];
    if (unknown.length) {
      console.error(`--only: no model ${unknown.join(', ')}; the models are ${Object.keys(MODELS).join(', ')}`);
      process.exit(2);
    }
    const keys = only ?? Object.keys(MODELS);
    console.log(keys.length ? `training ${keys.join(' and ')} in parallel on ${BACKEND} (config ${JSON.stringify(CONFIG)})` : 'no model to train: samples and the check only');
    const runs = keys.map((key) => new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { key } });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`worker ${key} exited with ${code}`)));
    }));
    const n = writeSamples();
    const hard = writeSampleFolder('samples-hard', 'hard', SEEDS.hardSamples, CONFIG.hardSamplesPerClass * SHAPES.length, { hardProb: 1 });
    const reference = writeSampleFolder('samples-reference', 'ref', SEEDS.reference, CONFIG.referenceSamples, {});
    console.log(`wrote ${n} sample images to examples/demo/samples/, ${hard} to samples-hard/, ${reference} to samples-reference/`);
    await Promise.all(runs);
  }
  const failed = await checkSaved();
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (failed) process.exit(1);
}
