// The supervisor's logic with fake engines: a loss replays what was in flight once, answers
// of a lost engine are dropped, repeated losses walk down the ladder and then everything
// fails at once with WORKER_LOST, draining waits for a model's calls only.
import { describe, expect, it } from 'vitest';
import { Supervisor, type Connection, type LossInfo, type SupervisorEvents } from '../../src/client/supervisor.js';
import type { EngineApi, LoadRequest } from '../../src/protocol.js';
import type { Backend } from '../../src/types.js';

interface Fake extends Connection {
  /** Calls to `run` waiting for an answer, by request id. */
  runs: Map<number, (v: unknown) => void>;
  loads: string[];
  /** The requests `load` received. */
  loadReqs: LoadRequest[];
  cancelled: number[];
  die(): void;
  n: number;
}

let made = 0;
function fakeEngine(backend: Backend): Fake {
  let die!: (l: LossInfo) => void;
  const gone = new Promise<LossInfo>((r) => (die = r));
  const runs = new Map<number, (v: unknown) => void>();
  const loads: string[] = [];
  const loadReqs: LoadRequest[] = [];
  const cancelled: number[] = [];
  const n = ++made;
  const engine = {
    load: async (req: LoadRequest) => {
      loads.push(req.id);
      loadReqs.push(req);
      return { name: req.name, version: req.version, backend } as never;
    },
    run: (modelId: string, _inputs: unknown, req: { requestId: number }) =>
      new Promise((resolve) => runs.set(req.requestId, (v) => resolve({ out: { data: new Float32Array([Number(v)]), shape: [1], by: n, modelId } }))),
    cancel: async (id: number) => void cancelled.push(id),
    shutdown: async () => undefined,
    dispose: async () => undefined,
  } as unknown as EngineApi;
  return { engine, backend, gone, end: () => undefined, runs, loads, loadReqs, cancelled, die: () => die({ cause: 'worker-exit', message: 'killed' }), n };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup(ladder: Backend[], opts = {}) {
  const engines: Fake[] = [];
  const log: string[] = [];
  const start = async (l: Backend[]) => {
    const e = fakeEngine(l[0] as Backend);
    engines.push(e);
    return e;
  };
  const events: SupervisorEvents = {
    lost: (c, b) => log.push(`lost:${b}:${c.cause}`),
    recovered: (b, _ms, replayed) => log.push(`recovered:${b}:${replayed}`),
    backendchange: (f, t) => log.push(`backendchange:${f}->${t}`),
    reloaded: (id) => log.push(`reloaded:${id}`),
    unloadable: (id) => log.push(`unloadable:${id}`),
  };
  const first = fakeEngine(ladder[0] as Backend);
  engines.push(first);
  const sup = new Supervisor(first, ladder, start, events, opts);
  const run = (modelId = 'm1', replayable = true) =>
    sup.request(undefined, { modelId, replayable, send: (e, rid) => e.run(modelId, {}, { requestId: rid }) });
  const last = () => engines[engines.length - 1] as Fake;
  return { sup, engines, log, run, last };
}

describe('Supervisor', () => {
  it('replays in-flight calls once on a new engine and drops the lost engine\'s late answers', async () => {
    const { sup, engines, log, run, last } = setup(['wasm']);
    sup.loaded({ id: 'm1', name: 'cnn', version: '1' } as LoadRequest);
    const a = run();
    const b = run();
    await tick();
    const old = engines[0] as Fake;
    expect(old.runs.size).toBe(2);
    old.die();
    await tick();
    // The old engine answers after its death was seen: ignored.
    for (const answer of old.runs.values()) answer(-1);
    await tick();
    await tick();
    const fresh = last();
    expect(fresh).not.toBe(old);
    expect(fresh.loads).toEqual(['m1']);
    expect(fresh.runs.size).toBe(2);
    for (const [id, answer] of fresh.runs) answer(id);
    const [ra, rb] = (await Promise.all([a, b])) as { out: { by: number } }[];
    expect(ra?.out.by).toBe(fresh.n);
    expect(rb?.out.by).toBe(fresh.n);
    expect(log).toEqual(['lost:wasm:worker-exit', 'reloaded:m1', 'recovered:wasm:2']);
    expect(sup.counters).toMatchObject({ losses: 1, recoveries: 1, replays: 2, lostRequests: 0 });
  });

  it('a call in flight through two losses, or with transferred inputs, fails with WORKER_LOST', async () => {
    const { sup, run, last } = setup(['wasm'], { maxRestarts: 10 });
    const twice = run();
    const transferred = run('m1', false);
    await tick();
    last().die();
    await expect(transferred).rejects.toMatchObject({ code: 'WORKER_LOST', name: 'WorkerLostError' });
    await tick();
    await tick();
    expect(last().runs.size).toBe(1);
    last().die();
    await expect(twice).rejects.toMatchObject({ code: 'WORKER_LOST' });
    await tick();
    await tick();
    expect(sup.state).toBe('ready');
    expect(sup.counters.lostRequests).toBe(2);
  });

  it('maxRestarts losses leave the backend for the next; with none left every call fails at once', async () => {
    const { sup, log, run, last } = setup(['webgl', 'wasm'], { maxRestarts: 2 });
    last().die();
    await tick();
    await tick();
    expect(sup.backend).toBe('webgl');
    last().die();
    await tick();
    await tick();
    expect(sup.backend).toBe('wasm');
    expect(log).toContain('backendchange:webgl->wasm');
    const pending = run();
    await tick();
    last().die();
    await tick();
    last().die();
    await expect(pending).rejects.toMatchObject({ code: 'WORKER_LOST' });
    expect(sup.state).toBe('lost');
    await expect(run()).rejects.toMatchObject({ code: 'WORKER_LOST' });
  });

  it('calls made while recovering wait for the new engine', async () => {
    const { sup, run, last, engines } = setup(['wasm']);
    let resolveStart!: () => void;
    const gate = new Promise<void>((r) => (resolveStart = r));
    (sup as unknown as { start: (l: Backend[]) => Promise<Connection> }).start = async (l) => {
      await gate;
      const e = fakeEngine(l[0] as Backend);
      engines.push(e);
      return e;
    };
    last().die();
    await tick();
    expect(sup.state).toBe('recovering');
    const c = run();
    await tick();
    resolveStart();
    await tick();
    await tick();
    for (const [id, answer] of last().runs) answer(id);
    await expect(c).resolves.toMatchObject({ out: { by: last().n } });
  });

  it('idle() waits for the calls of one model only; abort cancels on the engine; terminate rejects the rest with DISPOSED', async () => {
    const { sup, run, last } = setup(['wasm']);
    const m1 = run('m1');
    const m2 = run('m2');
    await tick();
    await expect(sup.idle('m3')).resolves.toBeUndefined();
    let idle = false;
    const waiting = sup.idle('m1').then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    const [first] = [...last().runs.entries()][0] as [number, (v: unknown) => void];
    last().runs.get(first)?.(1);
    await m1;
    await waiting;
    expect(idle).toBe(true);

    const ctl = new AbortController();
    const aborted = sup.request({ signal: ctl.signal }, { modelId: 'm1', replayable: true, send: (e, rid) => e.run('m1', {}, { requestId: rid }) });
    await tick();
    ctl.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await tick();
    expect(last().cancelled.length).toBe(1);

    await sup.terminate();
    await expect(m2).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(run()).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('a model reloaded after a loss keeps the settings amended since its load (temperature, threshold, drift reference)', async () => {
    const { sup, engines, last } = setup(['wasm']);
    sup.loaded({ id: 'm1', name: 'cnn', version: '1', postprocess: { activation: 'softmax' } } as LoadRequest);
    const reference = { classCounts: [3, 1], confidenceBins: [0, 0, 0, 0, 0, 0, 0, 0, 2, 2] };
    sup.amend('m1', { postprocess: { activation: 'softmax', temperature: 1.7, threshold: 0.4 }, reference });
    (engines[0] as Fake).die();
    await tick();
    await tick();
    expect(last().loadReqs[0]).toMatchObject({ id: 'm1', postprocess: { activation: 'softmax', temperature: 1.7, threshold: 0.4 }, reference });
    sup.amend('m1', { reference: null });
    last().die();
    await tick();
    await tick();
    expect(last().loadReqs[0]?.reference).toBeUndefined();
    expect(last().loadReqs[0]?.postprocess?.temperature).toBe(1.7);
    await sup.terminate();
  });
});
