/** The dev server's cross-origin isolation: which requests get COOP/COEP headers. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM script without type declarations
import { splitIsolated, startServer } from '../../scripts/serve.mjs';

describe('splitIsolated', () => {
  it('takes the mode off /__isolated/<mode>/ paths', () => {
    expect(splitIsolated('/__isolated/require-corp/dist/inpage.mjs')).toEqual({ mode: 'require-corp', path: '/dist/inpage.mjs' });
    expect(splitIsolated('/__isolated/credentialless/')).toEqual({ mode: 'credentialless', path: '/' });
    expect(splitIsolated('/__isolated/credentialless')).toEqual({ mode: 'credentialless', path: '/' });
  });
  it('leaves other paths and unknown modes alone', () => {
    expect(splitIsolated('/dist/inpage.mjs')).toEqual({ mode: undefined, path: '/dist/inpage.mjs' });
    expect(splitIsolated('/__isolated/unsafe-none/x.js')).toEqual({ mode: undefined, path: '/__isolated/unsafe-none/x.js' });
  });
});

describe('startServer isolation', () => {
  let srv: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    srv = await startServer();
  });
  afterAll(() => srv.close());

  const head = (path: string, headers: Record<string, string> = {}) => fetch(`${srv.url}${path}`, { method: 'HEAD', headers });

  it('serves a prefixed path isolated and the plain path not', async () => {
    const iso = await head('/__isolated/credentialless/package.json');
    expect(iso.status).toBe(200);
    expect(iso.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(iso.headers.get('cross-origin-embedder-policy')).toBe('credentialless');
    const plain = await head('/package.json');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('cross-origin-embedder-policy')).toBeNull();
  });

  it('gives a worker script the isolation of the page that starts it', async () => {
    const referer = `${srv.url}/__isolated/require-corp/test/browser/pages/harness.html`;
    const worker = await head('/package.json', { referer, 'sec-fetch-dest': 'worker' });
    expect(worker.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const script = await head('/package.json', { referer, 'sec-fetch-dest': 'script' });
    expect(script.headers.get('cross-origin-embedder-policy')).toBeNull();
  });

  it('keeps the prefix on a directory redirect', async () => {
    const r = await fetch(`${srv.url}/__isolated/require-corp/examples/demo`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/__isolated/require-corp/examples/demo/');
  });

  it('refuses an unknown isolation mode', async () => {
    await expect(startServer({ isolation: 'same-origin' })).rejects.toThrow(/isolation must be one of/);
  });
});
