import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { fetchFile, fetchModelFiles, parseModelJson, readPickedFiles, weightBytes } from '../../src/engine/fetch.js';

const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
const modelJson = {
  format: 'graph-model',
  modelTopology: { node: [] },
  weightsManifest: [{ paths: ['a.bin', 'b.bin'], weights: [{ name: 'w', shape: [2, 2], dtype: 'float32' }, { name: 'h', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } }] }],
};

afterEach(() => vi.unstubAllGlobals());

describe('parseModelJson', () => {
  it('names the file when it is not JSON or not a model', () => {
    expect(() => parseModelJson(enc('<html>'), 'model.json')).toThrow(/model.json is not JSON/);
    expect(() => parseModelJson(enc('{"a":1}'), 'model.json')).toThrow(/no modelTopology/);
    expect(() => parseModelJson(enc('{'), 'x.json')).toThrowError(ModelLoadError);
  });
  it('counts stored weight bytes, quantized ones at their stored size', () => {
    expect(weightBytes(parseModelJson(enc(JSON.stringify(modelJson)), 'model.json'))).toBe(16 + 8);
  });
});

describe('fetchFile', () => {
  it('retries transient failures with backoff, then succeeds', async () => {
    const fetch = vi.fn()
      .mockRejectedValueOnce(new TypeError('Failed to fetch'))
      .mockResolvedValueOnce(new Response('busy', { status: 503 }))
      .mockResolvedValueOnce(new Response('ok'));
    vi.stubGlobal('fetch', fetch);
    const buf = await fetchFile('http://x/a.bin', 'a.bin', { backoffMs: 1 });
    expect(new TextDecoder().decode(buf)).toBe('ok');
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('fails at once on a 404, naming the file', async () => {
    const fetch = vi.fn().mockResolvedValue(new Response('nope', { status: 404, statusText: 'Not Found' }));
    vi.stubGlobal('fetch', fetch);
    const err = await fetchFile('http://x/a.bin', 'a.bin', { backoffMs: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toContain('a.bin');
    expect(err.message).toContain('404');
    expect(err.details).toMatchObject({ file: 'a.bin', status: 404 });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('gives up after the last attempt with MODEL_LOAD_FAILED', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')));
    await expect(fetchFile('http://x/a.bin', 'a.bin', { retries: 2, backoffMs: 1 })).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
      message: expect.stringContaining('after 2 attempts'),
    });
  });
});

describe('fetchModelFiles', () => {
  it('downloads model.json and every shard and reports progress up to the total', async () => {
    const bodies: Record<string, string> = { '/m/model.json': JSON.stringify(modelJson), '/m/a.bin': 'x'.repeat(16), '/m/b.bin': 'y'.repeat(8) };
    vi.stubGlobal('fetch', vi.fn(async (url: string) => new Response(bodies[new URL(url).pathname] ?? '', { status: bodies[new URL(url).pathname] ? 200 : 404 })));
    const seen: [number, number][] = [];
    const files = await fetchModelFiles('http://h/m/model.json', { onProgress: (p) => seen.push([p.loaded, p.total]) });
    expect([...files.files.keys()].sort()).toEqual(['a.bin', 'b.bin', 'model.json']);
    const total = JSON.stringify(modelJson).length + 24;
    expect(seen.at(-1)).toEqual([total, total]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
  });
});

describe('readPickedFiles', () => {
  it('finds model.json and the shards it lists, and names a missing one', async () => {
    const json = new File([JSON.stringify(modelJson)], 'model.json');
    const a = new File(['x'.repeat(16)], 'a.bin');
    const b = new File(['y'.repeat(8)], 'b.bin');
    const files = await readPickedFiles([a, json, b]);
    expect(files.modelFile).toBe('model.json');
    expect(files.files.get('b.bin')?.byteLength).toBe(8);
    await expect(readPickedFiles([json, a])).rejects.toThrow(/Missing weight file b.bin/);
    await expect(readPickedFiles([a, b])).rejects.toThrow(/No model.json/);
  });
});
