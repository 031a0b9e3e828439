// The runtime's registry: several versions of one name side by side, which one is active,
// promotion, a handle by name that routes each call to the active version, and a hot swap
// (promote, then dispose the old version) under a stream of requests with none failing.
import { expect, test, type Page } from '@playwright/test';
import { modeName, openHarness, WORKER_MODES } from './helpers';
import { serveV2 } from './lifecycle';

const CNN = '/test/fixtures/layers-cnn/model.json';

let pageErrors: string[] = [];
async function open(page: Page): Promise<void> {
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await openHarness(page);
}
test.afterEach(() => expect(pageErrors, 'uncaught errors on the page').toEqual([]));

for (const worker of WORKER_MODES) {
  test.describe(`registry (${modeName(worker)})`, () => {
    test('versions side by side, the active one, promote, a handle by name, and fallback on dispose', async ({ page, context }) => {
      await open(page);
      const v2url = await serveV2(context);
      const r = await page.evaluate(async ({ v1url, v2url, worker }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
        const x = () => w.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed: 3 });
        const first = async (m: any) => Array.from((await m.run(x())).probs.data as Float32Array)[0];
        const list = () => rt.models().map((e: any) => `${e.name}@${e.version}:${e.state}${e.active ? ':active' : ''}`);
        const out: Record<string, unknown> = {};
        out.noName = await w.catchError(async () => rt.model('cnn'));
        const v1 = await rt.load({ url: v1url, name: 'cnn', version: '1' });
        const loading = rt.load({ url: v2url, name: 'cnn', version: '2' });
        out.whileLoading = list();
        const v2 = await loading;
        out.loaded = list();
        out.entry = rt.models()[0];
        const cnn = rt.model('cnn');
        out.v1 = await first(v1);
        out.v2 = await first(v2);
        out.byNameBefore = await first(cnn);
        out.infoBefore = cnn.info.version;
        rt.promote('cnn', '2');
        out.promoted = list();
        out.byNameAfter = await first(cnn);
        out.predictAfter = (await cnn.predict(x())).model;
        out.infoAfter = cnn.info.version;
        out.promoteMissing = await w.catchError(async () => rt.promote('cnn', '3'));
        out.modelMissing = await w.catchError(async () => rt.model('nope'));
        await v2.dispose();
        out.fellBack = list();
        out.byNameFellBack = await first(cnn);
        const v3 = await rt.load({ url: v2url, name: 'cnn', version: '3', promote: true });
        out.promotedAtLoad = list();
        out.byNameV3 = await first(cnn);
        await cnn.dispose();
        out.afterDisposeAll = list();
        out.callAfterDisposeAll = await w.catchError(() => cnn.run(x()));
        out.v3Disposed = await w.catchError(() => v3.run(x()));
        out.tensors = (await rt.memory()).numTensors;
        await rt.terminate();
        return out;
      }, { v1url: CNN, v2url, worker });

      expect(r.noName).toMatchObject({ threw: true, code: 'NOT_FOUND' });
      expect(r.whileLoading).toEqual(['cnn@1:ready:active', 'cnn@2:loading']);
      expect(r.loaded).toEqual(['cnn@1:ready:active', 'cnn@2:ready']);
      expect(r.entry).toEqual({ name: 'cnn', version: '1', backend: 'wasm', bytes: expect.any(Number), state: 'ready', active: true });
      expect((r.entry as { bytes: number }).bytes).toBeGreaterThan(0);
      expect(r.v1).not.toBe(r.v2);
      expect(r.byNameBefore).toBe(r.v1);
      expect(r.infoBefore).toBe('1');
      expect(r.promoted).toEqual(['cnn@1:ready', 'cnn@2:ready:active']);
      expect(r.byNameAfter).toBe(r.v2);
      expect(r.predictAfter).toEqual({ name: 'cnn', version: '2' });
      expect(r.infoAfter).toBe('2');
      expect(r.promoteMissing).toMatchObject({ threw: true, code: 'NOT_FOUND' });
      expect((r.promoteMissing as { message: string }).message).toContain('cnn@3');
      expect(r.modelMissing).toMatchObject({ threw: true, code: 'NOT_FOUND' });
      expect(r.fellBack).toEqual(['cnn@1:ready:active']);
      expect(r.byNameFellBack).toBe(r.v1);
      expect(r.promotedAtLoad).toEqual(['cnn@1:ready', 'cnn@3:ready:active']);
      expect(r.byNameV3).toBe(r.v2);
      expect(r.afterDisposeAll).toEqual([]);
      expect(r.callAfterDisposeAll).toMatchObject({ threw: true, code: 'NOT_FOUND' });
      expect(r.v3Disposed).toMatchObject({ threw: true, code: 'DISPOSED' });
      expect(r.tensors).toBe(0);
    });

    test('hot swap under a stream of requests: promote v2, dispose v1, and no request fails', async ({ page, context }) => {
      await open(page);
      const v2url = await serveV2(context);
      const r = await page.evaluate(async ({ v1url, v2url, worker }) => {
        const w = window as any;
        const rt = await w.inpage.createRuntime({ backends: ['wasm'], worker });
        const x = (seed: number) => w.seeded({ shape: [1, 16, 16, 3], dtype: 'float32', seed });
        const v1 = await rt.load({ url: v1url, name: 'cnn', version: '1' });
        const oneModel = (await rt.memory()).numTensors;
        const cnn = rt.model('cnn');
        const answers: { started: number; version: string }[] = [];
        const errors: string[] = [];
        let seq = 0;
        let stop = false;
        let promotedAt = Infinity;
        // Four clients calling by name as fast as they are answered: predict, run and predictBatch.
        const client = async (k: number) => {
          while (!stop) {
            const started = seq++;
            try {
              if (k === 3) {
                const ps = await cnn.predictBatch([x(started), x(started + 1), x(started + 2)], { batchSize: 1 });
                for (const p of ps) answers.push({ started, version: p.model.version });
              } else if (k === 2) {
                await cnn.run(x(started));
                answers.push({ started, version: 'run' });
              } else {
                const p = await cnn.predict(x(started));
                answers.push({ started, version: p.model.version });
              }
            } catch (e: any) {
              errors.push(`${e.code}: ${e.message}`);
            }
          }
        };
        const clients = [0, 1, 2, 3].map(client);
        /** Waits (polling, no fixed sleep) until the clients have `n` answers in all. */
        const answered = async (n: number) => {
          while (answers.length < n) await new Promise((ok) => setTimeout(ok, 10));
        };
        // v1 serves a stream first.
        await answered(8);
        const v2 = await rt.load({ url: v2url, name: 'cnn', version: '2' });
        const beforePromote = answers.length;
        rt.promote('cnn', '2');
        promotedAt = seq;
        await v1.dispose();
        const v1CallAfter = await w.catchError(() => v1.run(x(0)));
        const disposedAt = answers.length;
        // v2 serves the stream after v1 is gone.
        await answered(disposedAt + 8);
        stop = true;
        await Promise.all(clients);
        const out = {
          errors,
          beforePromote,
          disposedAt,
          total: answers.length,
          v1: answers.filter((a) => a.version === '1').length,
          v2: answers.filter((a) => a.version === '2').length,
          v1AfterPromote: answers.filter((a) => a.version === '1' && a.started >= promotedAt).length,
          v1CallAfter,
          models: rt.models().map((e: any) => `${e.name}@${e.version}:${e.state}${e.active ? ':active' : ''}`),
          tensors: (await rt.memory()).numTensors,
          oneModel,
          v2version: v2.info.version,
        };
        await rt.terminate();
        return out;
      }, { v1url: CNN, v2url, worker });

      expect(r.errors, 'failed requests').toEqual([]);
      expect(r.v1, 'answers from v1').toBeGreaterThan(0);
      expect(r.v2, 'answers from v2').toBeGreaterThan(0);
      expect(r.total).toBeGreaterThan(r.disposedAt);
      expect(r.v1AfterPromote, 'requests made after the promotion answered by v1').toBe(0);
      expect(r.v1CallAfter).toMatchObject({ threw: true, code: 'DISPOSED' });
      expect(r.models).toEqual(['cnn@2:ready:active']);
      expect(r.tensors, 'tensors after the swap: one model\'s worth').toBe(r.oneModel);
    });
  });
}
