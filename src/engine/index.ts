/**
 * The engine bundle for `worker: false`: the page loads it on demand, never at import.
 */
export { Engine } from './engine.js';
