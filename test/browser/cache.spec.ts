// The offline cache and integrity checks: a cached model loads with the network gone and
// gives the same outputs; tampered, unlisted, cut or missing files fail with the right code
// and leave nothing in the cache; versions are stored side by side; the cache API lists,
// deletes, clears and sums; a full quota is a warning on the model, not a failure.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page, type Route } from '@playwright/test';
import { FIXTURES_DIR, modeName, openHarness, shardsOf, WORKER_MODES } from './helpers';
import { serveV2 } from './lifecycle';

const CNN = '/test/fixtures/layers-cnn/model.json';
const MLP = '/test/fixtures/graph-mlp/model.json';
const CNN_FILES = ['model.json', ...shardsOf(CNN)];
const INPUT = { image: { shape: [2, 16, 16, 3], dtype: 'float32', seed: 7 } };
const MLP_INPUT = { x: { shape: [2, 8], dtype: 'float32', seed: 8 } };

const fileOf = (model: string, file: string) => readFileSync(join(FIXTURES_DIR, model, file));
const sri = (bytes: Buffer) => `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
/** The integrity map of layers-cnn, computed here with node:crypto. */
const cnnIntegrity = () => Object.fromEntries(CNN_FILES.map((f) => [f, sri(fileOf('layers-cnn', f))]));
const bytesOf = (model: string, files: string[]) => files.reduce((n, f) => n + fileOf(model, f).byteLength, 0);

interface Loaded {
  info?: Record<string, any>;
  out?: Record<string, { data: number[]; shape: number[] }>;
  error?: { code: string; name: string; message: string; isInpageError: boolean };
}

/** Loads `spec` on a fresh runtime (wasm), runs it once on a seeded input, and terminates. */
function loadAndRun(page: Page, spec: Record<string, unknown>, feed: Record<string, unknown> = INPUT, worker = true): Promise<Loaded> {
  return page.evaluate(async ({ spec, feed, worker }) => {
    const w = window as any;
    const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
    try {
      const m = await rt.load(spec);
      const inputs = Object.fromEntries(Object.entries(feed).map(([k, v]) => [k, w.seeded(v)]));
      return { info: m.info, out: w.plain(await m.run(inputs)) };
    } catch (e) {
      return { error: w.errorInfo(e) };
    } finally {
      await rt.terminate();
    }
  }, { spec, feed, worker });
}

const list = (page: Page): Promise<any[]> => page.evaluate(() => (window as any).inpage.cache.list());

/** Counts the requests for model files and, when `block`, aborts them as if the server were gone. */
async function watchModels(context: BrowserContext, block: boolean): Promise<{ count: () => number }> {
  let n = 0;
  await context.route('**/test/fixtures/**', (route) => {
    n++;
    return block ? route.abort('internetdisconnected') : route.continue();
  });
  return { count: () => n };
}

/** Serves `url` with one byte of it flipped. */
async function flipByte(route: Route): Promise<void> {
  const res = await route.fetch();
  const body = Buffer.from(await res.body());
  body[body.length >> 1] = (body[body.length >> 1] as number) ^ 0xff;
  await route.fulfill({ response: res, body });
}

let pageErrors: string[] = [];
test.beforeEach(() => {
  pageErrors = [];
});
test.afterEach(() => expect(pageErrors, 'uncaught errors on the page').toEqual([]));

async function open(page: Page): Promise<Page> {
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return openHarness(page);
}

for (const worker of WORKER_MODES) {
  test(`a cached model loads again with the network gone, with the same outputs (${modeName(worker)})`, async ({ page, context }) => {
    await open(page);
    const spec = { url: CNN, name: 'cnn', version: '1', cache: true };
    const first = await loadAndRun(page, spec, INPUT, worker);
    expect(first.error).toBeUndefined();
    expect(first.info).toMatchObject({ name: 'cnn', version: '1', fromCache: false });
    expect(first.info?.cacheError).toBeUndefined();
    const stored = await list(page);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ key: 'cnn@1', name: 'cnn', version: '1', files: CNN_FILES, bytes: bytesOf('layers-cnn', CNN_FILES) });
    expect(stored[0].url).toMatch(/\/test\/fixtures\/layers-cnn\/model\.json$/);

    const server = await watchModels(context, true);
    const offline = await open(await context.newPage());
    const again = await loadAndRun(offline, spec, INPUT, worker);
    expect(again.error).toBeUndefined();
    expect(again.info).toMatchObject({ fromCache: true });
    expect(again.out).toEqual(first.out);
    expect(server.count(), 'requests for model files').toBe(0);

    const uncached = await loadAndRun(offline, { ...spec, cache: false }, INPUT, worker);
    // instanceof across the page/engine bundles with worker: false is errors.spec.ts's concern.
    expect(uncached.error).toMatchObject({ code: 'MODEL_LOAD_FAILED', ...(worker ? { isInpageError: true } : {}) });
    expect(uncached.error?.message).toContain('model.json');
    expect(server.count()).toBeGreaterThan(0);
  });
}

test('integrity: a tampered shard fails with INTEGRITY_MISMATCH naming it, and nothing is cached', async ({ page, context }) => {
  await open(page);
  await context.route('**/layers-cnn/group1-shard3of5.bin', flipByte);
  const r = await loadAndRun(page, { url: CNN, cache: true, integrity: cnnIntegrity() });
  expect(r.error).toMatchObject({ code: 'INTEGRITY_MISMATCH', name: 'IntegrityError', isInpageError: true });
  expect(r.error?.message).toContain('group1-shard3of5.bin');
  expect(await list(page)).toEqual([]);
});

test('integrity: a tampered model.json fails before any shard is asked for', async ({ page, context }) => {
  await open(page);
  let shards = 0;
  await context.route('**/layers-cnn/*.bin', (route) => {
    shards++;
    return route.continue();
  });
  await context.route('**/layers-cnn/model.json', flipByte);
  const r = await loadAndRun(page, { url: CNN, cache: true, integrity: cnnIntegrity() });
  expect(r.error).toMatchObject({ code: 'INTEGRITY_MISMATCH' });
  expect(r.error?.message).toContain('model.json');
  expect(shards).toBe(0);
  expect(await list(page)).toEqual([]);
});

test('integrity: a file the map does not list is refused, naming it; a bad value is refused before loading', async ({ page }) => {
  await open(page);
  const map = cnnIntegrity();
  delete map['group1-shard5of5.bin'];
  const r = await loadAndRun(page, { url: CNN, cache: true, integrity: map });
  expect(r.error).toMatchObject({ code: 'INTEGRITY_MISMATCH' });
  expect(r.error?.message).toContain('group1-shard5of5.bin is not listed');
  expect(await list(page)).toEqual([]);

  const bad = await loadAndRun(page, { url: CNN, integrity: { ...cnnIntegrity(), 'model.json': 'md5-abc' } });
  expect(bad.error).toMatchObject({ code: 'INPUT_INVALID' });
  expect(bad.error?.message).toContain('integrity["model.json"]');
});

test('integrity: the right files load, are cached, and are checked again when read from the cache', async ({ page, context }) => {
  await open(page);
  const spec = { url: CNN, name: 'cnn', cache: true, integrity: cnnIntegrity() };
  const first = await loadAndRun(page, spec);
  expect(first.error).toBeUndefined();
  expect(first.info).toMatchObject({ fromCache: false });
  const again = await loadAndRun(page, spec);
  expect(again.info).toMatchObject({ fromCache: true });
  expect(again.out).toEqual(first.out);

  // Corrupt the cached copy of one shard behind inpage's back.
  await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((ok, fail) => {
      const rq = indexedDB.open('inpage');
      rq.onsuccess = () => ok(rq.result);
      rq.onerror = () => fail(rq.error);
    });
    const tx = db.transaction('files', 'readwrite');
    const store = tx.objectStore('files');
    const key = ['cnn@1', 'group1-shard2of5.bin'];
    const buf: ArrayBuffer = await new Promise((ok) => {
      const rq = store.get(key);
      rq.onsuccess = () => ok(rq.result);
    });
    const bytes = new Uint8Array(buf.slice(0));
    bytes[10] = (bytes[10] as number) ^ 1;
    store.put(bytes.buffer, key);
    await new Promise((ok) => (tx.oncomplete = ok));
    db.close();
  });
  // Online: the bad copy is replaced from the network, and the model says so.
  const healed = await loadAndRun(page, spec);
  expect(healed.error).toBeUndefined();
  expect(healed.info).toMatchObject({ fromCache: false, cacheError: { code: 'INTEGRITY_MISMATCH' } });
  expect(healed.info?.cacheError.message).toContain('group1-shard2of5.bin');
  expect(healed.out).toEqual(first.out);
  const fromHealed = await loadAndRun(page, spec);
  expect(fromHealed.info).toMatchObject({ fromCache: true });
  expect(fromHealed.info?.cacheError).toBeUndefined();
});

test('a cached copy that fails its check, with the network gone, fails with INTEGRITY_MISMATCH', async ({ page, context }) => {
  await open(page);
  await loadAndRun(page, { url: CNN, name: 'cnn', cache: true });
  await watchModels(context, true);
  const wrong = { ...cnnIntegrity(), 'group1-shard1of5.bin': sri(Buffer.from('something else')) };
  const r = await loadAndRun(page, { url: CNN, name: 'cnn', cache: true, integrity: wrong });
  expect(r.error).toMatchObject({ code: 'INTEGRITY_MISMATCH' });
  expect(r.error?.message).toContain('group1-shard1of5.bin');
  expect(await list(page)).toEqual([]);
});

test('a half-downloaded model leaves nothing in the cache; a 404 shard fails naming it; a transient failure is retried', async ({ page, context }) => {
  await open(page);
  await context.route('**/layers-cnn/group1-shard4of5.bin', (route) => route.abort('connectionreset'));
  const cut = await loadAndRun(page, { url: CNN, cache: true });
  expect(cut.error).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  expect(cut.error?.message).toContain('group1-shard4of5.bin');
  expect(await list(page)).toEqual([]);
  await context.unrouteAll();

  await context.route('**/layers-cnn/group1-shard2of5.bin', (route) => route.fulfill({ status: 404, body: 'not here' }));
  const missing = await loadAndRun(page, { url: CNN, cache: true });
  expect(missing.error).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  expect(missing.error?.message).toMatch(/group1-shard2of5\.bin.*404/);
  expect(await list(page)).toEqual([]);
  await context.unrouteAll();

  // A shard served as something else (an HTML error page with status 200) is caught by its size.
  await context.route('**/layers-cnn/group1-shard1of5.bin', (route) => route.fulfill({ status: 200, body: '<html>oops</html>' }));
  const html = await loadAndRun(page, { url: CNN, cache: true });
  expect(html.error).toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  expect(html.error?.message).toContain('group1-shard1of5.bin');
  expect(await list(page)).toEqual([]);
  await context.unrouteAll();

  let tries = 0;
  await context.route('**/layers-cnn/group1-shard5of5.bin', (route) => (++tries === 1 ? route.abort('connectionreset') : route.continue()));
  const retried = await loadAndRun(page, { url: CNN, cache: true });
  expect(retried.error).toBeUndefined();
  expect(tries).toBe(2);
  expect(await list(page)).toHaveLength(1);
});

test('two versions are stored side by side and each loads offline as itself', async ({ page, context }) => {
  await open(page);
  const v2url = await serveV2(context);
  const v1 = await loadAndRun(page, { url: CNN, name: 'cnn', version: '1', cache: true });
  const v2 = await loadAndRun(page, { url: v2url, name: 'cnn', version: '2', cache: true });
  expect(v1.error ?? v2.error).toBeUndefined();
  expect(v2.out).not.toEqual(v1.out);
  expect((await list(page)).map((e) => e.key).sort()).toEqual(['cnn@1', 'cnn@2']);

  await context.unrouteAll();
  await watchModels(context, true);
  await context.route('**/v2/**', (route) => route.abort('internetdisconnected'));
  const offline = await open(await context.newPage());
  const v1again = await loadAndRun(offline, { url: CNN, name: 'cnn', version: '1', cache: true });
  const v2again = await loadAndRun(offline, { url: v2url, name: 'cnn', version: '2', cache: true });
  expect(v1again.info).toMatchObject({ fromCache: true, version: '1' });
  expect(v2again.info).toMatchObject({ fromCache: true, version: '2' });
  expect(v1again.out).toEqual(v1.out);
  expect(v2again.out).toEqual(v2.out);
});

test('cache API: list, delete, clear and usage, on a page with no runtime', async ({ page, context }) => {
  await open(page);
  await loadAndRun(page, { url: CNN, name: 'cnn', version: '1', cache: true });
  await loadAndRun(page, { url: CNN, name: 'cnn', version: '2', cache: true });
  await loadAndRun(page, { url: MLP, cache: true }, MLP_INPUT);
  const cnnBytes = bytesOf('layers-cnn', CNN_FILES);
  const mlpBytes = bytesOf('graph-mlp', ['model.json', ...shardsOf(MLP)]);

  const fresh = await open(await context.newPage());
  const r = await fresh.evaluate(async () => {
    const { cache } = (window as any).inpage;
    const steps: Record<string, unknown> = {};
    const entries = await cache.list();
    steps.list = entries.map((e: any) => ({ key: e.key, name: e.name, version: e.version, bytes: e.bytes, n: e.files.length, t: typeof e.storedAt }));
    steps.mlpUrl = entries.find((e: any) => e.name === 'graph-mlp')?.url;
    steps.usage = await cache.usage();
    steps.deleteNone = await cache.delete('cnn', '3');
    steps.deleteV1 = await cache.delete('cnn', '1');
    steps.afterV1 = (await cache.list()).map((e: any) => e.key);
    steps.deleteByUrl = await cache.delete(steps.mlpUrl);
    steps.afterUrl = (await cache.list()).map((e: any) => e.key);
    steps.usageAfter = await cache.usage();
    await cache.clear();
    steps.afterClear = await cache.list();
    steps.usageClear = await cache.usage();
    return steps;
  });
  const mlpKey = `${r.mlpUrl}@1`;
  expect(r.list).toEqual([
    { key: 'cnn@1', name: 'cnn', version: '1', bytes: cnnBytes, n: 6, t: 'number' },
    { key: 'cnn@2', name: 'cnn', version: '2', bytes: cnnBytes, n: 6, t: 'number' },
    { key: mlpKey, name: 'graph-mlp', version: '1', bytes: mlpBytes, n: 2, t: 'number' },
  ]);
  expect(r.mlpUrl).toMatch(/\/test\/fixtures\/graph-mlp\/model\.json$/);
  expect(r.usage).toBe(2 * cnnBytes + mlpBytes);
  expect(r.deleteNone).toBe(0);
  expect(r.deleteV1).toBe(1);
  expect(r.afterV1).toEqual(['cnn@2', mlpKey]);
  expect(r.deleteByUrl).toBe(1);
  expect(r.afterUrl).toEqual(['cnn@2']);
  expect(r.usageAfter).toBe(cnnBytes);
  expect(r.afterClear).toEqual([]);
  expect(r.usageClear).toBe(0);
});

test('a full storage quota is a warning on the model (CACHE_QUOTA_EXCEEDED), which still loads from the network', async ({ page, context }) => {
  await open(page);
  const cdp = await context.newCDPSession(page);
  const origin = new URL(page.url()).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1000 });
  try {
    const r = await loadAndRun(page, { url: CNN, name: 'cnn', cache: true });
    expect(r.error).toBeUndefined();
    expect(r.info).toMatchObject({ fromCache: false, cacheError: { code: 'CACHE_QUOTA_EXCEEDED' } });
    expect(r.out?.probs?.shape).toEqual([2, 5]);
    expect(await list(page)).toEqual([]);
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  }
});
