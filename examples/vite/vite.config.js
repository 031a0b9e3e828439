// The Vite example: build it from the repo root with `npx vite build examples/vite`
// (output in examples/vite/dist/), or develop with `npx vite examples/vite`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const modelDir = resolve(repo, 'examples/demo/model');

/** Ships the demo model with the app as ./model/ (served in dev, emitted in the build). */
function demoModel() {
  return {
    name: 'demo-model',
    configureServer(server) {
      server.middlewares.use('/model/', (req, res, next) => {
        const file = join(modelDir, decodeURIComponent((req.url ?? '').split('?')[0]));
        if (!file.startsWith(modelDir + '/') || !existsSync(file)) return next();
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      if (!existsSync(modelDir)) this.error(`${modelDir} is missing: make it with node scripts/train-demo.mjs`);
      for (const f of readdirSync(modelDir)) {
        this.emitFile({ type: 'asset', fileName: `model/${f}`, source: readFileSync(join(modelDir, f)) });
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    // Stand-ins for `npm install inpage`: the repo's own package. `inpage` goes through
    // its package.json (exports "." -> dist/inpage.mjs); `inpage/worker` is its exports
    // entry "./worker" (dist/inpage.worker.js). An app with inpage in node_modules needs
    // neither alias.
    alias: [
      { find: /^inpage$/, replacement: repo },
      { find: /^inpage\/worker(\?.*)?$/, replacement: `${resolve(repo, 'dist/inpage.worker.js')}$1` },
    ],
  },
  // Pre-bundling would move dist/inpage.mjs into node_modules/.vite/deps/, away from the
  // worker bundle and WASM files it finds with new URL('./...', import.meta.url). (With the
  // alias above inpage is not pre-bundled anyway; from node_modules it would be.)
  optimizeDeps: { exclude: ['inpage'] },
  // inpage starts its worker with { type: 'module' }: build the worker as an ES module.
  worker: { format: 'es' },
  plugins: [demoModel()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
