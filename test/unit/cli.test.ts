// The command line (`inpage inspect`, `inpage types`, errors and --help), checked against
// facts read here independently: model.json itself, the runtime's loader on tfjs's CPU
// backend, tfjs's kernel registry and a profile of a real run.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../../src/cli/inspect.js';
import { main } from '../../src/cli/main.js';
import { parseModelJson } from '../../src/engine/fetch.js';
import { checkShardSizes } from '../../src/engine/files.js';
import { buildModel } from '../../src/engine/loader.js';
import { InpageError } from '../../src/errors.js';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const HUMAN = join(ROOT, 'node_modules', '@vladmandic', 'human-models', 'models');
const real = (name: string) => join(HUMAN, `${name}.json`);
const fixture = (name: string) => join(FIXTURES, name, 'model.json');
const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** Runs the CLI in-process: exit code, stdout, stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join(''), err: err.join('') };
}

async function inspect(path: string): Promise<InspectReport> {
  const r = await cli('inspect', path, '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as InspectReport;
}

interface Json {
  modelTopology: { node?: { op: string }[]; library?: { function?: { nodeDef?: { op: string }[] }[] } };
  weightsManifest: { paths: string[]; weights: { shape: number[]; dtype: string; quantization?: { dtype: string } }[] }[];
  generatedBy?: string;
  convertedBy?: string;
}
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;

/** The model as the runtime builds it (the loader, on tfjs's CPU backend). */
async function runtimeView(path: string) {
  const json = readJson(path);
  const files = new Map<string, ArrayBuffer>([[basename(path), new Uint8Array(readFileSync(path)).buffer]]);
  for (const p of json.weightsManifest.flatMap((g) => g.paths)) files.set(p, new Uint8Array(readFileSync(join(dirname(path), p))).buffer);
  const built = await buildModel({ modelFile: basename(path), files });
  const view = { inputs: built.inputs, outputs: built.outputs, async: built.async, format: built.format };
  built.model.dispose();
  return view;
}

const MODELS = {
  emotion: real('emotion'),
  faceboxes: real('faceboxes'),
  antispoof: real('antispoof'),
  ...Object.fromEntries(readdirSync(FIXTURES).filter((d) => existsSync(fixture(d))).map((d) => [d, fixture(d)])),
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('inpage inspect --json', () => {
  it.each(Object.entries(MODELS))('%s: format, producer, signature and execution as the runtime reads them', async (_, path) => {
    const before = tf.memory().numTensors;
    const r = await inspect(path);
    const rt = await runtimeView(path);
    expect(tf.memory().numTensors).toBe(before);
    const json = readJson(path);
    expect(r.format).toBe(rt.format);
    const producer = Object.entries({ generatedBy: json.generatedBy, convertedBy: json.convertedBy }).filter(([, v]) => typeof v === 'string');
    expect(r.producer).toEqual(Object.fromEntries(producer));
    expect(r.executeAsync).toBe(rt.async);
    if (rt.format === 'graph') {
      expect(r.inputs).toEqual(rt.inputs);
      expect(r.outputs).toEqual(rt.outputs);
    } else {
      // Layers: output shapes need tfjs's shape inference, which the CLI does without.
      expect(r.inputs).toEqual(rt.inputs);
      expect(r.outputs.map((o) => [o.name, o.dtype])).toEqual(rt.outputs.map((o) => [o.name, o.dtype]));
      expect(r.outputs.every((o) => o.shape === null)).toBe(true);
    }
  });

  it.each(Object.entries(MODELS))('%s: op counts, weight bytes by dtype and shard sizes from the files', async (_, path) => {
    const r = await inspect(path);
    const json = readJson(path);
    if (r.format === 'graph') {
      const nodes = [...(json.modelTopology.node ?? []), ...(json.modelTopology.library?.function ?? []).flatMap((f) => f.nodeDef ?? [])];
      const counts: Record<string, number> = {};
      for (const n of nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
      expect(Object.fromEntries(r.ops.map((o) => [o.op, o.count]))).toEqual(counts);
    }
    const shards = json.weightsManifest.flatMap((g) => g.paths);
    expect(r.shards).toEqual(shards.map((p) => ({ path: p, bytes: statSync(join(dirname(path), p)).size })));
    // Every stored byte is in the shards, whatever the quantization.
    expect(r.weights.bytes).toBe(r.shards.reduce((n, s) => n + s.bytes, 0));
    const weights = json.weightsManifest.flatMap((g) => g.weights);
    expect(r.weights.byDtype.reduce((n, g) => n + g.tensors, 0)).toBe(weights.length);
  });

  it('emotion: float32, one shard, batchable, no control flow', async () => {
    const r = await inspect(MODELS.emotion);
    expect(r.inputs).toEqual([{ name: 'input_1:0', dtype: 'float32', shape: [null, 64, 64, 1] }]);
    expect(r.outputs).toEqual([{ name: 'Identity:0', dtype: 'float32', shape: [null, 7] }]);
    expect([r.executeAsync, r.batchable]).toEqual([false, true]);
    expect(r.unsupported).toEqual([]);
  });

  it('faceboxes: control flow needs executeAsync and forbids batching', async () => {
    const r = await inspect(MODELS.faceboxes);
    expect(r.executeAsync).toBe(true);
    expect(r.asyncOps).toEqual(expect.arrayContaining(['LoopCond', 'NonMaxSuppressionV3', 'Switch', 'Merge']));
    expect(r.batchable).toBe(false);
    expect(r.inputs).toEqual([{ name: 'image_tensor', dtype: 'int32', shape: [null, null, null, 3] }]);
  });

  it('antispoof: float16 quantization shown, loaded size doubled', async () => {
    const r = await inspect(MODELS.antispoof);
    const weights = readJson(MODELS.antispoof).weightsManifest.flatMap((g) => g.weights);
    const f16 = weights.filter((w) => w.quantization?.dtype === 'float16');
    const elements = f16.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(f16.length).toBeGreaterThan(0);
    expect(r.weights.byDtype).toContainEqual({ dtype: 'float32', quantization: 'float16', tensors: f16.length, bytes: elements * 2, loadedBytes: elements * 4 });
    const text = await cli('inspect', MODELS.antispoof);
    expect(text.out).toMatch(/float32 \(quantized to float16\)/);
  });

  it('kernel support agrees with tfjs\'s registry and covers every kernel a real run uses', async () => {
    for (const name of ['emotion', 'antispoof'] as const) {
      const r = await inspect(MODELS[name]);
      for (const o of r.ops) {
        expect(o.kernels, o.op).not.toBeNull();
        const lacking = BACKENDS.filter((b) => (o.kernels ?? []).some((k) => !tf.getKernel(k, b)));
        expect(o.missing, o.op).toEqual(lacking);
      }
      // A real run on CPU: every kernel it dispatches is one the report names.
      const json = readJson(MODELS[name]);
      const files = new Map<string, ArrayBuffer>([['m.json', new Uint8Array(readFileSync(MODELS[name])).buffer]]);
      for (const p of json.weightsManifest.flatMap((g) => g.paths)) files.set(p, new Uint8Array(readFileSync(join(HUMAN, p))).buffer);
      const built = await buildModel({ modelFile: 'm.json', files });
      const shape = (r.inputs[0]?.shape ?? []).map((d) => d ?? 1);
      const x = tf.zeros(shape);
      const before = tf.memory().numTensors;
      const profile = await tf.profile(async () => {
        const out = (built.model as { execute(x: tf.Tensor): tf.Tensor | tf.Tensor[] }).execute(x);
        tf.dispose(out);
      });
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      built.model.dispose();
      const ran = new Set(profile.kernelNames.filter((k) => tf.getKernel(k, 'cpu')));
      const reported = new Set(r.ops.flatMap((o) => o.kernels ?? []));
      expect([...ran].filter((k) => !reported.has(k)), name).toEqual([]);
      expect(ran.size).toBeGreaterThan(3);
    }
  }, 60_000);

  it('names an op some backend lacks, and one tfjs does not know, with the backends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inpage-cli-'));
    try {
      const json = JSON.parse(readFileSync(fixture('graph-mlp'), 'utf8'));
      json.modelTopology.node.push(
        { name: 'e', op: 'Einsum', input: ['x'], attr: { equation: { s: btoa('ij->ji') } } },
        { name: 'c', op: 'InpageCustomOp', input: ['e'] },
      );
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      writeFileSync(join(dir, 'group1-shard1of1.bin'), readFileSync(join(FIXTURES, 'graph-mlp', 'group1-shard1of1.bin')));
      const r = await inspect(join(dir, 'model.json'));
      const einsumLacks = BACKENDS.filter((b) => !tf.getKernel('Einsum', b));
      expect(einsumLacks.length).toBeGreaterThan(0);
      expect(r.unsupported).toEqual(expect.arrayContaining([
        { op: 'Einsum', backends: einsumLacks },
        { op: 'InpageCustomOp', backends: [...BACKENDS] },
      ]));
      const text = await cli('inspect', join(dir, 'model.json'));
      expect(text.out).toContain(`Einsum (no kernel on ${einsumLacks.join(', ')})`);
      expect(text.out).toContain('InpageCustomOp (no kernel on webgpu, webgl, wasm, cpu)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('over http', () => {
    let server: Server;
    let base = '';
    beforeAll(async () => {
      server = createServer((req, res) => {
        const file = join(FIXTURES, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
        if (!file.startsWith(FIXTURES) || !existsSync(file) || statSync(file).isDirectory()) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200).end(readFileSync(file));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('inspects a URL like the same file on disk', async () => {
      const byUrl = await inspect(`${base}/layers-cnn/model.json`);
      const byPath = await inspect(fixture('layers-cnn'));
      expect({ ...byUrl, model: '' }).toEqual({ ...byPath, model: '' });
    });

    it('reports a 404 with the runtime\'s coded message', async () => {
      const r = await cli('inspect', `${base}/nothing/model.json`);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^inpage inspect: MODEL_LOAD_FAILED: Could not download model\.json: HTTP 404/);
    });
  });
});

describe('inpage errors and help', () => {
  it('gives a broken model.json the runtime\'s coded message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inpage-cli-'));
    try {
      for (const [text, code] of [['{ not json', 'MODEL_LOAD_FAILED'], ['{"format":"graph-model"}', 'MODEL_LOAD_FAILED']] as const) {
        writeFileSync(join(dir, 'model.json'), text);
        let thrown: InpageError | undefined;
        try {
          parseModelJson(new TextEncoder().encode(text).buffer as ArrayBuffer, 'model.json');
        } catch (e) {
          thrown = e as InpageError;
        }
        expect(thrown?.code).toBe(code);
        for (const cmd of ['inspect', 'types', 'hash']) {
          const r = await cli(cmd, join(dir, 'model.json'));
          expect(r.code).toBe(1);
          expect(r.err).toBe(`inpage ${cmd}: ${code}: ${thrown?.message}\n`);
        }
      }
      // A cut shard: the runtime's size check and message.
      const json = readFileSync(fixture('graph-mlp'));
      const shard = readFileSync(join(FIXTURES, 'graph-mlp', 'group1-shard1of1.bin')).subarray(0, 10);
      writeFileSync(join(dir, 'model.json'), json);
      writeFileSync(join(dir, 'group1-shard1of1.bin'), shard);
      let sizeError: InpageError | undefined;
      try {
        checkShardSizes({ modelFile: 'model.json', files: new Map([['model.json', new Uint8Array(json).buffer], ['group1-shard1of1.bin', new Uint8Array(shard).buffer]]) });
      } catch (e) {
        sizeError = e as InpageError;
      }
      expect(sizeError?.message).toMatch(/holds 10 bytes/);
      const cut = await cli('inspect', join(dir, 'model.json'));
      expect([cut.code, cut.err]).toEqual([1, `inpage inspect: MODEL_LOAD_FAILED: ${sizeError?.message}\n`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 with a clear message on a missing file, a missing argument, unknown commands and flags', async () => {
    const missing = await cli('inspect', join(FIXTURES, 'no-such', 'model.json'));
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/^inpage inspect: MODEL_LOAD_FAILED: Could not read model\.json/)]);
    const cases: [string[], RegExp][] = [
      [['inspect'], /inpage inspect: the path or URL of a model\.json is missing/],
      [['inspect', 'a.json', 'b.json'], /one model\.json expected, got 2/],
      [['inspect', fixture('graph-mlp'), '--jsn'], /inpage inspect: unknown option --jsn/],
      [['types', fixture('graph-mlp'), '--name'], /--name needs a value/],
      [['types', fixture('graph-mlp'), '--name', 'not-an-identifier'], /--name not-an-identifier is not a TypeScript identifier/],
      [['types', fixture('graph-mlp'), '--labels', join(FIXTURES, 'nope.json')], /Could not read .*nope\.json/],
      [['hash', fixture('graph-mlp'), '--json'], /inpage hash: unknown option --json/],
      [['frobnicate'], /inpage: unknown command frobnicate/],
      [[], /Usage: inpage <command>/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.out).toBe('');
    }
  });

  it('prints usage for --help on every command, exit 0', async () => {
    for (const cmd of ['inspect', 'types', 'hash']) {
      for (const args of [[cmd, '--help'], [cmd, '-h'], ['help', cmd]]) {
        const r = await cli(...args);
        expect([r.code, r.err]).toEqual([0, '']);
        expect(r.out).toContain(`Usage: inpage ${cmd} <path/or/url/model.json>`);
      }
    }
    const top = await cli('--help');
    expect(top.code).toBe(0);
    for (const cmd of ['inspect', 'types', 'hash']) expect(top.out).toContain(`  ${cmd} <model.json>`);
  });
});

/** The declarations test/types/schemas.ts compiles, as `inpage types` writes them. */
const SCHEMAS: [file: string, args: string[]][] = [
  ['emotion', [MODELS.emotion]],
  ['faceboxes', [MODELS.faceboxes]],
  ['antispoof', [MODELS.antispoof, '--name', 'Antispoof']],
  ['graph-two-io', [fixture('graph-two-io')]],
  ['layers-multi', [fixture('layers-multi')]],
  ['demo', [join(ROOT, 'examples', 'demo', 'model', 'model.json'), '--labels', join(ROOT, 'examples', 'demo', 'model', 'labels.json')]],
];

describe('inpage types', () => {
  it.each(SCHEMAS)('writes test/types/schemas/%s.ts (UPDATE_SCHEMAS=1 rewrites them)', async (file, args) => {
    const r = await cli('types', ...args);
    expect([r.code, r.err]).toEqual([0, '']);
    const path = join(ROOT, 'test', 'types', 'schemas', `${file}.ts`);
    // Paths differ between machines: the committed files name the model file only.
    if (process.env.UPDATE_SCHEMAS) writeFileSync(path, r.out);
    expect(r.out).toBe(readFileSync(path, 'utf8'));
  });

  it('names inputs and outputs as inspect does, labels from metadata or --labels', async () => {
    const r = await inspect(fixture('graph-two-io'));
    const t = await cli('types', fixture('graph-two-io'), '--name', 'TwoIo');
    expect(t.out).toContain('export interface TwoIoSchema {');
    expect(t.out).toContain(`  inputs: ${r.inputs.map((i) => `'${i.name}'`).join(' | ')};`);
    expect(t.out).toContain(`  outputs: ${r.outputs.map((i) => `'${i.name}'`).join(' | ')};`);
    expect(t.out).not.toContain('labels');

    const dir = mkdtempSync(join(tmpdir(), 'inpage-cli-'));
    try {
      const json = JSON.parse(readFileSync(fixture('graph-mlp'), 'utf8'));
      json.userDefinedMetadata = { ...json.userDefinedMetadata, labels: ['north', 'east', "south's", 'west'] };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      writeFileSync(join(dir, 'group1-shard1of1.bin'), readFileSync(join(FIXTURES, 'graph-mlp', 'group1-shard1of1.bin')));
      const m = await cli('types', join(dir, 'model.json'), '--name', 'Compass');
      expect(m.out).toContain("  labels: 'north' | 'east' | 'south\\'s' | 'west';");
      writeFileSync(join(dir, 'labels.txt'), 'up\ndown\n');
      const l = await cli('types', join(dir, 'model.json'), '--name', 'Compass', `--labels=${join(dir, 'labels.txt')}`);
      expect(l.out).toContain("  labels: 'up' | 'down';");
      // graph-mlp has 4 outputs per example: 2 names cannot be right.
      expect(l.code).toBe(0);
      expect(l.err).toBe('inpage types: warning: 2 class names, but probs has 4 values per example\n');
      expect(m.err).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const built = join(ROOT, 'dist', 'cli.mjs');
describe.runIf(existsSync(built))('dist/cli.mjs', () => {
  it('prints what the sources print, with no tfjs inside', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [built, 'inspect', MODELS.emotion, '--json']);
    expect(JSON.parse(stdout)).toEqual(await inspect(MODELS.emotion));
    expect(readFileSync(built, 'utf8')).not.toMatch(/@tensorflow|registerKernel/);
    const bad = await promisify(execFile)(process.execPath, [built, 'inspect', '--nope']).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
  });
});
