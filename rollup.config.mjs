// The build: the small page-side entry (ESM + UMD + bundled types), the worker
// bundle with tfjs inside, the same engine as a module for `worker: false`, the
// tfjs WASM binaries beside them, and the command line.
import { chmodSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import commonjs from '@rollup/plugin-commonjs';
import resolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import dts from 'rollup-plugin-dts';
import { opTablePlugin } from './scripts/lib/op-table.mjs';

const ts = () => typescript({ tsconfig: './tsconfig.json', declaration: false, declarationMap: false, outDir: 'dist', rootDir: 'src' });

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

/**
 * tfjs-backend-wasm rebuilds its threaded factory inside each pthread worker from the
 * factory's source text (`Function.prototype.toString()`), so that text must stand on its
 * own. terser's `typeofs` rewrites `typeof _scriptDir !== "undefined" && _scriptDir` into
 * `void 0!==t&&t`, where `t` exists only in the outer closure: every pthread worker then
 * throws `ReferenceError` on a cross-origin-isolated page.
 */
const engineTerser = () => terser({ compress: { typeofs: false } });

const engineBundle = (input, file) => ({
  input,
  output: { file, format: 'es', sourcemap: true, inlineDynamicImports: true, plugins: [engineTerser()] },
  plugins: [dropNodeRequires, resolve({ browser: true, preferBuiltins: false }), commonjs(), ts(), wasmFiles],
  onwarn(warning, warn) {
    // tfjs's own sources trip these; they are not ours to fix.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
});

export default [
  {
    input: 'src/index.ts',
    output: [
      { file: 'dist/inpage.mjs', format: 'es', sourcemap: true, plugins: [terser()] },
      { file: 'dist/inpage.umd.js', format: 'umd', name: 'inpage', sourcemap: true, inlineDynamicImports: true, plugins: [terser()] },
    ],
    plugins: [engineLink, resolve({ browser: true }), ts()],
  },
  engineBundle('src/worker.ts', 'dist/inpage.worker.js'),
  engineBundle('src/engine/index.ts', 'dist/inpage.engine.mjs'),
  {
    input: 'src/index.ts',
    output: { file: 'dist/inpage.d.ts', format: 'es' },
    plugins: [engineLink, dts()],
  },
  {
    // The command line for node (`npx inpage inspect path/to/model.json`); no tfjs in it,
    // only the op table read from tfjs at build time (`inpage:op-table`).
    input: 'src/cli/index.ts',
    output: { file: 'dist/cli.mjs', format: 'es', sourcemap: true, banner: '#!/usr/bin/env node' },
    external: (id) => id.startsWith('node:') || builtinModules.includes(id),
    plugins: [opTablePlugin(), resolve({ preferBuiltins: true }), ts(), { name: 'inpage-cli-executable', writeBundle: () => chmodSync('dist/cli.mjs', 0o755) }],
  },
];
