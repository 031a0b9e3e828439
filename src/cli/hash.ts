/// <reference types="node" />
/**
 * `inpage hash path/to/model.json`: the integrity map of a model folder, for `spec.integrity`.
 */
import { integrityOf } from '../integrity.js';
import type { IntegrityMap } from '../types.js';
import { readModel } from './source.js';

/**
 * The integrity map of model.json and every shard it lists, keyed by path relative to
 * model.json's folder, model.json first: exactly what `spec.integrity` expects.
 * @example await hashModel('public/models/emotion/model.json')
 */
export async function hashModel(modelJsonPath: string): Promise<IntegrityMap> {
  const m = await readModel(modelJsonPath);
  return integrityOf([[m.modelFile, m.jsonBytes], ...m.shards.map((s) => [s.path, s.bytes] as [string, Uint8Array])]);
}
