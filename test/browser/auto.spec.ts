/**
 * `backends: 'auto'` (the default): each model is timed on each backend here and serves on
 * its fastest, in the runtime's engine of that backend (a pinned `spec.backend` too); the
 * answers equal raw tfjs on that backend, and the choices are remembered across a reload. Timings are not asserted (this machine is shared and noisy).
 */
import { test, expect, type Page } from '@playwright/test';
import { REAL_MODELS, expectClose, openHarness, openRef, reference, type Backend, type ModelCase } from './helpers';

function realModel(id: string): ModelCase {
  const c = REAL_MODELS.find((m) => m.id === id);
  if (!c) throw new Error(`${id} is one of the real models`);
  return c;
}
const emotion = realModel('emotion');
const antispoof = realModel('antispoof');

async function loadAuto(page: Page): Promise<any> {
  return page.evaluate(async ([c, o]) => {
    const w = window as any;
    const events: string[] = [];
    const rt = await w.inpage.createRuntime();
    rt.addEventListener('backendchange', (e: any) => events.push(`${e.from}->${e.to}`));
    const count = async () => (await rt.memory()).numTensors as number;
    const feedOf = (m: any) => Object.fromEntries(Object.entries(m.feed).map(([k, s]) => [k, w.seeded(s)]));
    const m = await rt.load({ url: c.url, name: 'emotion', cache: true });
    const feed = feedOf(c);
    const out = w.plain(await m.run(feed));
    const before = await count();
    for (let i = 0; i < 5; i++) await m.run(feed);
    const after = await count();
    // A model pinned to cpu: an engine of its own unless the first one is on cpu.
    const pinned = await rt.load({ url: c.url, name: 'emotion', version: '2', backend: 'cpu' });
    const pinnedOut = w.plain(await pinned.run(feed));
    // Another model chooses for itself.
    const other = await rt.load({ url: o.url, name: 'antispoof' });
    const otherOut = w.plain(await other.run(feedOf(o)));
    const stats = rt.stats();
    const held = await count();
    await pinned.dispose();
    await other.dispose();
    const r = {
      backend: rt.backend, info: m.info, pinnedInfo: pinned.info, otherInfo: other.info, stats,
      out, pinnedOut, otherOut, before, after, held, left: await count(), statsAfter: rt.stats(), events, models: rt.models().map((e: any) => e.backend),
    };
    await rt.terminate();
    return r;
  }, [emotion, antispoof] as const);
}

/** Checks one model's choice: every backend of the auto order timed or said why not, the fastest kept. */
function expectMeasured(choice: any, what: string): void {
  expect(choice.reason, what).toBe('measured');
  const timed = choice.timings.filter((t: any) => t.medianMs !== undefined);
  expect(timed.length, `${what}: at least one backend timed`).toBeGreaterThan(0);
  expect(choice.timings.map((t: any) => t.backend).sort(), what).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
  for (const t of choice.timings) {
    if (t.medianMs === undefined) expect(t.skipped, `${what}, ${t.backend}: why it was not timed`).toMatch(/\w/);
    else expect(t.runs, `${what}, ${t.backend}: runs`).toBeGreaterThanOrEqual(3);
  }
  const fastest = timed.reduce((a: any, b: any) => (b.medianMs < a.medianMs ? b : a));
  expect(choice.backend, `${what}: the fastest timed backend is chosen`).toBe(fastest.backend);
}

/** The engines a run of loadAuto had: the first engine's backend, then one per other backend in use. */
function expectEngines(r: any): void {
  const want = [...new Set([r.backend, 'cpu', r.otherInfo.backend])];
  expect(r.stats.backends, 'one engine per backend in use').toEqual(want);
  expect(r.stats.engines).toBe(want.length);
  expect(r.left, 'no tensor left by the disposed models in any engine').toBe(r.after);
  expect(r.held, 'the other engines hold the other models').toBeGreaterThan(r.after);
  expect(r.models).toEqual([r.backend]);
  expect(r.statsAfter.engines, 'the engines left with no model are ended').toBe(1);
}

test('auto: each model is timed on each backend and served on its fastest, in one engine per backend in use; remembered across a reload', async ({ page, context }) => {
  test.slow();
  await openHarness(page);
  const first = await loadAuto(page);
  const choice = first.info.choice;
  expectMeasured(choice, 'emotion');
  // The first model's choice is where the first engine serves.
  expect(first.backend).toBe(choice.backend);
  expect(first.info.backend).toBe(choice.backend);
  // WASM is ahead of a software GPU here (the first in the auto order, the provisional engine).
  expect(choice.timings[0].backend).toBe('wasm');
  if (choice.backend !== 'wasm') expect(first.events).toEqual([`wasm->${choice.backend}`]);
  expect(first.after, 'no tensor growth over runs').toBe(first.before);
  // The pinned model and the other model's own choice.
  expect(first.pinnedInfo.backend).toBe('cpu');
  expect(first.pinnedInfo.choice).toMatchObject({ reason: 'pinned', backend: 'cpu' });
  expectMeasured(first.otherInfo.choice, 'antispoof');
  expect(first.otherInfo.backend).toBe(first.otherInfo.choice.backend);
  expectEngines(first);

  const ref = await openRef(context);
  const expected = await reference(ref, choice.backend as Backend, emotion.url, 'graph', emotion.feed);
  const onCpu = await reference(ref, 'cpu', emotion.url, 'graph', emotion.feed);
  const otherBackend = first.otherInfo.backend as Backend;
  const otherExpected = await reference(ref, otherBackend, antispoof.url, 'graph', antispoof.feed);
  await ref.close();
  expectClose(first.out, expected, choice.backend as Backend, 'auto');
  expectClose(first.pinnedOut, onCpu, 'cpu', 'pinned to cpu');
  expectClose(first.otherOut, otherExpected, otherBackend, 'the other model, on its own choice');

  // Next visit: the remembered choices, no timing.
  await page.reload();
  await openHarness(page);
  const again = await loadAuto(page);
  expect(again.info.choice.reason).toBe('remembered');
  expect(again.info.choice.backend).toBe(choice.backend);
  expect(again.backend).toBe(choice.backend);
  expect(again.otherInfo.choice).toMatchObject({ reason: 'remembered', backend: otherBackend });
  expectEngines(again);
  expectClose(again.out, expected, choice.backend as Backend, 'auto, remembered');
  expectClose(again.otherOut, otherExpected, otherBackend, 'the other model, remembered');

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
