import { describe, expect, it } from 'vitest';
import { autoLadder } from '../../src/client/adapters.js';
import { timingInputs } from '../../src/client/chooser.js';

describe("backends: 'auto'", () => {
  it('tries hardware GPUs first and software GPUs last, WebGL before WebGPU among software', () => {
    expect(autoLadder({ webgl: { renderer: 'ANGLE (NVIDIA)', software: false }, webgpu: { description: 'nvidia ampere', software: false } }))
      .toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(autoLadder({ webgl: { renderer: 'SwiftShader', software: true }, webgpu: { description: 'google swiftshader', software: true } }))
      .toEqual(['wasm', 'cpu', 'webgl', 'webgpu']);
    expect(autoLadder({ webgl: { renderer: 'ANGLE (Intel)', software: false }, webgpu: { description: 'fallback', software: true } }))
      .toEqual(['webgl', 'wasm', 'cpu', 'webgpu']);
    expect(autoLadder({})).toEqual(['wasm', 'cpu']);
  });

  it('times a model on inputs of its declared shapes, free dims filled', () => {
    const inputs = timingInputs({
      name: 'm', version: '1', format: 'graph', backend: 'wasm', async: false, bytes: 0, fromCache: false, outputs: [],
      inputs: [
        { name: 'image', dtype: 'float32', shape: [null, 64, 64, 1] },
        { name: 'ids', dtype: 'int32', shape: [null, null] },
      ],
    });
    expect(inputs.image?.shape).toEqual([1, 64, 64, 1]);
    expect(inputs.image?.data).toHaveLength(64 * 64);
    expect(inputs.ids).toMatchObject({ shape: [1, 64], dtype: 'int32' });
    expect(inputs.ids?.data).toBeInstanceOf(Int32Array);
  });
});
