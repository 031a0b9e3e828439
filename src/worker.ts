/**
 * The worker entry: exposes one Engine over comlink, as it is. Results go back with their
 * buffers transferred; errors go back whole (see registerErrorHandler). No method is named
 * here: every member of EngineApi is forwarded the same way.
 */
import * as Comlink from 'comlink';
import { Engine } from './engine/engine.js';
import type { EngineApi } from './protocol.js';
import { registerErrorHandler } from './transfer.js';

registerErrorHandler();

/** Every ArrayBuffer under typed arrays in a result (outputs, raw outputs of predictions). */
function buffersIn(value: unknown, out: Set<ArrayBuffer> = new Set(), depth = 0): Set<ArrayBuffer> {
  if (value === null || typeof value !== 'object' || depth > 6) return out;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) buffersIn(v, out, depth + 1);
  return out;
}

const engine = new Engine();

const exposed = new Proxy<EngineApi>(engine, {
  get(target, key, receiver) {
    const member: unknown = Reflect.get(target, key, receiver);
    if (typeof member !== 'function') return member;
    return async (...args: unknown[]) => {
      const result: unknown = await member.apply(target, args);
      if (result === null || typeof result !== 'object') return result;
      const buffers = buffersIn(result);
      return buffers.size ? Comlink.transfer(result, [...buffers]) : result;
    };
  },
});

Comlink.expose(exposed);
