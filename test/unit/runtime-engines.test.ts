// One engine per backend in use: with backends 'auto' each model is timed on every backend
// (fake engines whose run time is set per model and backend) and served on its fastest, in
// the engine of that backend; spec.backend pins a model; replicas go to engines of their
// model's backend; an engine left with no model is ended; terminate ends every engine,
// probes included.
import { describe, expect, it } from 'vitest';
import { RuntimeImpl } from '../../src/client/runtime.js';
import type { Connection, LossInfo } from '../../src/client/supervisor.js';
import type { EngineApi, LoadRequest } from '../../src/protocol.js';
import type { Backend, ModelInfo } from '../../src/types.js';

interface Fake extends Connection {
  n: number;
  loaded: Set<string>;
  ended: boolean;
  runsBy: Map<string, number>;
}

/** Run time (ms) of each model name on each backend. */
type Speeds = Record<string, Partial<Record<Backend, number>>>;

function world(speeds: Speeds) {
  const engines: Fake[] = [];
  let n = 0;
  const make = (backend: Backend): Fake => {
    const loaded = new Set<string>();
    const names = new Map<string, string>();
    const runsBy = new Map<string, number>();
    const gone = new Promise<LossInfo>(() => undefined);
    const fake: Fake = {
      n: ++n,
      backend,
      gone,
      loaded,
      runsBy,
      ended: false,
      end: () => {
        fake.ended = true;
      },
      engine: {
        load: async (req: LoadRequest): Promise<ModelInfo> => {
          loaded.add(req.id);
          names.set(req.id, req.name);
          return {
            name: req.name, version: req.version, backend, format: 'graph', bytes: 100,
            inputs: [{ name: 'x', dtype: 'float32', shape: [null, 4] }],
            outputs: [{ name: 'y', dtype: 'float32', shape: [null, 1] }],
          } as unknown as ModelInfo;
        },
        run: async (id: string) => {
          if (!loaded.has(id)) throw new Error(`engine ${fake.n} (${backend}) does not hold ${id}`);
          runsBy.set(id, (runsBy.get(id) ?? 0) + 1);
          const ms = speeds[names.get(id) as string]?.[backend] ?? 1;
          await new Promise((r) => setTimeout(r, ms));
          return { y: { data: new Float32Array([fake.n]), shape: [1, 1], dtype: 'float32' } };
        },
        dispose: async (id: string) => void loaded.delete(id),
        memory: async () => ({ numTensors: loaded.size, numBytes: 0 }),
        cancel: async () => undefined,
        shutdown: async () => undefined,
      } as unknown as EngineApi,
    };
    engines.push(fake);
    return fake;
  };
  const start = async (ladder: Backend[]) => make(ladder[0] as Backend);
  return { engines, make, start };
}

const ladder: Backend[] = ['wasm', 'cpu', 'webgl'];
const x = { data: new Float32Array(4), shape: [1, 4] };

function runtime(speeds: Speeds) {
  const w = world(speeds);
  const first = w.make('wasm');
  const rt = new RuntimeImpl(first, ladder, w.start, true, {}, { ladder, device: 'test' });
  const events: string[] = [];
  rt.addEventListener('backendchange', (e) => events.push(`${(e as unknown as { from: string }).from}->${(e as unknown as { to: string }).to}`));
  return { rt, ...w, first, events };
}

