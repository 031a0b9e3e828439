/**
 * Loading: from File objects (as from an <input type=file>) the same as from a URL, and
 * download progress. Loading does not depend on the backend, so these run on wasm, with
 * the worker on and off.
 */
import { test, expect } from '@playwright/test';
import { REAL_MODELS, WORKER_MODES, fixtureCases, modeName, openHarness, type ModelCase } from './helpers';

const byId = (id: string): ModelCase => {
  const c = [...fixtureCases(), ...REAL_MODELS].find((m) => m.id === id);
  if (!c) throw new Error(`no model case ${id}`);
  return c;
};
// Five shards (tensors across shard boundaries), two inputs without a signature, a real model.
const FILE_CASES = ['layers-cnn', 'graph-two-io', 'emotion'];
const PROGRESS_CASES = ['layers-cnn', 'emotion'];

for (const worker of WORKER_MODES) {
  test.describe(`wasm ${modeName(worker)} loading`, () => {
    for (const id of FILE_CASES) {
      test(`spec.files: ${id} from File objects equals ${id} from its URL`, async ({ page }) => {
        const c = byId(id);
        await openHarness(page);
        const r = await page.evaluate(async ({ worker, c }) => {
          const w = window as any;
          // Build Files from the served bytes, model.json last (order must not matter).
          const base = new URL(c.url, location.href);
          const json = await (await fetch(base)).json();
          const shards: string[] = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths);
          const files: File[] = [];
          for (const p of shards) files.push(new File([await (await fetch(new URL(p, base))).arrayBuffer()], p.split('/').pop() as string));
          const jsonName = base.pathname.split('/').pop() as string;
          files.push(new File([await (await fetch(base)).arrayBuffer()], jsonName, { type: 'application/json' }));

          const feed = () => Object.fromEntries(Object.entries(c.feed).map(([k, s]) => [k, w.seeded(s)]));
          const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
          try {
            const fromUrl = await rt.load({ url: c.url, name: `${c.id}-url`, warmup: false });
            const fromFiles = await rt.load({ files, name: `${c.id}-files`, warmup: false });
            const a = w.plain(await fromUrl.run(feed()));
            const b = w.plain(await fromFiles.run(feed()));
            const strip = (i: any) => ({ format: i.format, inputs: i.inputs, outputs: i.outputs, backend: i.backend });
            return { urlInfo: strip(fromUrl.info), filesInfo: strip(fromFiles.info), filesName: fromFiles.info.name, a, b };
          } finally {
            await rt.terminate();
          }
        }, { worker, c });
        expect(r.filesName).toBe(`${id}-files`);
        expect(r.filesInfo, 'info from files equals info from the URL').toEqual(r.urlInfo);
        expect(Object.keys(r.b).sort()).toEqual(c.outputs.map((o) => o.name).sort());
        expect(r.b, 'outputs from files equal outputs from the URL').toEqual(r.a);
      });
    }

    for (const id of PROGRESS_CASES) {
      test(`onProgress: ${id} reports increasing bytes up to the total`, async ({ page }) => {
        const c = byId(id);
        await openHarness(page);
        const events: { loaded: number; total: number; file?: string }[] = await page.evaluate(async ({ worker, url }) => {
          const w = window as any;
          const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
          const seen: unknown[] = [];
          try {
            const m = await rt.load({
              url, name: 'progress', warmup: false,
              onProgress: (p: { loaded: number; total: number; file?: string }) => seen.push({ loaded: p.loaded, total: p.total, file: p.file }),
            });
            await m.dispose();
            return seen as any;
          } finally {
            await rt.terminate();
          }
        }, { worker, url: c.url });

        expect(events.length, 'onProgress calls').toBeGreaterThan(0);
        for (let i = 0; i < events.length; i++) {
          const e = events[i]!;
          expect(Number.isFinite(e.loaded) && Number.isFinite(e.total), `event ${i} numbers: ${JSON.stringify(e)}`).toBe(true);
          expect(e.loaded, `event ${i}: loaded <= total`).toBeLessThanOrEqual(e.total);
          if (i > 0) expect(e.loaded, `event ${i}: loaded never decreases`).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
        }
        const last = events[events.length - 1]!;
        expect(last.total, 'total bytes').toBeGreaterThan(0);
        expect(last.loaded, 'the last call has loaded === total').toBe(last.total);
        // Several files: progress comes in steps, not only once at the end.
        expect(new Set(events.map((e) => e.loaded)).size, `distinct loaded values: ${JSON.stringify(events)}`).toBeGreaterThan(1);
      });
    }
  });
}
