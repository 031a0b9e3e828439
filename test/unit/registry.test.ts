import { describe, expect, it } from 'vitest';
import { InpageError } from '../../src/errors.js';
import { NamedModel, Registry, type Registered } from '../../src/client/registry.js';

const handle = (id: string, version: string) =>
  ({ id, info: { name: 'cnn', version, backend: 'wasm', bytes: 10 }, run: async () => version, dispose: async () => undefined }) as unknown as Registered;

const summary = (r: Registry) => r.list().map((e) => `${e.name}@${e.version}:${e.state}${e.active ? ':active' : ''}`);

function withTwo(): Registry {
  const r = new Registry();
  r.loading('m1', 'cnn', '1', 'wasm');
  r.ready('m1', handle('m1', '1'), false);
  r.loading('m2', 'cnn', '2', 'wasm');
  r.ready('m2', handle('m2', '2'), false);
  return r;
}

describe('Registry', () => {
  it('lists loading and ready models; the first ready version of a name is active', () => {
    const r = new Registry();
    r.loading('m1', 'cnn', '1', 'webgl');
    expect(r.list()).toEqual([{ name: 'cnn', version: '1', backend: 'webgl', bytes: 0, state: 'loading', active: false }]);
    r.ready('m1', handle('m1', '1'), false);
    r.loading('m2', 'cnn', '2', 'wasm');
    expect(summary(r)).toEqual(['cnn@1:ready:active', 'cnn@2:loading']);
    r.failed('m2');
    expect(summary(r)).toEqual(['cnn@1:ready:active']);
  });

  it('promotes, at load or later, and routes the name to the active version', () => {
    const r = withTwo();
    expect(r.route('cnn').id).toBe('m1');
    r.promote('cnn', '2');
    expect(summary(r)).toEqual(['cnn@1:ready', 'cnn@2:ready:active']);
    expect(r.route('cnn').id).toBe('m2');
    r.loading('m3', 'cnn', '3', 'wasm');
    r.ready('m3', handle('m3', '3'), true);
    expect(r.route('cnn').id).toBe('m3');
  });

  it('refuses to promote or route what it does not hold, with NOT_FOUND listing what it holds', () => {
    const r = withTwo();
    r.loading('m3', 'cnn', '3', 'wasm');
    const e = (() => {
      try {
        r.promote('cnn', '3');
      } catch (err) {
        return err as InpageError;
      }
    })();
    expect(e?.code).toBe('NOT_FOUND');
    expect(e?.message).toContain('cnn@3 (loading)');
    expect(() => r.route('other')).toThrow(/No model named other/);
  });

  it('falls back to the latest remaining version when the active one goes, and forgets the name after the last', () => {
    const r = withTwo();
    r.loading('m3', 'cnn', '3', 'wasm');
    r.ready('m3', handle('m3', '3'), false);
    r.promote('cnn', '2');
    r.disposed('m2');
    expect(r.route('cnn').id).toBe('m3');
    r.disposed('m1');
    r.disposed('m3');
    expect(r.list()).toEqual([]);
    expect(() => r.route('cnn')).toThrow(InpageError);
  });

  it('shows ready models as recovering while the engine is brought back', () => {
    let recovering = false;
    const r = new Registry(() => recovering);
    r.loading('m1', 'cnn', '1', 'wasm');
    r.ready('m1', handle('m1', '1'), false);
    expect(r.list()[0]?.state).toBe('ready');
    recovering = true;
    expect(r.list()[0]?.state).toBe('recovering');
  });
});

describe('NamedModel', () => {
  it('sends each call to the version active at the time of the call', async () => {
    const r = withTwo();
    let live = true;
    const m = new NamedModel(r, 'cnn', () => {
      if (!live) throw new InpageError('DISPOSED', 'The runtime has been disposed');
    });
    expect(await m.run({ data: new Float32Array(1), shape: [1] })).toBe('1');
    expect(m.info.version).toBe('1');
    r.promote('cnn', '2');
    expect(await m.run({ data: new Float32Array(1), shape: [1] })).toBe('2');
    expect(m.info.version).toBe('2');
    live = false;
    await expect(m.run({ data: new Float32Array(1), shape: [1] })).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
