/**
 * The page's one store: what more than one panel needs to know (the runtime, the model
 * in use and how to read its answers). A panel keeps its own details to itself and
 * listens here for changes of the shared ones.
 */

/**
 * @template {object} S
 * @param {S} initial
 * @returns {{ get(): S, set(patch: Partial<S>): void, on(keys: (keyof S)[], fn: (s: S, prev: S) => void): () => void }}
 */
export function createStore(initial) {
  let state = Object.freeze({ ...initial });
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      const prev = state;
      state = Object.freeze({ ...state, ...patch });
      const changed = Object.keys(patch).filter((k) => prev[k] !== state[k]);
      if (!changed.length) return;
      for (const l of [...listeners]) if (l.keys.some((k) => changed.includes(k))) l.fn(state, prev);
    },
    /** Calls `fn` after a `set` that changed one of `keys`; returns the unsubscribe. */
    on(keys, fn) {
      const l = { keys, fn };
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

const params = new URLSearchParams(location.search);
const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * The demo's shared state.
 * - runtime: the inpage runtime, or null while (re)starting.
 * - model: the handle predictions go through (`runtime.model(name)` for the demo's own
 *   models, so the active version and a shadow see the traffic), or null while loading.
 * - info: `ModelInfo` of the loaded version (the card, the signature).
 * - source: 'demo' | 'multihead' | 'custom'.
 * - wanted: the backend the visitor asked for, or null for inpage's ladder.
 * - heads: classification heads `{ name, output, labels, activation }`.
 * - imageInput: the image layout of the model's input, or null when it takes no image.
 * - threshold: the abstention threshold of the slider.
 * - temperature: temperature per head used in later predictions ({} = none).
 */
export const store = createStore({
  runtime: null,
  model: null,
  info: null,
  source: params.get('model') === 'multihead' ? 'multihead' : 'demo',
  wanted: BACKENDS.includes(params.get('backend')) ? params.get('backend') : null,
  heads: [],
  imageInput: null,
  threshold: 0.5,
  temperature: {},
});
