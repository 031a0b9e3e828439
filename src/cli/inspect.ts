/**
 * `inpage inspect model.json`: what a model is and whether each backend can run it, read
 * from model.json and its shards without tfjs (kernel support from the build-time op table).
 */
import table from 'inpage:op-table';
import { detectFormat, graphIO, needsAsync, canBatch, opCounts, signatureIO, ASYNC_OPS, freeDims } from '../engine/model-json.js';
import type { Backend, TensorInfo } from '../types.js';
import { BACKENDS } from '../defaults.js';
import { BYTES } from '../engine/fetch.js';
import type { ModelSource } from './source.js';

/** One op (graph) or layer class (layers) of the model. */
export interface OpReport {
  op: string;
  /** Nodes (graph) or layers (layers) of this kind. */
  count: number;
  /** The tfjs kernels it runs; `[]` when it runs in JS; `null` when not known (an op tfjs-converter lacks, or a layers model). */
  kernels: string[] | null;
  /** Backends without a kernel it needs (every backend for an op tfjs-converter lacks); `null` when not checked. */
  missing: Backend[] | null;
}

/** Stored weight bytes of one dtype, and what they take once dequantized at load. */
export interface WeightGroup {
  /** The dtype tfjs gives the weights (`float32`, `int32`...). */
  dtype: string;
  /** The stored dtype when quantized (`float16`, `uint8`, `uint16`). */
  quantization?: string;
  tensors: number;
  /** Bytes as stored in the shards. */
  bytes: number;
  /** Bytes once loaded (dequantized to `dtype`). */
  loadedBytes: number;
}

/** Everything `inpage inspect --json` prints. */
export interface InspectReport {
  model: string;
  format: 'graph' | 'layers';
  producer: { generatedBy?: string; convertedBy?: string };
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Control flow or data-dependent shapes: the runtime uses `executeAsync`. */
  executeAsync: boolean;
  /** The ops that make it so. */
  asyncOps: string[];
  /** Whether the runtime's batcher may join requests (free batch dim everywhere, no control flow). */
  batchable: boolean;
  ops: OpReport[];
  /** Ops some backend cannot run, with those backends. */
  unsupported: { op: string; backends: Backend[] }[];
  weights: { bytes: number; loadedBytes: number; byDtype: WeightGroup[] };
  shards: { path: string; bytes: number }[];
  /** tfjs version of the kernel registry checked against. */
  tfjs: string;
}

interface LayerConfig { class_name: string; name?: string; config: Record<string, unknown> & { name?: string; layers?: LayerConfig[] } }

/** A layers model's config: `modelTopology` itself or its `model_config`. */
function layersConfig(json: ModelSource['json']): LayerConfig {
  const topo = json.modelTopology as LayerConfig & { model_config?: LayerConfig };
  return topo.model_config ?? topo;
}

/** Layer classes and counts, nested models included. */
function layerCounts(cfg: LayerConfig, counts = new Map<string, number>()): Map<string, number> {
  for (const l of cfg.config.layers ?? []) {
    counts.set(l.class_name, (counts.get(l.class_name) ?? 0) + 1);
    if (Array.isArray(l.config.layers)) layerCounts(l, counts);
  }
  return counts;
}

const layerName = (l: LayerConfig): string => String(l.config.name ?? l.name ?? '');

/**
 * A layers model's inputs and outputs as tfjs-layers names them: the input layers (a
 * Sequential model's input is `<first layer>_input` unless it starts with an InputLayer)
 * and the output layers. Output shapes need tfjs's shape inference: `null` here.
 */
function layersIO(json: ModelSource['json']): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const cfg = layersConfig(json);
  const layers = cfg.config.layers ?? [];
  const byName = new Map(layers.map((l) => [layerName(l), l]));
  const inputInfo = (l: LayerConfig | undefined, name: string): TensorInfo => ({
    name,
    dtype: String(l?.config.dtype ?? 'float32'),
    shape: freeDims((l?.config.batch_input_shape ?? l?.config.batchInputShape ?? null) as (number | null)[] | null),
  });
  const outputInfo = (l: LayerConfig | undefined, name: string): TensorInfo => ({ name, dtype: String(l?.config.dtype ?? 'float32'), shape: null });
  if (cfg.class_name === 'Sequential') {
    const first = layers[0];
    const last = layers[layers.length - 1];
    const inName = first?.class_name === 'InputLayer' ? layerName(first) : `${first ? layerName(first) : 'input'}_input`;
    return { inputs: [inputInfo(first, inName)], outputs: last ? [outputInfo(last, layerName(last))] : [] };
  }
  const ends = (key: 'input_layers' | 'output_layers') => ((cfg.config[key] ?? []) as [string, ...unknown[]][]).map(([n]) => n);
  return {
    inputs: ends('input_layers').map((n) => inputInfo(byName.get(n), n)),
    outputs: ends('output_layers').map((n) => outputInfo(byName.get(n), n)),
  };
}

function weightGroups(json: ModelSource['json']): InspectReport['weights'] {
  const groups = new Map<string, WeightGroup>();
  for (const w of (json.weightsManifest ?? []).flatMap((g) => g.weights)) {
    const q = w.quantization?.dtype;
    const key = `${w.dtype}/${q ?? ''}`;
    const size = w.shape.reduce((a, b) => a * b, 1);
    const g = groups.get(key) ?? { dtype: w.dtype, ...(q ? { quantization: q } : {}), tensors: 0, bytes: 0, loadedBytes: 0 };
    g.tensors += 1;
    g.bytes += size * (BYTES[q ?? w.dtype] ?? 4);
    g.loadedBytes += size * (BYTES[w.dtype] ?? 4);
    groups.set(key, g);
  }
  const byDtype = [...groups.values()].sort((a, b) => b.bytes - a.bytes);
  return { bytes: byDtype.reduce((n, g) => n + g.bytes, 0), loadedBytes: byDtype.reduce((n, g) => n + g.loadedBytes, 0), byDtype };
}

