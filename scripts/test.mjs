// `npm test`: everything a change must pass, in order, stopping at the first failing step:
// Chromium, fixtures (only when missing), build, typecheck, unit tests (vitest), browser
// tests (Playwright), then a smoke run of the benchmark. Extra arguments go to Playwright:
// `npm test -- -g wasm` (and skip the benchmark smoke run).
// Ends with one line `N passed, M failed[, K skipped]` over vitest and Playwright.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChrome } from './find-chrome.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const playwrightArgs = process.argv.slice(2);
const reports = mkdtempSync(join(tmpdir(), 'inpage-test-'));
const vitestJson = join(reports, 'vitest.json');
const playwrightJson = join(reports, 'playwright.json');
const totals = { passed: 0, failed: 0, skipped: 0 };
const started = Date.now();

const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
function heading(text) {
  console.log(`\n=== ${text} ===`);
}

function summaryLine() {
  return `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`;
}

function finish(code, why) {
  rmSync(reports, { recursive: true, force: true });
  console.log(`\n${why} (${secs(Date.now() - started)} in all)`);
  console.log(summaryLine());
  process.exit(code);
}

/** Runs a command with inherited stdio; stops everything when it fails. */
function step(title, cmd, args, { env, count } = {}) {
  heading(title);
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const failedBefore = totals.failed;
  count?.();
  if (r.error || r.status !== 0) {
    // A step that fails without a failing test (a build error, a crash) still counts as one failure.
    if (totals.failed === failedBefore) totals.failed += 1;
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
    finish(1, `FAILED: ${title} (${why}, after ${secs(Date.now() - t0)})`);
  }
  console.log(`--- ${title}: ok (${secs(Date.now() - t0)})`);
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function countVitest() {
  const j = readJson(vitestJson);
  if (!j) return;
  totals.passed += j.numPassedTests ?? 0;
  // A file that fails to load has no failed test but a failed suite: count it once.
  const failed = j.numFailedTests ?? 0;
  totals.failed += failed || (j.success === false ? Math.max(1, j.numFailedTestSuites ?? 0) : 0);
  totals.skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
}

function countPlaywright() {
  const s = readJson(playwrightJson)?.stats;
  if (!s) return;
  totals.passed += (s.expected ?? 0) + (s.flaky ?? 0);
  totals.failed += s.unexpected ?? 0;
  totals.skipped += s.skipped ?? 0;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

heading('Chromium');
try {
  const chrome = findChrome();
  process.env.CHROME_PATH = chrome;
  console.log(chrome);
} catch (e) {
  console.error(e.message);
  finish(1, 'FAILED: Chromium');
}

const fixturesDir = join(root, 'test', 'fixtures');
const haveFixtures = existsSync(fixturesDir) &&
  readdirSync(fixturesDir).some((d) => existsSync(join(fixturesDir, d, 'model.json')));
if (haveFixtures) {
  heading('Fixtures');
  console.log('test/fixtures/*/model.json present; not regenerating (npm run fixtures does)');
} else {
  step('Fixtures', npm, ['run', 'fixtures']);
}

step('Build', npm, ['run', 'build']);
step('Typecheck', npm, ['run', 'typecheck']);
step('Typecheck browser tests', npx, ['tsc', '-p', 'test/browser/tsconfig.json']);
step('Unit tests (vitest)', npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`], {
  count: countVitest,
});
step('Browser tests (Playwright)', npx, ['playwright', 'test', ...playwrightArgs], {
  env: { PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson },
  count: countPlaywright,
});

// The benchmark is not a test (times here are noisy), but a tiny run of every section
// keeps it from rotting. Skipped when arguments select some browser tests only.
if (playwrightArgs.length === 0 && !totals.failed) {
  step('Benchmark smoke run', 'node', ['bench/run.mjs', '--smoke', `--out=${join(reports, 'bench-smoke.json')}`], {
    count: () => {
      if (existsSync(join(reports, 'bench-smoke.json'))) totals.passed += 1;
    },
  });
}

finish(totals.failed ? 1 : 0, totals.failed ? 'FAILED: some tests failed' : 'All steps passed');