describe('Runtime with backends: auto, one engine per backend in use', () => {
  it('serves each model on its fastest backend, in that backend\'s engine', async () => {
    const { rt, engines, first, events } = runtime({
      a: { wasm: 1, cpu: 6, webgl: 12 },
      b: { wasm: 8, cpu: 1, webgl: 12 },
      c: { wasm: 8, cpu: 1, webgl: 12 },
    });
    const a = await rt.load({ url: 'https://x.test/a/model.json', name: 'a' });
    expect(a.info.backend).toBe('wasm');
    expect(a.info.choice?.reason).toBe('measured');
    expect(a.info.choice?.timings.map((t) => t.backend)).toEqual(['wasm', 'cpu', 'webgl']);
    expect(rt.stats()).toMatchObject({ engines: 1, backends: ['wasm'] });

    // b is fastest on cpu: the first engine holds a, so a cpu engine is made for b (the probe that timed it).
    const b = await rt.load({ url: 'https://x.test/b/model.json', name: 'b' });
    expect(b.info.backend).toBe('cpu');
    expect(b.info.choice).toMatchObject({ reason: 'measured', backend: 'cpu' });
    expect(rt.stats()).toMatchObject({ engines: 2, backends: ['wasm', 'cpu'] });
    const cpu = engines.find((e) => e.backend === 'cpu' && !e.ended) as Fake;
    expect([...cpu.loaded]).toEqual(['m2']);
    expect([...first.loaded], 'b is freed in the first engine').toEqual(['m1']);

    // c too: it joins the existing cpu engine; its probe is ended.
    const c = await rt.load({ url: 'https://x.test/c/model.json', name: 'c' });
    expect(c.info.backend).toBe('cpu');
    expect(rt.stats()).toMatchObject({ engines: 2, backends: ['wasm', 'cpu'] });
    expect([...cpu.loaded].sort()).toEqual(['m2', 'm3']);
    expect(engines.filter((e) => !e.ended).map((e) => e.backend).sort()).toEqual(['cpu', 'wasm']);

    // Requests go to each model's engine.
    const before = cpu.runsBy.get('m3') ?? 0;
    expect((await a.run(x)).y?.data).toEqual(new Float32Array([first.n]));
    expect((await c.run(x)).y?.data).toEqual(new Float32Array([cpu.n]));
    expect(cpu.runsBy.get('m3')).toBe(before + 1);
    expect(rt.models().map((m) => `${m.name}:${m.backend}`)).toEqual(['a:wasm', 'b:cpu', 'c:cpu']);
    expect((await rt.memory()).numTensors, 'memory adds the engines up').toBe(3);
    expect(events, 'the first engine did not move').toEqual([]);

    await rt.terminate();
    expect(engines.every((e) => e.ended), 'every engine and probe ended').toBe(true);
  });

  it('moves the first engine to the first model\'s choice instead of leaving it idle', async () => {
    const { rt, engines, events } = runtime({ a: { wasm: 8, cpu: 1, webgl: 12 } });
    const a = await rt.load({ url: 'https://x.test/a/model.json', name: 'a' });
    expect(a.info.backend).toBe('cpu');
    expect(rt.backend).toBe('cpu');
    expect(events).toEqual(['wasm->cpu']);
    expect(rt.stats()).toMatchObject({ engines: 1, backends: ['cpu'] });
    expect(engines.filter((e) => !e.ended).map((e) => e.backend)).toEqual(['cpu']);
    await rt.terminate();
  });

  it('spec.backend pins a model to a backend; its replicas run in engines of that backend', async () => {
    const { rt, engines } = runtime({ a: { wasm: 1, cpu: 6, webgl: 12 } });
    await rt.load({ url: 'https://x.test/a/model.json', name: 'a' });
    const p = await rt.load({ url: 'https://x.test/p/model.json', name: 'p', backend: 'webgl', replicas: 2 });
    expect(p.info).toMatchObject({ backend: 'webgl', replicas: 2, choice: { reason: 'pinned', backend: 'webgl', timings: [] } });
    expect(rt.stats()).toMatchObject({ engines: 3, backends: ['wasm', 'webgl'] });
    const webgl = engines.filter((e) => e.backend === 'webgl' && !e.ended);
    expect(webgl.map((e) => [...e.loaded])).toEqual([['m2'], ['m2']]);
    await Promise.all([p.run(x), p.run(x), p.run(x), p.run(x)]);
    expect(webgl.every((e) => (e.runsBy.get('m2') ?? 0) >= 1), 'both replicas served').toBe(true);
    await p.dispose();
    expect(webgl.map((e) => e.loaded.size)).toEqual([0, 0]);
    // Engines left holding nothing are ended; a later load on webgl starts one again.
    expect(webgl.every((e) => e.ended), 'the emptied webgl engines are ended').toBe(true);
    expect(rt.stats()).toMatchObject({ engines: 1, backends: ['wasm'] });
    const again = await rt.load({ url: 'https://x.test/p/model.json', name: 'p', backend: 'webgl' });
    expect(again.info.backend).toBe('webgl');
    expect(rt.stats()).toMatchObject({ engines: 2, backends: ['wasm', 'webgl'] });
    expect((await again.run(x)).y?.data).toEqual(new Float32Array([(engines.at(-1) as Fake).n]));
    await expect(rt.load({ url: 'https://x.test/q/model.json', backend: 'tpu' as Backend })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await rt.terminate();
  });

  it('a pinned backend that does not start fails with BACKEND_UNAVAILABLE and the runtime keeps serving', async () => {
    const w = world({});
    const first = w.make('wasm');
    const start = async (l: Backend[]) => {
      if (l[0] === 'webgpu') throw new Error('no adapter');
      return w.start(l);
    };
    const rt = new RuntimeImpl(first, ['wasm', 'cpu'], start, true, {});
    await expect(rt.load({ url: 'https://x.test/a/model.json', backend: 'webgpu' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    const a = await rt.load({ url: 'https://x.test/a/model.json' });
    expect(a.info.backend).toBe('wasm');
    expect(rt.models().map((m) => m.state)).toEqual(['ready']);
    await rt.terminate();
  });
});
