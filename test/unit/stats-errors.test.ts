import { describe, expect, it } from 'vitest';
import { percentile, StatsWindow, summarize } from '../../src/engine/stats.js';
import {
  BackendError, InpageError, InputError, IntegrityError, ModelLoadError, RequestError, deserializeError, serializeError, toInpageError,
} from '../../src/errors.js';

describe('percentiles', () => {
  it('use the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([], 50)).toBe(0);
    expect(summarize([3, 1, 2]).mean).toBe(2);
  });
});

describe('StatsWindow', () => {
  it('counts requests, errors and batch sizes and keeps a rolling window', () => {
    let t = 0;
    const s = new StatsWindow(4, 10_000, () => t);
    for (let i = 1; i <= 6; i++) {
      t += 100;
      s.record(i, 10 * i);
    }
    s.error();
    s.batch(4);
    s.batch(4);
    s.batch(1);
    const snap = s.snapshot(3);
    expect(snap.requests).toBe(7);
    expect(snap.errors).toBe(1);
    expect(snap.batchSizes).toEqual({ 4: 2, 1: 1 });
    expect(snap.queued).toBe(3);
    // Window of 4: requests 3..6, latency = queue + inference = 11 * i.
    expect(snap.latencyMs.p50).toBe(44);
    expect(snap.latencyMs.p99).toBe(66);
    // 4 samples over 300 ms.
    expect(snap.throughputPerSec).toBeCloseTo((4 / 300) * 1000, 6);
  });
});

describe('errors across the boundary', () => {
  it('keep class, code, message, stack and details', () => {
    const cases = [
      new InputError('bad shape', { input: 'x' }),
      new ModelLoadError('404', { file: 'a.bin' }),
      new IntegrityError('mismatch', { file: 'model.json' }),
      new BackendError('none'),
      new RequestError('TIMEOUT', 'slow'),
      new InpageError('DISPOSED', 'gone'),
    ];
    for (const e of cases) {
      const wire = JSON.parse(JSON.stringify(serializeError(e)));
      const back = deserializeError(wire);
      expect(back).toBeInstanceOf(InpageError);
      expect(back.constructor).toBe(e.constructor);
      expect(back.code).toBe(e.code);
      expect(back.message).toBe(e.message);
      expect(back.stack).toBe(e.stack);
      expect(back.details).toEqual(e.details);
    }
  });

  it('wrap foreign errors with a code and keep their message', () => {
    const e = toInpageError(new TypeError('Failed to fetch'), 'MODEL_LOAD_FAILED', 'model.json');
    expect(e.code).toBe('MODEL_LOAD_FAILED');
    expect(e.message).toBe('model.json: Failed to fetch');
    expect(serializeError('plain string').code).toBe('INFERENCE_FAILED');
  });

  it('rebuild an InpageError of another copy of the module (the page engine bundle) as this copy', () => {
    // A class of the same name and shape that is not this module's: as the engine bundle's own copy.
    class ForeignInputError extends Error {
      override name = 'InputError';
      code = 'INPUT_INVALID';
      details = { input: 'x' };
    }
    const foreign = new ForeignInputError('Input x has shape [1]');
    expect(foreign).not.toBeInstanceOf(InpageError);
    const e = toInpageError(foreign, 'INFERENCE_FAILED');
    expect(e).toBeInstanceOf(InputError);
    expect(e.code).toBe('INPUT_INVALID');
    expect(e.message).toBe('Input x has shape [1]');
    expect(e.details).toEqual({ input: 'x' });
    expect(e.stack).toBe(foreign.stack);
    // An unknown code is not taken for ours.
    const odd = Object.assign(new Error('odd'), { name: 'InputError', code: 'EWHAT' });
    expect(toInpageError(odd, 'INFERENCE_FAILED').code).toBe('INFERENCE_FAILED');
  });
});
