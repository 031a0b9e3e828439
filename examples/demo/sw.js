/**
 * The demo's service worker: the page works offline after one visit.
 *
 * Its scope is this folder (/examples/demo/). It controls the page and the inpage
 * worker, which the page starts from ./worker.js for that reason. A controlled client's
 * requests come here whatever their URL, so the library in /dist/ is served from here
 * too without widening the scope.
 *
 * What it keeps, at install: the page, its scripts, the library (inpage.mjs, the worker
 * bundle, the tfjs WASM binaries), the demo models and the sample folders the page
 * reads. The models are inpage's to cache (the page loads them with `cache: true`,
 * IndexedDB); keeping them here as well means
 * the page still works offline where that cache is not available.
 *
 * Strategy: network first, so a page being developed is never stale; the answer is
 * stored, and the cache answers when the network fails.
 */
const VERSION = 'v2';
const CACHE = `inpage-demo-${VERSION}`;

const SHELL = [
  './',
  './index.html',
  './style.css',
  './app.js',
  './batch.js',
  './card.js',
  './charts.js',
  './labels.js',
  './latency.js',
  './monitor.js',
  './offline.js',
  './samples.js',
  './serving.js',
  './store.js',
  './try.js',
  './ui.js',
  './versions.js',
  './worker.js',
  '../../dist/inpage.mjs',
  '../../dist/inpage.worker.js',
  '../../dist/tfjs-backend-wasm.wasm',
  '../../dist/tfjs-backend-wasm-simd.wasm',
  '../../dist/tfjs-backend-wasm-threaded-simd.wasm',
];

const MODELS = ['./model/', './model-multihead/', './model-v2/'];
/** Sample folders the page fetches itself (drift reference, traffic, calibration). */
const SAMPLES = ['./samples/', './samples-hard/', './samples-reference/'];

const here = (path) => new URL(path, self.registration.scope).href;
const libraryRoot = new URL('../../dist/', self.location.href).href;

/**
 * An index file of a folder (model.json, labels.csv) and the files it lists, kept in the
 * cache; a folder without its index is skipped.
 * @param {(text: string) => string[]} filesOf the files the index lists, relative to it
 */
async function precacheFolder(cache, folder, index, filesOf) {
  const base = here(folder);
  const res = await fetch(new URL(index, base), { cache: 'no-cache' });
  if (!res.ok) return;
  const text = await res.clone().text();
  await cache.put(new URL(index, base).href, res);
  await cache.addAll(filesOf(text).map((p) => new URL(p, base).href));
}

/** model.json, its weight shards, labels.json and metrics.json. */
async function precacheModel(cache, folder) {
  await precacheFolder(cache, folder, 'model.json', (text) => (JSON.parse(text).weightsManifest ?? []).flatMap((g) => g.paths ?? []));
  for (const extra of ['labels.json', 'metrics.json']) {
    const res = await fetch(new URL(extra, here(folder)));
    if (res.ok) await cache.put(new URL(extra, here(folder)).href, res);
  }
}

/** A sample folder's labels.csv and every file it names. */
const precacheSamples = (cache, folder) =>
  precacheFolder(cache, folder, 'labels.csv', (text) => text.split(/\r?\n/).slice(1).map((l) => l.split(',')[0]).filter(Boolean));

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map(here));
    await Promise.all([
      ...MODELS.map((m) => precacheModel(cache, m).catch(() => undefined)),
      ...SAMPLES.map((f) => precacheSamples(cache, f).catch(() => undefined)),
    ]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('inpage-demo-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Whether a URL is ours to keep: this folder or the library. */
function ours(url) {
  return url.startsWith(self.registration.scope) || url.startsWith(libraryRoot);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || request.headers.has('range')) return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !ours(url.href.split('#')[0])) return;
  event.respondWith((async () => {
    try {
      const res = await fetch(request);
      if (res.ok && res.type === 'basic') {
        const copy = res.clone();
        event.waitUntil(caches.open(CACHE).then((c) => c.put(request, copy)).catch(() => undefined));
      }
      return res;
    } catch (err) {
      // Offline or the server is gone: the cache answers. A page URL with a query
      // (?backend=wasm) is the same page.
      const hit = await caches.match(request, { ignoreSearch: request.mode === 'navigate' });
      if (hit) return hit;
      throw err;
    }
  })());
});
