/// <reference types="node" />
/**
 * Reading a model for the command line: model.json from a path or an http(s) URL, then
 * its shards, with the runtime's own checks and error messages.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { fetchFile, parseModelJson, shardPaths, type ModelJson } from '../engine/fetch.js';
import { ModelLoadError } from '../errors.js';
import { checkShardSizes } from '../engine/files.js';

/** A model.json and its shards' bytes, keyed by path relative to model.json. */
export interface ModelSource {
  /** The path or URL given. */
  location: string;
  /** model.json's file name. */
  modelFile: string;
  json: ModelJson;
  jsonBytes: Uint8Array;
  /** Shards in manifest order. */
  shards: { path: string; bytes: Uint8Array }[];
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

async function readLocal(path: string, file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ModelLoadError(`Could not read ${file} (${path}): ${(e as Error).message}`, { file });
  }
}

/** Reads model.json (checked as the runtime checks it) and every shard it lists. */
export async function readModel(location: string): Promise<ModelSource> {
  const url = isUrl(location);
  const modelFile = decodeURIComponent(basename(url ? new URL(location).pathname : location)) || 'model.json';
  const get = url
    ? async (rel: string, file: string) => new Uint8Array(await fetchFile(new URL(rel, location).href, file, {}))
    : (rel: string, file: string) => readLocal(resolve(dirname(resolve(location)), decodeURIComponent(rel)), file);
  const jsonBytes = url ? await get(location, modelFile) : await readLocal(location, modelFile);
  const json = parseModelJson(jsonBytes.slice().buffer, modelFile);
  const shards: ModelSource['shards'] = [];
  for (const path of shardPaths(json)) shards.push({ path, bytes: await get(path, path) });
  // Shards must hold what the manifest describes, as the runtime checks before building.
  const buffer = (b: Uint8Array) => b.slice().buffer;
  checkShardSizes({ modelFile, files: new Map([[modelFile, buffer(jsonBytes)], ...shards.map((s) => [s.path, buffer(s.bytes)] as [string, ArrayBuffer])]) });
  return { location, modelFile, json, jsonBytes, shards };
}
