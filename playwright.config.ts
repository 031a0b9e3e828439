import { defineConfig } from '@playwright/test';
// @ts-ignore: plain ESM script without type declarations
import { findChrome, chromeArgs } from './scripts/find-chrome.mjs';

/** Browser tests against the built dist/ in the system Chromium (see scripts/find-chrome.mjs). */
export default defineConfig({
  testDir: 'test/browser',
  outputDir: 'test-results',
  // 2 cores and SwiftShader: one test at a time, and a long budget per test.
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME
    ? [['list'], ['json', { outputFile: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME }]]
    : 'list',
  use: {
    // Set by global-setup.ts in the runner before the test workers start.
    baseURL: process.env.INPAGE_TEST_URL,
    browserName: 'chromium',
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: findChrome(),
      args: chromeArgs,
    },
  },
  // A static server (scripts/serve.mjs) on a free port; see global-setup.ts.
  globalSetup: './test/browser/global-setup.ts',
});
