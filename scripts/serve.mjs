// A tiny static file server for tests, benchmarks and the demo (no dependencies).
// Serves the repo root so pages can import /dist/*, /node_modules/* and /test/fixtures/*.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** MIME types by file extension; anything else is application/octet-stream. */
export const mimeTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/** The two kinds of Cross-Origin-Embedder-Policy that make a page cross-origin isolated. */
export const ISOLATION_MODES = ['require-corp', 'credentialless'];

/** The path prefix that serves the rest of the path cross-origin isolated: `/__isolated/<mode>/`. */
export const ISOLATED_PREFIX = '/__isolated/';

/**
 * Headers that make a document (and the workers it starts) cross-origin isolated, so that
 * SharedArrayBuffer and tfjs's threaded WASM are available.
 * @param {'require-corp' | 'credentialless'} mode the Cross-Origin-Embedder-Policy
 */
export function isolationHeaders(mode) {
  return {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': mode,
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

/**
 * Splits `/__isolated/<mode>/rest` into its mode and `/rest`; any other path has no mode.
 * @param {string} path
 * @returns {{ mode: string | undefined, path: string }}
 */
export function splitIsolated(path) {
  if (!path.startsWith(ISOLATED_PREFIX)) return { mode: undefined, path };
  const rest = path.slice(ISOLATED_PREFIX.length);
  const slash = rest.indexOf('/');
  const mode = slash < 0 ? rest : rest.slice(0, slash);
  if (!ISOLATION_MODES.includes(mode)) return { mode: undefined, path };
  return { mode, path: slash < 0 ? '/' : rest.slice(slash) };
}

/**
 * Starts a static server.
 * A path under `/__isolated/require-corp/` or `/__isolated/credentialless/` serves the same
 * file with COOP/COEP headers ({@link isolationHeaders}), so one server has isolated and
 * plain pages side by side. A worker script whose request comes from such a page (its
 * Referer) gets the same headers, as a dedicated worker of an isolated page needs them.
 * @param {{ root?: string, port?: number, host?: string, headers?: Record<string, string>, isolation?: 'require-corp' | 'credentialless' }} [opts]
 *   root: folder served (default the repo root); port: 0 picks a free one; host: default
 *   127.0.0.1; headers: added to every file served; isolation: serve every response with
 *   these COOP/COEP headers (default none)
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 * @example
 * const srv = await startServer({ root: '.' });
 * // fetch(`${srv.url}/dist/inpage.mjs`) ... await srv.close();
 * // `${srv.url}/__isolated/require-corp/test/browser/pages/harness.html` is isolated
 */
export async function startServer({ root = repoRoot, port = 0, host = '127.0.0.1', headers = {}, isolation } = {}) {
  if (isolation !== undefined && !ISOLATION_MODES.includes(isolation)) {
    throw new Error(`isolation must be one of ${ISOLATION_MODES.join(', ')}, got ${isolation}`);
  }
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let path;
    let mode = isolation;
    try {
      const split = splitIsolated(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      path = split.path;
      mode = split.mode ?? mode ?? refererIsolation(req.headers.referer, req.headers['sec-fetch-dest']);
    } catch {
      return send(400, 'bad request\n');
    }
    const isolated = mode ? isolationHeaders(mode) : {};
    if (path.includes('\0')) return send(400, 'bad request\n');
    let file = resolve(join(base, path));
    // No directory traversal: the resolved file must stay under root.
    if (file !== base && !file.startsWith(base + sep)) return send(403, 'forbidden\n');
    try {
      let st = await stat(file);
      if (st.isDirectory()) {
        if (!path.endsWith('/')) {
          const prefix = mode && req.url?.startsWith(ISOLATED_PREFIX) ? `${ISOLATED_PREFIX}${mode}` : '';
          res.writeHead(301, { Location: `${prefix}${path}/`, 'Cache-Control': 'no-store' });
          return res.end();
        }
        file = join(file, 'index.html');
        st = await stat(file);
      }
      if (!st.isFile()) return send(404, 'not found\n');
      res.writeHead(200, {
        'Content-Type': mimeTypes[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': st.size,
        'Cache-Control': 'no-store',
        ...headers,
        ...isolated,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch {
      send(404, `not found: ${path}\n`);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const actual = server.address().port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}`,
    port: actual,
    close: () => new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    }),
  };
}

/** The isolation of a worker script requested by an isolated page: the mode in its Referer. */
function refererIsolation(referer, dest) {
  if (!referer || (dest !== 'worker' && dest !== 'sharedworker')) return undefined;
  try {
    return splitIsolated(new URL(referer).pathname).mode;
  } catch {
    return undefined;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const port = Number(opt('--port') ?? process.env.PORT ?? 0);
  const host = opt('--host') ?? '127.0.0.1';
  const root = opt('--root') ?? repoRoot;
  const isolation = opt('--isolation');
  const srv = await startServer({ root, port, host, isolation });
  console.log(`serving ${root} at ${srv.url}${isolation ? ` (cross-origin isolated: COEP ${isolation})` : ''}`);
  console.log(`  any path under ${srv.url}${ISOLATED_PREFIX}require-corp/ or .../credentialless/ is served isolated`);
  const stop = () => srv.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
