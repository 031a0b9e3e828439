/**
 * The examples a user copies from: the smallest ESM page (examples/basic) and a Vite app
 * (examples/vite) that imports `inpage` from node_modules. The Vite app is built here, its
 * dist/ is served on its own, and a prediction runs on the wasm backend: proof that the
 * worker bundle and the WASM binaries resolve in a user's build.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
// @ts-ignore: plain ESM script without type declarations
import { startServer } from '../../scripts/serve.mjs';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const run = promisify(execFile);

/** Console errors, uncaught exceptions and failed responses of a page. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return problems;
}

test('examples/basic: the smallest ESM page predicts on an image', async ({ page }) => {
  const problems = watch(page);
  await page.goto('/examples/basic/');
  const out = page.locator('#out');
  await expect(out).toHaveAttribute('data-label', 'star', { timeout: 90_000 });
  await expect(out).toContainText(/star \(\d+\.\d%\) on (webgpu|webgl|wasm|cpu)/);
  expect(problems).toEqual([]);
});

test.describe('examples/vite', () => {
  const dist = join(root, 'examples/vite/dist');

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    // inpage into examples/vite/node_modules, as `npm install inpage` would put it.
    await run(process.execPath, [join(root, 'examples/vite/install-inpage.mjs')], { cwd: root });
    const vite = join(root, 'node_modules/vite/bin/vite.js');
    await run(process.execPath, [vite, 'build', 'examples/vite', '--logLevel', 'warn'], { cwd: root, timeout: 170_000 });
  });

  test('the built app loads inpage\'s worker and WASM files and predicts on wasm', async ({ browser }) => {
    const assets = readdirSync(join(dist, 'assets'));
    // The worker bundle and the binaries are in the build, under hashed names.
    expect(assets.some((f) => /^inpage\.worker-.*\.js$/.test(f))).toBe(true);
    expect(assets.filter((f) => f.endsWith('.wasm'))).toHaveLength(3);
    expect(existsSync(join(dist, 'model/model.json'))).toBe(true);

    // The app's own server: only its dist/, as it would be deployed.
    const srv = await startServer({ root: dist, port: 0 });
    const page = await browser.newPage();
    try {
      const problems = watch(page);
      const wasm: string[] = [];
      page.on('requestfinished', (r) => {
        if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
      });
      await page.goto(`${srv.url}/?backend=wasm`);
      const out = page.getByTestId('result');
      await expect(out).toHaveAttribute('data-done', 'true', { timeout: 90_000 });
      await expect(out).toHaveAttribute('data-backend', 'wasm');
      await expect(out).toHaveAttribute('data-label', 'star');
      expect(wasm.length, 'a WASM binary was fetched').toBeGreaterThan(0);
      expect(wasm.every((p) => p.startsWith('/assets/'))).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await srv.close();
    }
  });
});
