import { describe, expect, it } from 'vitest';
import { InpageError, InputError } from '../../src/errors.js';
import type { TensorInfo } from '../../src/types.js';
import { checkInputs } from '../../src/validate.js';

const image: TensorInfo = { name: 'image', dtype: 'float32', shape: [null, 4, 4, 3] };
const ids: TensorInfo = { name: 'ids', dtype: 'int32', shape: [null, 8] };

function fails(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect(e).toBeInstanceOf(InpageError);
    expect((e as InputError).code).toBe('INPUT_INVALID');
    return e as InputError;
  }
  throw new Error('expected a throw');
}

describe('checkInputs', () => {
  it('maps a lone TensorData to the only input and settles its dtype', () => {
    const out = checkInputs({ data: new Float32Array(2 * 48), shape: [2, 4, 4, 3] }, [image]);
    expect(Object.keys(out)).toEqual(['image']);
    expect(out.image?.dtype).toBe('float32');
    expect(out.image?.shape).toEqual([2, 4, 4, 3]);
  });

  it('accepts Uint8Array pixels for an int32 input', () => {
    const out = checkInputs({ ids: { data: new Uint8Array(8), shape: [1, 8] } }, [ids]);
    expect(out.ids?.dtype).toBe('int32');
  });

  it('names the expected shape when the shape is wrong', () => {
    const e = fails(() => checkInputs({ data: new Float32Array(48), shape: [1, 4, 4, 3, 1] }, [image]));
    expect(e.message).toContain('[?, 4, 4, 3]');
    expect(e.details).toMatchObject({ input: 'image', expected: [null, 4, 4, 3] });
  });

  it('refuses a fixed dimension of another size', () => {
    const e = fails(() => checkInputs({ data: new Float32Array(75), shape: [1, 5, 5, 3] }, [image]));
    expect(e.message).toMatch(/shape \[1, 5, 5, 3\].*expects \[\?, 4, 4, 3\]/);
  });

  it('refuses data whose length does not fit the shape', () => {
    const e = fails(() => checkInputs({ data: new Float32Array(47), shape: [1, 4, 4, 3] }, [image]));
    expect(e.message).toContain('47 values');
  });

  it('refuses the wrong dtype and says what to pass', () => {
    const e = fails(() => checkInputs({ data: new Int32Array(48), shape: [1, 4, 4, 3] }, [image]));
    expect(e.message).toContain('expects float32');
    expect(e.message).toContain('Float32Array');
    const e2 = fails(() => checkInputs({ data: new Float32Array(8), shape: [1, 8] }, [ids]));
    expect(e2.message).toContain('expects int32');
  });

  it('refuses a declared dtype that contradicts the array', () => {
    fails(() => checkInputs({ data: new Float32Array(8), shape: [1, 8], dtype: 'int32' }, [{ ...ids, dtype: 'float32' }]));
  });

  it('lists the model inputs for an unknown or missing name', () => {
    const spec = [image, ids];
    const unknown = fails(() => checkInputs({ img: { data: new Float32Array(48), shape: [1, 4, 4, 3] } }, spec));
    expect(unknown.message).toContain('"img"');
    expect(unknown.message).toContain('image (float32 [?, 4, 4, 3])');
    const missing = fails(() => checkInputs({ image: { data: new Float32Array(48), shape: [1, 4, 4, 3] } }, spec));
    expect(missing.message).toContain('Missing input ids');
  });

  it('asks for a map when the model has several inputs', () => {
    const e = fails(() => checkInputs({ data: new Float32Array(48), shape: [1, 4, 4, 3] }, [image, ids]));
    expect(e.message).toContain('2 inputs');
  });

  it('refuses plain arrays and negative dims', () => {
    fails(() => checkInputs({ data: [1, 2, 3] as unknown as Float32Array, shape: [3] }, [{ name: 'x', dtype: 'float32', shape: [3] }]));
    fails(() => checkInputs({ data: new Float32Array(0), shape: [-1] }, [{ name: 'x', dtype: 'float32', shape: null }]));
  });

  it('lets any shape through for an input of unknown rank', () => {
    const out = checkInputs({ data: new Float32Array(6), shape: [2, 3] }, [{ name: 'x', dtype: 'float32', shape: null }]);
    expect(out.x?.shape).toEqual([2, 3]);
  });
});
