// The Vite example: a user's app with inpage in node_modules. From the repo root:
//
//   node examples/vite/install-inpage.mjs   # node_modules/inpage, as npm install would
//   npx vite build examples/vite            # -> examples/vite/dist/
//   npx vite examples/vite                  # dev server
//
// It has a package.json of its own: inside the repo, without one, `import 'inpage'` would
// resolve to the repo itself (Node's package self-reference), not to node_modules.
// inpage asks nothing of a Vite app's config (build or dev server); the model plugin below
// is this example's own. test/browser/examples.spec.ts builds this app and predicts on
// wasm from its dist/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const modelDir = resolve(here, '../demo/model');

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
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  plugins: [demoModel()],
});
