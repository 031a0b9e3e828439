// Finds the Chromium that tests, benchmarks and demo tests drive through Playwright.
// `npx playwright install` downloads its own browser, which cannot work offline;
// we use the system Chromium instead (Debian's `chromium` package).
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Paths tried in order when CHROME_PATH is not set. */
export const chromeCandidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * Launch arguments for headless Chromium, shared by tests, benchmarks and demo tests.
 * The last three make WebGPU work on SwiftShader (no GPU on CI); WebGL uses
 * SwiftShader through ANGLE.
 */
export const chromeArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
];

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function hasApt() {
  try {
    execSync('command -v apt-get', { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the path of a Chromium executable.
 * Order: `CHROME_PATH`, then {@link chromeCandidates}; if none exists and we are root on a
 * Debian-like system, installs Debian's `chromium` with apt-get and returns /usr/bin/chromium.
 * @param {{ install?: boolean }} [opts] install: allow the apt-get install (default true)
 * @returns {string}
 * @throws {Error} naming what is missing and how to fix it
 */
export function findChrome({ install = true } = {}) {
  const env = process.env.CHROME_PATH;
  if (env) {
    if (existsSync(env)) return env;
    throw new Error(`CHROME_PATH is set to ${env}, but no file is there. ` +
      'Point CHROME_PATH at a Chromium or Chrome executable, or unset it to use /usr/bin/chromium.');
  }
  for (const p of chromeCandidates) if (existsSync(p)) return p;
  if (install && isRoot() && hasApt()) {
    console.log('Chromium not found; installing Debian\'s chromium package (apt-get)...');
    execSync('apt-get update && apt-get install -y chromium', { stdio: 'inherit', shell: '/bin/sh' });
    if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
    throw new Error('apt-get install -y chromium finished, but /usr/bin/chromium is still missing.');
  }
  throw new Error(
    `No Chromium found (looked at ${chromeCandidates.join(', ')}; CHROME_PATH is not set). ` +
    'Set CHROME_PATH to a Chromium or Chrome executable, or install Chromium ' +
    '(Debian/Ubuntu: `sudo apt-get install chromium`).');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    console.log(findChrome());
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
