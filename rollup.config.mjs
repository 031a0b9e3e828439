// The build: the small page-side entry (ESM + UMD + CommonJS + bundled types), the worker
// bundle with tfjs inside, the same engine as a module for `worker: false`, the
// tfjs WASM binaries beside them, and the command line.
import { chmodSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import commonjs from '@rollup/plugin-commonjs';
import resolve from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import dts from 'rollup-plugin-dts';
import esbuild, { minify } from 'rollup-plugin-esbuild';
import { opTablePlugin } from './scripts/lib/op-table.mjs';

/**
 * TypeScript, transpiled file by file by esbuild (tsconfig has isolatedModules; `npm run
 * typecheck` checks the types). Its resolver (`./x.js` -> `./x.ts`) is kept to our sources:
 * given tfjs's relative imports too, it would take them from node-resolve, which then no
 * longer applies tfjs-backend-wasm's `browser` map (fs, path, os -> empty modules).
 */
const ts = () => {
  const plugin = esbuild({ target: 'es2022', tsconfig: './tsconfig.json' });
  const { resolveId } = plugin;
  return { ...plugin, resolveId(id, importer, opts) { return /[\\/]node_modules[\\/]/.test(importer ?? '') ? null : resolveId.call(this, id, importer, opts); } };
};
// esbuild's minifier on every output: terser took a minute and a half over tfjs, esbuild a few seconds.
const min = () => minify({ target: 'es2022', legalComments: 'eof' });

/** `import('inpage:engine')` in the page entry stays a separate file, loaded only with worker: false. */
const engineLink = {
  name: 'inpage-engine-link',
  resolveId: (id) => (id === 'inpage:engine' ? { id: './inpage.engine.mjs', external: true } : null),
  // A UMD script's import() resolves against the page, not the script: resolve against the script.
  renderDynamicImport: ({ format, targetModuleId }) =>
    format === 'umd' && targetModuleId === './inpage.engine.mjs' ? { left: 'import(new URL(', right: ', inpageModuleUrl).href)' } : null,
};

/**
 * tfjs-core's node platform calls require('node-fetch') and require('util') in code that
 * never runs in a browser; left in, bundlers of apps (Vite's CommonJS step) turn them into
 * imports of packages a browser app does not have.
 */
const dropNodeRequires = {
  name: 'inpage-drop-node-requires',
  transform(code, id) {
    if (!/tfjs-core[\\/]dist[\\/]platforms[\\/]platform_node\.js$/.test(id)) return null;
    return { code: code.replace(/require\((['"])(node-fetch|util)\1\)/g, 'undefined'), map: null };
  },
};

/**
 * The engine bundles run in browsers only, yet tfjs-backend-wasm's Emscripten glue asks
 * `typeof __filename` / `typeof __dirname` and reads them in its node branches. webpack 5
 * rewrites those in an app's build of our worker (`typeof __filename` becomes "string" while
 * `__filename` stays free), so the worker dies with `ReferenceError: __filename is not
 * defined`. Settled here, in the bundle itself, nothing is left for an app's bundler to rewrite.
 * The pthread worker source inside the glue (a string) is rewritten the same way: its node
 * branch never runs in a browser.
 *
 * The threaded factory is also rebuilt in each pthread from its Function.prototype.toString(),
 * away from its closure, so its `typeof _scriptDir !== "undefined" && _scriptDir` (a variable
 * of that closure) must stay a typeof check through every minifier, ours and the app's
 * (terser's typeofs made it `void 0!==t&&t`: a ReferenceError in each pthread). It is
 * replaced by what _scriptDir holds in a browser, read from globals only.
 */
const browserOnly = replace({
  include: /node_modules[\\/]@tensorflow[\\/]/,
  preventAssignment: true,
  values: {
    'typeof __filename': '"undefined"',
    'typeof __dirname': '"undefined"',
    __filename: 'undefined',
    __dirname: 'undefined',
    'typeof _scriptDir !== "undefined" && _scriptDir': '(typeof document !== "undefined" && document.currentScript ? document.currentScript.src : undefined)',
  },
});

/**
 * Source maps map our sources only: modules from node_modules (tfjs, comlink, idb) get an
 * empty map, so the .map files neither carry tfjs's sources nor megabytes of mappings into them.
 */
const noDependencyMaps = {
  name: 'inpage-no-dependency-maps',
  transform: (code, id) => (/[\\/]node_modules[\\/]/.test(id) ? { code, map: { mappings: '' } } : null),
};

const WASM = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Emits the tfjs WASM binaries beside the engine bundles. */
const wasmFiles = {
  name: 'inpage-wasm-files',
  generateBundle() {
    for (const fileName of WASM) {
      this.emitFile({ type: 'asset', fileName, source: readFileSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${fileName}`) });
    }
  },
};

const engineBundle = (input, file) => ({
  input,
  output: { file, format: 'es', sourcemap: true, inlineDynamicImports: true, plugins: [min()] },
  plugins: [dropNodeRequires, browserOnly, noDependencyMaps, resolve({ browser: true, preferBuiltins: false }), commonjs(), ts(), wasmFiles],
  onwarn(warning, warn) {
    // tfjs's own sources trip these; they are not ours to fix.
    // SOURCEMAP_ERROR: rollup cannot place those in tfjs's sources, which have no map (above).
    if (['THIS_IS_UNDEFINED', 'CIRCULAR_DEPENDENCY', 'SOURCEMAP_ERROR'].includes(warning.code)) return;
    warn(warning);
  },
});

export default [
  {
    input: 'src/index.ts',
    output: [
      { file: 'dist/inpage.mjs', format: 'es', sourcemap: true, plugins: [min()] },
      { file: 'dist/inpage.umd.js', format: 'umd', name: 'inpage', sourcemap: true, inlineDynamicImports: true, plugins: [min()] },
      // The `require` condition of the exports map: a .cjs file, since .js is ESM in this package.
      { file: 'dist/inpage.cjs', format: 'cjs', sourcemap: true, plugins: [min()] },
    ],
    plugins: [engineLink, noDependencyMaps, resolve({ browser: true }), ts()],
  },
  engineBundle('src/worker.ts', 'dist/inpage.worker.js'),
  engineBundle('src/engine/index.ts', 'dist/inpage.engine.mjs'),
  {
    input: 'src/index.ts',
    // The same declarations twice: .d.ts for `import`, .d.cts for `require` (TypeScript's
    // node16/nodenext CommonJS consumers take a .d.ts in a "type": "module" package as ESM).
    output: [{ file: 'dist/inpage.d.ts', format: 'es' }, { file: 'dist/inpage.d.cts', format: 'es' }],
    plugins: [engineLink, dts()],
  },
  {
    // The command line for node (`npx inpage inspect path/to/model.json`); no tfjs in it,
    // only the op table read from tfjs at build time (`inpage:op-table`).
    input: 'src/cli/index.ts',
    output: { file: 'dist/cli.mjs', format: 'es', sourcemap: true, banner: '#!/usr/bin/env node' },
    external: (id) => id.startsWith('node:') || builtinModules.includes(id),
    plugins: [opTablePlugin(), noDependencyMaps, resolve({ preferBuiltins: true }), ts(), { name: 'inpage-cli-executable', writeBundle: () => chmodSync('dist/cli.mjs', 0o755) }],
  },
];
