/// <reference types="node" />
/**
 * `inpage hash path/to/model.json`: the integrity map of a model folder, for `spec.integrity`.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseModelJson, shardPaths } from '../engine/fetch.js';
import { ModelLoadError } from '../errors.js';
import { integrityOf } from '../integrity.js';
import type { IntegrityMap } from '../types.js';

async function read(path: string, file: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new ModelLoadError(`Could not read ${file} (${path}): ${(e as Error).message}`, { file });
  }
}

/**
 * The integrity map of model.json and every shard it lists, keyed by path relative to
 * model.json's folder, model.json first: exactly what `spec.integrity` expects.
 * @example await hashModel('public/models/emotion/model.json')
 */
export async function hashModel(modelJsonPath: string): Promise<IntegrityMap> {
  const dir = dirname(resolve(modelJsonPath));
  const modelFile = basename(modelJsonPath);
  const json = await read(modelJsonPath, modelFile);
  const view = new Uint8Array(json).buffer;
  const paths = shardPaths(parseModelJson(view, modelFile));
  const files: [string, Uint8Array][] = [[modelFile, json]];
  for (const p of paths) files.push([p, await read(resolve(dir, decodeURIComponent(p)), p)]);
  return integrityOf(files);
}
