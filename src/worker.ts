/**
 * The worker entry: exposes one Engine over comlink. Results go back with their
 * buffers transferred; errors go back whole (see registerErrorHandler).
 */
import * as Comlink from 'comlink';
import { Engine } from './engine/engine.js';
import type { EngineApi } from './protocol.js';
import { registerErrorHandler } from './transfer.js';
import type { Prediction, TensorData } from './types.js';

registerErrorHandler();

const engine = new Engine();

function buffersOf(outputs: Record<string, TensorData>): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const t of Object.values(outputs)) seen.add(t.data.buffer as ArrayBuffer);
  return [...seen];
}

function predictionBuffers(p: Prediction): ArrayBuffer[] {
  return p.outputs ? buffersOf(p.outputs) : [];
}

const api: EngineApi = {
  init: (opts) => engine.init(opts),
  load: (req, onProgress) => engine.load(req, onProgress),
  run: async (id, inputs, req) => {
    const out = await engine.run(id, inputs, req);
    return Comlink.transfer(out, buffersOf(out));
  },
  predict: async (id, input, req) => {
    const p = await engine.predict(id, input, req);
    return Comlink.transfer(p, predictionBuffers(p));
  },
  predictMany: async (id, inputs, req) => {
    const ps = await engine.predictMany(id, inputs, req);
    return Comlink.transfer(ps, ps.flatMap(predictionBuffers));
  },
  cancel: (requestId) => engine.cancel(requestId),
  stats: (id) => engine.stats(id),
  dispose: (id) => engine.dispose(id),
  memory: () => engine.memory(),
  shutdown: () => engine.shutdown(),
};

Comlink.expose(api);
