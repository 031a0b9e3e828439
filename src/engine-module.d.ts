/** The engine bundle, loaded by the page only with `worker: false`; rollup keeps it a separate file. */
declare module 'inpage:engine' {
  import type { EngineApi } from './protocol.js';
  export const Engine: new () => EngineApi;
}
