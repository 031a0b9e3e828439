import { describe, expect, it } from 'vitest';
import { guessLayout, resolvePreprocess } from '../../src/preprocess-spec.js';
import type { TensorInfo } from '../../src/types.js';

const nhwc: TensorInfo = { name: 'input_1', dtype: 'float32', shape: [null, 64, 64, 1] };
const nchw: TensorInfo = { name: 'x', dtype: 'float32', shape: [1, 3, 416, 416] };
const uint8: TensorInfo = { name: 'image_tensor', dtype: 'int32', shape: [null, null, null, 3] };

describe('resolvePreprocess', () => {
  it('takes size, channels and layout from an NHWC grayscale input', () => {
    const p = resolvePreprocess(undefined, [nhwc]);
    expect(p).toMatchObject({ input: 'input_1', size: [64, 64], channels: 1, layout: 'NHWC', fit: 'stretch', dtype: 'float32', batched: true });
    expect(p.scale).toBeCloseTo(1 / 255);
    expect(p.mean).toEqual([0]);
    expect(p.std).toEqual([1]);
  });

  it('recognises NCHW', () => {
    expect(guessLayout(nchw.shape)).toBe('NCHW');
    expect(resolvePreprocess({}, [nchw])).toMatchObject({ size: [416, 416], channels: 3, layout: 'NCHW' });
  });

  it('keeps the image size for free spatial dims and does not scale int inputs', () => {
    expect(resolvePreprocess({}, [uint8])).toMatchObject({ size: null, channels: 3, scale: 1, dtype: 'int32' });
  });

  it('expands a scalar mean/std per channel and checks lists', () => {
    const p = resolvePreprocess({ mean: 0.5, std: [0.2, 0.3, 0.4] }, [nchw]);
    expect(p.mean).toEqual([0.5, 0.5, 0.5]);
    expect(p.std).toEqual([0.2, 0.3, 0.4]);
    expect(() => resolvePreprocess({ std: [1, 2] }, [nchw])).toThrow(/3 numbers/);
    expect(() => resolvePreprocess({ std: 0 }, [nchw])).toThrow(/std/);
  });

  it('refuses contradictions with the model input', () => {
    expect(() => resolvePreprocess({ size: [32, 32] }, [nhwc])).toThrow(/does not fit/);
    expect(() => resolvePreprocess({ channels: 3 }, [nhwc])).toThrow(/takes 1 channels/);
    expect(() => resolvePreprocess({ input: 'nope' }, [nhwc])).toThrow(/not an input/);
    expect(() => resolvePreprocess({ fit: 'fill' as never }, [nhwc])).toThrow(/fit/);
    expect(() => resolvePreprocess({}, [{ name: 'v', dtype: 'float32', shape: [null, 8] }])).toThrow(/rank 2/);
  });

  it('lets a size be chosen for free spatial dims', () => {
    expect(resolvePreprocess({ size: [32, 48] }, [uint8]).size).toEqual([32, 48]);
  });
});
