/**
 * inpage in users' apps, built by each bundler from the package's tarball
 * (test/bundlers/build.mjs: Vite, webpack 5, rollup, esbuild, and no bundler as ES module
 * and UMD script), each served from its own output folder alone and predicting on wasm in
 * Chromium; the outputs are compared with raw tfjs's (the fixture's expected.json). Vite's
 * dev server runs the same app with no options. webpack's build also runs cross-origin
 * isolated, where tfjs-backend-wasm starts its threaded build (pthreads rebuilt from the
 * factory's source). Without the one step rollup apps need, WORKER_FAILED names it.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectClose, type PlainOutputs } from './helpers.js';
// @ts-ignore: plain ESM script without type declarations
import { appDir, buildApp, prepare } from '../bundlers/build.mjs';
// @ts-ignore: plain ESM script without type declarations
import { startServer } from '../../scripts/serve.mjs';

let tarball: string;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  tarball = prepare();
});

interface AppResult { backend: string; crossOriginIsolated: boolean; outputs: PlainOutputs; expected: PlainOutputs }

/** Opens the app, waits for its one run, checks it against raw tfjs; returns the result and the .wasm files fetched. */
async function predict(page: Page, url: string): Promise<{ result: AppResult; wasm: string[] }> {
  const problems: string[] = [];
  const wasm: string[] = [];
  page.on('console', (m) => {
    // html-webpack-plugin's default page has no icon link: Chromium's /favicon.ico is a 404.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
  });
  page.on('worker', (w) => {
    // pthreads and inpage's worker: an error thrown there would not reach the page's console.
    w.on('console', (m) => {
      if (m.type() === 'error') problems.push(`worker console: ${m.text()}`);
    });
  });
  await page.goto(url);
  const out = page.getByTestId('result');
  await expect(out).toHaveAttribute('data-done', 'true', { timeout: 90_000 }).catch(async (e) => {
    throw new Error(`${await out.textContent().catch(() => '(no #out)')}\n${problems.join('\n')}\n${e}`);
  });
  const result = (await page.evaluate(() => (window as unknown as { result: AppResult }).result));
  expect(result.backend).toBe('wasm');
  expectClose(result.outputs, result.expected, 'wasm', url);
  expect(Object.keys(result.outputs)).toEqual(Object.keys(result.expected));
  expect(problems).toEqual([]);
  expect(wasm.length, 'a WASM binary was fetched').toBeGreaterThan(0);
  return { result, wasm };
}

for (const name of ['vite', 'webpack', 'rollup', 'esbuild', 'esm', 'umd']) {
  test(`${name}: the app's build predicts on wasm like raw tfjs`, async ({ page }) => {
    test.setTimeout(240_000);
    const out: string = await buildApp(name, tarball);
    const srv = await startServer({ root: out, port: 0 });
    try {
      const { result } = await predict(page, `${srv.url}/?backend=wasm`);
      expect(result.crossOriginIsolated).toBe(false);
    } finally {
      await srv.close();
    }
  });
}

test('webpack: cross-origin isolated, the threaded wasm build starts its pthreads and predicts', async ({ page }) => {
  test.setTimeout(240_000);
  const out: string = await buildApp('webpack', tarball);
  const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const srv = await startServer({ root: out, port: 0, headers });
  try {
    const { result, wasm } = await predict(page, `${srv.url}/?backend=wasm`);
    expect(result.crossOriginIsolated).toBe(true);
    // webpack names assets by hash: the threaded binary is the one of its size.
    const sizes = await page.evaluate(async (paths) => Promise.all(paths.map(async (p) => (await fetch(p)).headers.get('content-length'))), wasm);
    const { statSync } = await import('node:fs');
    const threaded = String(statSync(new URL('../bundlers/node_modules/inpage/dist/tfjs-backend-wasm-threaded-simd.wasm', import.meta.url)).size);
    expect(sizes).toContain(threaded);
  } finally {
    await srv.close();
  }
});

test('vite dev server: the app predicts on wasm with no options', async ({ page }) => {
  test.setTimeout(180_000);
  const { createServer } = await import('vite');
  const server = await createServer({ root: appDir, configFile: false, logLevel: 'warn', server: { host: '127.0.0.1', port: 0, strictPort: false } });
  await server.listen();
  try {
    const url = server.resolvedUrls?.local[0];
    expect(url).toBeTruthy();
    await predict(page, `${url}?backend=wasm`);
  } finally {
    await server.close();
  }
});

test('rollup app without the copy step: WORKER_FAILED names the worker URL and the step', async ({ page }) => {
  test.setTimeout(240_000);
  const out: string = await buildApp('rollup', tarball);
  const srv = await startServer({ root: out, port: 0 });
  try {
    // As if inpage.worker.js had not been copied beside the bundle.
    await page.route('**/inpage.worker.js', (r) => r.fulfill({ status: 404, body: 'not found' }));
    await page.goto(`${srv.url}/?backend=wasm`);
    const result = page.getByTestId('result');
    await expect(result).toHaveAttribute('data-error', 'WORKER_FAILED', { timeout: 60_000 });
    await expect(result).toContainText(`${srv.url}/inpage.worker.js`);
    await expect(result).toContainText('copy node_modules/inpage/dist/inpage.worker.js and dist/*.wasm beside your bundle');
  } finally {
    await srv.close();
  }
});
