/**
 * Where a model's bytes come from: the user's files or the network.
 */
import type { LoadRequest } from '../protocol.js';
import type { LoadProgress } from '../types.js';
import { fetchModelFiles, readPickedFiles, type ModelFiles } from './fetch.js';
import { ModelLoadError } from '../errors.js';

export interface LoadedFiles {
  files: ModelFiles;
  fromCache: boolean;
}

/** Reads or downloads every file of the model. */
export async function loadModelFiles(req: LoadRequest, onProgress?: (p: LoadProgress) => void): Promise<LoadedFiles> {
  if (req.files) return { files: await readPickedFiles(req.files, onProgress), fromCache: false };
  if (!req.url) throw new ModelLoadError('Nothing to load: give spec.url or spec.files');
  const files = await fetchModelFiles(req.url, { requestInit: req.requestInit, onProgress });
  return { files, fromCache: false };
}
