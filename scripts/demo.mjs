#!/usr/bin/env node
// `npm run demo`: builds the library if dist/ is missing or older than its sources, then
// serves the repo root on 127.0.0.1 and prints the demo's URL.
//
//   PORT=9000 npm run demo      another port (default 8080; 0 picks a free one)
//   npm run demo -- --no-build  serve dist/ as it is
//   npm run demo -- --coep=credentialless   isolate with COEP credentialless instead
//   npm run demo -- --no-isolation          serve without COOP/COEP
//
// The page is served cross-origin isolated (Cross-Origin-Opener-Policy: same-origin,
// Cross-Origin-Embedder-Policy: require-corp), so tfjs's WASM backend runs its threaded
// build (`wasmThreads`), as a site that sends these headers would.
//
// The demo model is committed (examples/demo/model*/, made by scripts/train-demo.mjs),
// so nothing else is built. The page registers its service worker at
// /examples/demo/sw.js with the default scope /examples/demo/; it starts inpage's worker
// from that folder too, so no Service-Worker-Allowed header is needed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ISOLATION_MODES, startServer } from './serve.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);

/** Files the page loads from dist/. */
const OUTPUTS = ['inpage.mjs', 'inpage.worker.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']
  .map((f) => join(root, 'dist', f));

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why dist/ needs a build, or null when it is fresh. */
function staleReason() {
  const missing = OUTPUTS.find((f) => !existsSync(f));
  if (missing) return `${missing.slice(root.length + 1)} is missing`;
  const built = Math.min(...OUTPUTS.map((f) => statSync(f).mtimeMs));
  const sources = Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'rollup.config.mjs')));
  return sources > built ? 'src/ changed since the last build' : null;
}

if (!args.includes('--no-build')) {
  const why = staleReason();
  if (why) {
    console.log(`Building inpage (${why}): npm run build`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error('The build failed; the demo needs dist/. Fix the build, or serve an old dist/ with --no-build.');
      process.exit(r.status ?? 1);
    }
  }
}

for (const m of ['model', 'model-multihead']) {
  if (!existsSync(join(root, 'examples', 'demo', m, 'model.json'))) {
    console.warn(`warning: examples/demo/${m}/model.json is missing; make it with: node scripts/train-demo.mjs`);
  }
}

const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), got ${process.env.PORT}`);
  process.exit(2);
}
const coep = args.find((a) => a.startsWith('--coep='))?.slice('--coep='.length) ?? 'require-corp';
if (!ISOLATION_MODES.includes(coep)) {
  console.error(`--coep must be one of ${ISOLATION_MODES.join(', ')}, got ${coep}`);
  process.exit(2);
}
const isolation = args.includes('--no-isolation') ? undefined : coep;
let srv;
try {
  srv = await startServer({ root, port, host: '127.0.0.1', isolation });
} catch (e) {
  console.error(e.code === 'EADDRINUSE' ? `Port ${port} is in use; try PORT=${port + 1} npm run demo` : e.message);
  process.exit(1);
}
console.log(`inpage demo: ${srv.url}/examples/demo/`);
console.log(isolation
  ? `  cross-origin isolated (COOP same-origin, COEP ${isolation}): WASM runs threaded; --no-isolation turns this off`
  : '  not cross-origin isolated (--no-isolation): WASM runs one thread');
console.log(`  smallest page: ${srv.url}/examples/basic/`);
console.log('  Ctrl+C stops the server.');
const stop = () => srv.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