/** The kernels a graph op runs and the backends that lack one. */
function opSupport(op: string): Pick<OpReport, 'kernels' | 'missing'> {
  const entry = table.ops[op];
  if (!entry) return { kernels: null, missing: [...BACKENDS] };
  const missing = BACKENDS.filter((b) => entry.kernels.some((k) => !table.backends[b].includes(k)));
  return { kernels: entry.kernels, missing };
}

/** Inspects a model read by `readModel`. */
export function inspectModel(src: ModelSource): InspectReport {
  const { json } = src;
  const format = detectFormat(json);
  let io: { inputs: TensorInfo[]; outputs: TensorInfo[] };
  let ops: OpReport[];
  let asyncOps: string[] = [];
  if (format === 'graph') {
    const counts = opCounts(json);
    const sig = signatureIO(json);
    const attrOf = (op: string, p: 'dtype' | 'shape') => (p === 'dtype' ? table.ops[op]?.dtypeAttr : table.ops[op]?.shapeAttr);
    const fromGraph = sig.inputs && sig.outputs ? undefined : graphIO(json, attrOf);
    io = { inputs: sig.inputs ?? fromGraph?.inputs ?? [], outputs: sig.outputs ?? fromGraph?.outputs ?? [] };
    ops = [...counts].map(([op, count]) => ({ op, count, ...opSupport(op) }));
    asyncOps = [...counts.keys()].filter((op) => ASYNC_OPS.has(op)).sort();
  } else {
    io = layersIO(json);
    ops = [...layerCounts(layersConfig(json))].map(([op, count]) => ({ op, count, kernels: null, missing: null }));
  }
  ops.sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  const executeAsync = format === 'graph' && needsAsync(asyncOps);
  const producer: InspectReport['producer'] = {};
  if (typeof json.generatedBy === 'string') producer.generatedBy = json.generatedBy;
  if (typeof json.convertedBy === 'string') producer.convertedBy = json.convertedBy;
  return {
    model: src.location,
    format,
    producer,
    ...io,
    executeAsync,
    asyncOps,
    batchable: canBatch(io.inputs, io.outputs, executeAsync),
    ops,
    unsupported: ops.filter((o) => o.missing?.length).map((o) => ({ op: o.op, backends: o.missing as Backend[] })),
    weights: weightGroups(json),
    shards: src.shards.map((s) => ({ path: s.path, bytes: s.bytes.byteLength })),
    tfjs: table.tfjs,
  };
}

/** `[?, 64, 64, 1]`; `?` alone for an unknown rank. */
export const formatShape = (shape: (number | null)[] | null): string =>
  shape ? `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '?';

const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(2)} MB`;

const table2 = (rows: string[][], indent = '  '): string => {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
};

/** The report as text for people. */
export function formatReport(r: InspectReport): string {
  const lines: string[] = [];
  const producer = [r.producer.generatedBy && `generated by ${r.producer.generatedBy}`, r.producer.convertedBy && `converted by ${r.producer.convertedBy}`]
    .filter(Boolean).join(', ');
  lines.push(`${r.model}: ${r.format} model${producer ? `, ${producer}` : ''}`);
  const io = (list: TensorInfo[]) => (list.length ? table2(list.map((t) => [t.name, t.dtype, formatShape(t.shape)])) : '  (none)');
  lines.push('inputs:', io(r.inputs), 'outputs:', io(r.outputs));
  lines.push(`execution: ${r.executeAsync ? `executeAsync (control flow: ${r.asyncOps.join(', ')})` : 'execute'}`);
  lines.push(`batching: ${r.batchable ? 'yes (free batch dimension, no control flow)' : 'no'}`);
  const nodes = r.ops.reduce((n, o) => n + o.count, 0);
  if (r.format === 'graph') {
    lines.push(`ops: ${r.ops.length} kinds, ${nodes} nodes (kernels of tfjs ${r.tfjs})`);
    const rows = [['op', 'count', ...BACKENDS, 'kernels']];
    for (const o of r.ops) {
      const mark = (b: Backend) => (o.missing?.includes(b) ? 'NO' : 'yes');
      const kernels = o.kernels === null ? '(not a tfjs-converter op)' : o.kernels.length ? o.kernels.join(' ') : '(runs in JS)';
      rows.push([o.op, String(o.count), ...BACKENDS.map(mark), kernels]);
    }
    lines.push(table2(rows));
    lines.push(r.unsupported.length
      ? `unsupported: ${r.unsupported.map((u) => `${u.op} (no kernel on ${u.backends.join(', ')})`).join('; ')}`
      : 'unsupported: none (every op has a kernel on every backend)');
  } else {
    lines.push(`layers: ${r.ops.length} kinds, ${nodes} layers (kernel support is checked for graph models only)`);
    lines.push(table2([['layer', 'count'], ...r.ops.map((o) => [o.op, String(o.count)])]));
  }
  lines.push(`weights: ${formatBytes(r.weights.bytes)} stored, ${formatBytes(r.weights.loadedBytes)} once loaded`);
  lines.push(table2(r.weights.byDtype.map((g) => [
    g.quantization ? `${g.dtype} (quantized to ${g.quantization})` : g.dtype, `${g.tensors} tensors`, formatBytes(g.bytes),
  ])));
  lines.push(`shards: ${r.shards.length}`);
  if (r.shards.length) lines.push(table2(r.shards.map((s) => [s.path, formatBytes(s.bytes)])));
  return `${lines.join('\n')}\n`;
}
