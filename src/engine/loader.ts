/**
 * Turns a model's bytes into a tfjs model and describes its inputs and outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { ModelLoadError, toInpageError } from '../errors.js';
import type { TensorInfo } from '../types.js';
import { parseModelJson, shardPaths, type ModelFiles, type ModelJson } from './fetch.js';

/** Ops that `execute()` refuses: control flow and ops whose output shape depends on data. */
const ASYNC_OPS = new Set([
  'Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'LoopCond', 'If', 'StatelessIf', 'While', 'StatelessWhile',
  'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV4', 'NonMaxSuppressionV5', 'Where',
  'TensorArrayV3', 'TensorListReserve', 'HashTable', 'HashTableV2', 'LookupTableFind', 'LookupTableFindV2',
]);

export interface BuiltModel {
  format: 'graph' | 'layers';
  model: GraphModel | LayersModel;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Node names for graph models, layer names for layers models, parallel to `inputs`/`outputs`. */
  async: boolean;
  weightBytes: number;
}

interface SignatureEntry { name?: string; dtype?: string; tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean } }
interface Signature { inputs?: Record<string, SignatureEntry>; outputs?: Record<string, SignatureEntry> }

/** `DT_FLOAT` and friends as tfjs dtypes. */
function dtypeOf(dt: string | undefined): string {
  switch (dt) {
    case 'DT_FLOAT': case 'DT_HALF': case 'DT_DOUBLE': case 'DT_BFLOAT16': return 'float32';
    case 'DT_INT32': case 'DT_INT64': case 'DT_INT16': case 'DT_INT8': case 'DT_UINT8': case 'DT_UINT16': return 'int32';
    case 'DT_BOOL': return 'bool';
    case 'DT_STRING': return 'string';
    case 'DT_COMPLEX64': return 'complex64';
    default: return dt ?? 'float32';
  }
}

function shapeOf(s: SignatureEntry['tensorShape']): (number | null)[] | null {
  if (!s || s.unknownRank) return null;
  return (s.dim ?? []).map((d) => {
    const n = Number(d.size ?? -1);
    return n < 0 ? null : n;
  });
}

function freeDims(shape: number[] | undefined | null): (number | null)[] | null {
  if (!shape) return null;
  return shape.map((d) => (d == null || d < 0 ? null : d));
}

export function detectFormat(json: ModelJson): 'graph' | 'layers' {
  if (json.format === 'layers-model') return 'layers';
  if (json.format === 'graph-model') return 'graph';
  const topo = json.modelTopology as Record<string, unknown>;
  return topo && ('node' in topo || 'library' in topo) ? 'graph' : 'layers';
}

function collectOps(json: ModelJson): Set<string> {
  const ops = new Set<string>();
  const topo = json.modelTopology as { node?: { op: string }[]; library?: { function?: { nodeDef?: { op: string }[] }[] } };
  for (const n of topo.node ?? []) ops.add(n.op);
  for (const f of topo.library?.function ?? []) for (const n of f.nodeDef ?? []) ops.add(n.op);
  return ops;
}

/** The signature tfjs would use: top-level, or from userDefinedMetadata. */
function signatureOf(json: ModelJson): Signature | undefined {
  const udm = json.userDefinedMetadata as { signature?: Signature } | undefined;
  return (udm?.signature ?? json.signature) as Signature | undefined;
}

/** Weight bytes concatenated in manifest order, as tfjs expects them. */
function weightData(files: ModelFiles, json: ModelJson): ArrayBuffer {
  const parts = shardPaths(json).map((p) => {
    const buf = files.files.get(p);
    if (!buf) throw new ModelLoadError(`Missing weight file ${p}`, { file: p });
    return buf;
  });
  const total = parts.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of parts) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out.buffer;
}

/** Builds the tfjs model from its files. Weights land on the current backend. */
export async function buildModel(files: ModelFiles, format?: 'graph' | 'layers'): Promise<BuiltModel> {
  const jsonBytes = files.files.get(files.modelFile);
  if (!jsonBytes) throw new ModelLoadError(`Missing ${files.modelFile}`, { file: files.modelFile });
  const json = parseModelJson(jsonBytes, files.modelFile);
  const fmt = format ?? detectFormat(json);
  const data = weightData(files, json);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: (json.weightsManifest ?? []).flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    weightData: data,
  };
  for (const key of ['format', 'generatedBy', 'convertedBy', 'signature', 'userDefinedMetadata', 'modelInitializer',
    'initializerSignature', 'trainingConfig'] as const) {
    if (json[key] !== undefined) (artifacts as Record<string, unknown>)[key] = json[key];
  }
  const handler = tf.io.fromMemory(artifacts);
  try {
    if (fmt === 'layers') {
      const model = await loadLayersModel(handler);
      return {
        format: 'layers',
        model,
        inputs: model.inputs.map((t, i) => ({ name: model.inputNames[i] ?? t.name, dtype: t.dtype, shape: freeDims(t.shape as number[]) })),
        outputs: model.outputs.map((t, i) => ({ name: model.outputNames[i] ?? t.name, dtype: t.dtype, shape: freeDims(t.shape as number[]) })),
        async: false,
        weightBytes: data.byteLength,
      };
    }
    const model = await loadGraphModel(handler);
    const sig = signatureOf(json);
    const sigIn = Object.entries(sig?.inputs ?? {});
    const sigOut = Object.entries(sig?.outputs ?? {});
    const inputs: TensorInfo[] = sigIn.length
      ? sigIn.map(([key, e]) => ({ name: key, dtype: dtypeOf(e.dtype), shape: shapeOf(e.tensorShape) }))
      : model.inputs.map((t) => ({ name: t.name, dtype: t.dtype ?? 'float32', shape: freeDims(t.shape) }));
    const outputs: TensorInfo[] = sigOut.length
      ? sigOut.map(([key, e]) => ({ name: key, dtype: dtypeOf(e.dtype), shape: shapeOf(e.tensorShape) }))
      : model.outputNodes.map((name, i) => ({ name, dtype: model.outputs[i]?.dtype ?? 'float32', shape: freeDims(model.outputs[i]?.shape) }));
    const ops = collectOps(json);
    return {
      format: 'graph',
      model,
      inputs,
      outputs,
      async: [...ops].some((op) => ASYNC_OPS.has(op)),
      weightBytes: data.byteLength,
    };
  } catch (e) {
    throw toInpageError(e, 'MODEL_LOAD_FAILED', `Could not build the ${fmt} model from ${files.modelFile}`);
  }
}

/**
 * Runs the model once. Inputs are keyed by `info.inputs[].name`; outputs come back
 * in `outputs` order. Falls back to `executeAsync` when `execute` refuses the graph.
 */
export async function execute(
  built: BuiltModel,
  inputs: Record<string, tf.Tensor>,
): Promise<tf.Tensor[]> {
  const names = built.outputs.map((o) => o.name);
  if (built.format === 'layers') {
    const m = built.model as LayersModel;
    const out = m.predict(built.inputs.map((i) => inputs[i.name] as tf.Tensor));
    return Array.isArray(out) ? out : [out];
  }
  const m = built.model as GraphModel;
  if (!built.async) {
    try {
      const out = m.execute(inputs, names);
      return Array.isArray(out) ? out : [out];
    } catch (e) {
      if (!/executeAsync|dynamic op/i.test((e as Error).message)) throw e;
      built.async = true;
    }
  }
  const out = await m.executeAsync(inputs, names);
  return Array.isArray(out) ? out : [out];
}
