/**
 * `backends: 'auto'` (the default): the first model is timed on each backend here, the runtime
 * serves on the fastest, the answers equal raw tfjs on that backend, and the choice is
 * remembered across a reload. Timings are not asserted (this machine is shared and noisy).
 */
import { test, expect, type Page } from '@playwright/test';
import { REAL_MODELS, expectClose, openHarness, openRef, reference, type Backend, type ModelCase } from './helpers';

function realModel(id: string): ModelCase {
  const c = REAL_MODELS.find((m) => m.id === id);
  if (!c) throw new Error(`${id} is one of the real models`);
  return c;
}
const emotion = realModel('emotion');

async function loadAuto(page: Page): Promise<any> {
  return page.evaluate(async (c) => {
    const w = window as any;
    const events: string[] = [];
    const rt = await w.inpage.createRuntime();
    rt.addEventListener('backendchange', (e: any) => events.push(`${e.from}->${e.to}`));
    const count = async () => (await rt.memory()).numTensors as number;
    const m = await rt.load({ url: c.url, name: 'emotion', cache: true });
    const feed = Object.fromEntries(Object.entries(c.feed).map(([k, s]) => [k, w.seeded(s)]));
    const out = w.plain(await m.run(feed));
    const before = await count();
    for (let i = 0; i < 5; i++) await m.run(feed);
    const after = await count();
    // A second model follows the runtime's choice.
    const second = await rt.load({ url: c.url, name: 'emotion', version: '2' });
    const r = {
      backend: rt.backend, info: m.info, secondChoice: second.info.choice, secondBackend: second.info.backend,
      out, before, after, events, models: rt.models().map((e: any) => e.backend),
    };
    await rt.terminate();
    return r;
  }, emotion);
}

test('auto: the first model is timed on each backend, served on the fastest, remembered across a reload', async ({ page, context }) => {
  test.slow();
  await openHarness(page);
  const first = await loadAuto(page);
  const choice = first.info.choice;
  expect(choice.reason).toBe('measured');
  const timed = choice.timings.filter((t: any) => t.medianMs !== undefined);
  expect(timed.length, 'at least one backend timed').toBeGreaterThan(0);
  // Every backend of the auto order here was timed or says why not.
  const backends = choice.timings.map((t: any) => t.backend).sort();
  expect(backends).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
  for (const t of choice.timings) {
    if (t.medianMs === undefined) expect(t.skipped, `${t.backend}: why it was not timed`).toMatch(/\w/);
    else expect(t.runs, `${t.backend}: runs`).toBeGreaterThanOrEqual(3);
  }
  // The fastest timed backend is the one chosen, and it is where the runtime serves.
  const fastest = timed.reduce((a: any, b: any) => (b.medianMs < a.medianMs ? b : a));
  expect(choice.backend).toBe(fastest.backend);
  expect(first.backend).toBe(choice.backend);
  expect(first.info.backend).toBe(choice.backend);
  expect(first.secondBackend).toBe(choice.backend);
  expect(first.secondChoice.reason).toBe('runtime');
  expect(first.models).toEqual([choice.backend, choice.backend]);
  // WASM is ahead of a software GPU here (the first in the auto order, the provisional engine).
  expect(choice.timings[0].backend).toBe('wasm');
  if (choice.backend !== 'wasm') expect(first.events).toEqual([`wasm->${choice.backend}`]);
  expect(first.after, 'no tensor growth over runs').toBe(first.before);

  const ref = await openRef(context);
  const expected = await reference(ref, choice.backend as Backend, emotion.url, 'graph', emotion.feed);
  await ref.close();
  expectClose(first.out, expected, choice.backend as Backend, 'auto');

  // Next visit: the remembered choice, no timing.
  await page.reload();
  await openHarness(page);
  const again = await loadAuto(page);
  expect(again.info.choice.reason).toBe('remembered');
  expect(again.info.choice.backend).toBe(choice.backend);
  expect(again.backend).toBe(choice.backend);
  expectClose(again.out, expected, choice.backend as Backend, 'auto, remembered');

  // clearBackendChoices() forgets it: the next load measures again.
  const cleared = await page.evaluate(async (url) => {
    const w = window as any;
    await w.inpage.clearBackendChoices();
    const rt = await w.inpage.createRuntime({ worker: false });
    const m = await rt.load({ url, name: 'emotion' });
    const r = m.info.choice;
    await rt.terminate();
    return r;
  }, emotion.url);
  // worker: false cannot time (one tfjs on the page): the auto order's first backend.
  expect(cleared).toMatchObject({ reason: 'ladder', backend: 'wasm' });
});
