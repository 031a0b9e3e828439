// Builds the app in test/bundlers/app/ with each bundler, as a user would: `inpage`
// installed from the package's tarball (pack.mjs) and each bundler's default settings.
// Outputs go to test/bundlers/out/<name>/, each with the graph-mlp fixture as ./model/.
// A build is made once per tarball (out/<name>/.built names the tarball it was made from).
//
//   node test/bundlers/build.mjs [name...]   # builds (all by default) and lists the outputs
//
// What each bundler needs beyond the import (README "Bundlers" says the same):
// - Vite, webpack 5: nothing; they follow `new Worker(new URL('./inpage.worker.js',
//   import.meta.url))` and the worker's `new URL('./tfjs-backend-wasm*.wasm', import.meta.url)`.
// - rollup, esbuild: they leave `new URL(..., import.meta.url)` as it is, so inpage's worker
//   and WASM files are copied beside the bundle (COPY_BESIDE below, one line in an app).
// - No bundler: serve node_modules/inpage/dist/ and import inpage.mjs (an import map here)
//   or load inpage.umd.js with a <script>.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { here, packAndInstall, repo } from './pack.mjs';

export const appDir = join(here, 'app');
export const outRoot = join(here, 'out');
const inpageDist = join(here, 'node_modules/inpage/dist');
const fixture = join(repo, 'test/fixtures/graph-mlp');

/** The files of inpage's dist/ a rollup or esbuild app copies beside its bundle. */
export const COPY_BESIDE = ['inpage.worker.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

const html = (head, body) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>inpage without a bundler</title><link rel="icon" href="data:,">${head}</head>
<body>${body}</body>
</html>
`;

function copyBeside(out) {
  for (const f of COPY_BESIDE) cpSync(join(inpageDist, f), join(out, f));
}

export const builders = {
  async vite(out) {
    const { build } = await import('vite');
    await build({ root: appDir, configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
  },
  async webpack(out) {
    const { default: webpack } = await import('webpack');
    const { default: HtmlWebpackPlugin } = await import('html-webpack-plugin');
    const config = { mode: 'production', context: appDir, entry: './main.js', output: { path: out }, plugins: [new HtmlWebpackPlugin()] };
    await new Promise((ok, fail) => {
      webpack(config, (err, stats) => {
        if (err) return fail(err);
        if (stats.hasErrors()) return fail(new Error(stats.toString({ all: false, errors: true })));
        ok();
      });
    });
  },
  async rollup(out) {
    const { rollup } = await import('rollup');
    const { default: resolve } = await import('@rollup/plugin-node-resolve');
    const bundle = await rollup({ input: join(appDir, 'main.js'), plugins: [resolve({ browser: true })], logLevel: 'silent' });
    await bundle.write({ dir: out, format: 'es' });
    await bundle.close();
    copyBeside(out);
    writeFileSync(join(out, 'index.html'), readFileSync(join(appDir, 'index.html')));
  },
  async esbuild(out) {
    const { build } = await import('esbuild');
    await build({ entryPoints: [join(appDir, 'main.js')], bundle: true, format: 'esm', outdir: out, logLevel: 'warning' });
    copyBeside(out);
    writeFileSync(join(out, 'index.html'), readFileSync(join(appDir, 'index.html')));
  },
  /** No bundler, ES module: node_modules/inpage/dist/ served as inpage/, an import map for 'inpage'. */
  async esm(out) {
    cpSync(inpageDist, join(out, 'inpage'), { recursive: true });
    for (const f of ['main.js', 'app.js']) cpSync(join(appDir, f), join(out, f));
    const map = '<script type="importmap">{ "imports": { "inpage": "./inpage/inpage.mjs" } }</script>';
    writeFileSync(join(out, 'index.html'), html(map, '<script type="module" src="./main.js"></script>'));
  },
  /** No bundler, UMD script: window.inpage. */
  async umd(out) {
    cpSync(inpageDist, join(out, 'inpage'), { recursive: true });
    cpSync(join(appDir, 'app.js'), join(out, 'app.js'));
    writeFileSync(join(out, 'index.html'), html('', `<script src="./inpage/inpage.umd.js"></script>
<script type="module">import { run } from './app.js'; run(window.inpage.createRuntime);</script>`));
  },
};

/** The installed tarball and the fixture model in app/public/model/ (Vite serves and copies public/). */
export function prepare() {
  const { tarball } = packAndInstall();
  const pub = join(appDir, 'public', 'model');
  rmSync(pub, { recursive: true, force: true });
  cpSync(fixture, pub, { recursive: true });
  return tarball;
}

/** Builds one app (unless built from this tarball already); returns its output folder. */
export async function buildApp(name, tarball) {
  const out = join(outRoot, name);
  const stamp = join(out, '.built');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === tarball + String(readFileSync(tarball).length)) return out;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await builders[name](out);
  // Vite copied public/model already; the others get the model here.
  if (!existsSync(join(out, 'model'))) cpSync(join(appDir, 'public', 'model'), join(out, 'model'), { recursive: true });
  writeFileSync(stamp, tarball + String(readFileSync(tarball).length));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tarball = prepare();
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(builders);
  for (const name of names) {
    const t0 = Date.now();
    console.log(`${name}: ${await buildApp(name, tarball)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
