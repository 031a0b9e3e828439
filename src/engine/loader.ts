/**
 * Turns a model's bytes into a tfjs model and describes its inputs and outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { ModelLoadError, toInpageError } from '../errors.js';
import type { TensorInfo } from '../types.js';
import { parseModelJson, shardPaths, type ModelFiles, type ModelJson } from './fetch.js';
import { detectFormat, freeDims, needsAsync, opCounts, signatureIO } from './model-json.js';

export interface BuiltModel {
  format: 'graph' | 'layers';
  model: GraphModel | LayersModel;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Node names for graph models, layer names for layers models, parallel to `inputs`/`outputs`. */
  async: boolean;
  weightBytes: number;
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
    const sig = signatureIO(json);
    const inputs: TensorInfo[] = sig.inputs
      ?? model.inputs.map((t) => ({ name: t.name, dtype: t.dtype ?? 'float32', shape: freeDims(t.shape) }));
    const outputs: TensorInfo[] = sig.outputs
      ?? model.outputNodes.map((name, i) => ({ name, dtype: model.outputs[i]?.dtype ?? 'float32', shape: freeDims(model.outputs[i]?.shape) }));
    return {
      format: 'graph',
      model,
      inputs,
      outputs,
      async: needsAsync(opCounts(json).keys()),
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
