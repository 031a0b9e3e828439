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

/**
 * Starts a static server.
 * @param {{ root?: string, port?: number, host?: string, headers?: Record<string, string> }} [opts]
 *   root: folder served (default the repo root); port: 0 picks a free one; host: default 127.0.0.1;
 *   headers: added to every file served (e.g. COOP/COEP for a cross-origin isolated page)
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 * @example
 * const srv = await startServer({ root: '.' });
 * // fetch(`${srv.url}/dist/inpage.mjs`) ... await srv.close();
 */
export async function startServer({ root = repoRoot, port = 0, host = '127.0.0.1', headers = {} } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad request\n');
    }
    if (path.includes('\0')) return send(400, 'bad request\n');
    let file = resolve(join(base, path));
    // No directory traversal: the resolved file must stay under root.
    if (file !== base && !file.startsWith(base + sep)) return send(403, 'forbidden\n');
    try {
      let st = await stat(file);
      if (st.isDirectory()) {
        if (!path.endsWith('/')) {
          res.writeHead(301, { Location: `${path}/`, 'Cache-Control': 'no-store' });
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const port = Number(opt('--port') ?? process.env.PORT ?? 0);
  const host = opt('--host') ?? '127.0.0.1';
  const root = opt('--root') ?? repoRoot;
  const srv = await startServer({ root, port, host });
  console.log(`serving ${root} at ${srv.url}`);
  const stop = () => srv.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
