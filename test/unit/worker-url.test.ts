/**
 * Where the runtime starts its worker when Vite's dev server has pre-bundled inpage, and
 * what its WORKER_FAILED message tells the user to change.
 */
import { describe, expect, it } from 'vitest';
import { viteDepsWorkerUrl, workerLoadHint } from '../../src/client/runtime.js';

describe('viteDepsWorkerUrl', () => {
  it('maps a pre-bundled copy in node_modules/.vite/deps/ to the package\'s own worker', () => {
    expect(viteDepsWorkerUrl('http://localhost:5173/node_modules/.vite/deps/inpage.js?v=1a2b3c')).toBe('http://localhost:5173/node_modules/inpage/dist/inpage.worker.js');
    expect(viteDepsWorkerUrl('http://127.0.0.1:5173/@fs/srv/app/node_modules/.vite/deps/inpage.js?v=9')).toBe('http://127.0.0.1:5173/@fs/srv/app/node_modules/inpage/dist/inpage.worker.js');
    expect(viteDepsWorkerUrl('http://localhost:5173/node_modules/.vite/deps_temp_ab12/inpage.js')).toBe('http://localhost:5173/node_modules/inpage/dist/inpage.worker.js');
  });

  it('leaves every other location to new URL(\'./inpage.worker.js\', import.meta.url)', () => {
    for (const u of [
      'http://localhost:5173/node_modules/inpage/dist/inpage.mjs',
      'https://example.com/assets/index-3f2a.js',
      'http://localhost:8080/dist/inpage.mjs',
      'http://localhost:5173/node_modules/.vite/deps/sub/inpage.js',
    ]) expect(viteDepsWorkerUrl(u), u).toBeUndefined();
  });
});

describe('workerLoadHint', () => {
  it('names workerUrl when the app gave one', () => {
    expect(workerLoadHint('https://x/w.js', true)).toMatch(/from https:\/\/x\/w\.js \(check workerUrl\)/);
  });

  it('names the step rollup and esbuild apps need otherwise', () => {
    const hint = workerLoadHint('http://localhost/inpage.worker.js', false);
    expect(hint).toContain('copy node_modules/inpage/dist/inpage.worker.js and dist/*.wasm beside your bundle');
    expect(hint).toContain('workerUrl');
  });
});
