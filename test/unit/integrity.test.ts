import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hashModel } from '../../src/cli/hash.js';
import { main } from '../../src/cli/main.js';
import { checkShardSizes } from '../../src/engine/files.js';
import { InputError, IntegrityError, ModelLoadError } from '../../src/errors.js';
import { checkIntegrityMap, digest, expectedFor, integrityOf, verifyFile } from '../../src/integrity.js';

const FIXTURES = join(__dirname, '..', 'fixtures');
const sri = (b: Buffer, alg = 'sha256') => `${alg}-${createHash(alg).update(b).digest('base64')}`;
const enc = (s: string) => new TextEncoder().encode(s);

/** The integrity map of a fixture folder, computed with node:crypto. */
function expectedMap(model: string): Record<string, string> {
  const json = JSON.parse(readFileSync(join(FIXTURES, model, 'model.json'), 'utf8'));
  const files = ['model.json', ...json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths)];
  return Object.fromEntries(files.map((f: string) => [f, sri(readFileSync(join(FIXTURES, model, f)))]));
}

describe('digest', () => {
  it('gives sha256-<base64> equal to node:crypto, and sha384/sha512 on request', async () => {
    const b = Buffer.from('inpage \u00e9\u0000\u00ff');
    expect(await digest(b)).toBe(sri(b));
    expect(await digest(new Uint8Array(b).buffer)).toBe(sri(b));
    expect(await digest(b, 'sha384')).toBe(sri(b, 'sha384'));
    expect(await digest(b, 'sha512')).toBe(sri(b, 'sha512'));
    expect(await digest(new Uint8Array(0))).toBe('sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('hashes only the bytes a view shows', async () => {
    const whole = enc('xxabcyy');
    expect(await digest(whole.subarray(2, 5))).toBe(sri(Buffer.from('abc')));
  });
});

describe('integrity maps', () => {
  it('accepts sha256/384/512 values and refuses anything else, naming the file', () => {
    expect(() => checkIntegrityMap({ 'model.json': sri(Buffer.from('a')), 'a.bin': sri(Buffer.from('a'), 'sha512') })).not.toThrow();
    expect(() => checkIntegrityMap(['sha256-x'])).toThrowError(InputError);
    expect(() => checkIntegrityMap(null)).toThrowError(InputError);
    expect(() => checkIntegrityMap({ 'a.bin': 'md5-abc' })).toThrow(/integrity\["a.bin"\]/);
    expect(() => checkIntegrityMap({ 'a.bin': 'sha256-not base64!' })).toThrow(/a.bin/);
    expect(() => checkIntegrityMap({ 'a.bin': 42 })).toThrowError(InputError);
  });

  it('finds a file listed with or without ./ and refuses an unlisted one, naming it', () => {
    const map = { './a.bin': 'sha256-AA==', 'b.bin': 'sha256-BB==' };
    expect(expectedFor(map, 'a.bin')).toBe('sha256-AA==');
    expect(expectedFor(map, './b.bin')).toBe('sha256-BB==');
    expect(() => expectedFor(map, 'c.bin')).toThrowError(IntegrityError);
    expect(() => expectedFor(map, 'c.bin')).toThrow(/c\.bin is not listed/);
  });

  it('verifies bytes, and a mismatch is INTEGRITY_MISMATCH naming the file', async () => {
    const b = Buffer.from('weights');
    const map = { 'w.bin': sri(b), 'x.bin': sri(b, 'sha384') };
    await expect(verifyFile('w.bin', b, map)).resolves.toBeUndefined();
    await expect(verifyFile('x.bin', b, map)).resolves.toBeUndefined();
    const flipped = Buffer.from(b);
    flipped[0] = (flipped[0] as number) ^ 1;
    const err = await verifyFile('w.bin', flipped, map).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.code).toBe('INTEGRITY_MISMATCH');
    expect(err.message).toContain('w.bin');
    expect(err.details).toMatchObject({ file: 'w.bin', expected: map['w.bin'], actual: sri(flipped) });
    // A precomputed sha256 is trusted as the file's hash (hash each file once).
    await expect(verifyFile('w.bin', flipped, map, sri(b))).resolves.toBeUndefined();
  });

  it('builds a map in the order given', async () => {
    const map = await integrityOf([['model.json', enc('{}')], ['a.bin', enc('a')]]);
    expect(Object.keys(map)).toEqual(['model.json', 'a.bin']);
    expect(map['a.bin']).toBe(sri(Buffer.from('a')));
  });
});

describe('checkShardSizes', () => {
  const json = (paths: string[]) => enc(JSON.stringify({
    modelTopology: {}, weightsManifest: [{ paths, weights: [{ name: 'w', shape: [2, 3], dtype: 'float32' }] }],
  })).buffer as ArrayBuffer;
  const files = (parts: [string, number][]) => ({
    modelFile: 'model.json',
    files: new Map<string, ArrayBuffer>([['model.json', json(parts.map(([p]) => p))], ...parts.map(([p, n]) => [p, new ArrayBuffer(n)] as [string, ArrayBuffer])]),
  });
  it('passes shards that hold what the manifest describes', () => {
    expect(() => checkShardSizes(files([['a.bin', 16], ['b.bin', 8]]))).not.toThrow();
  });
  it('fails a cut or swapped shard with MODEL_LOAD_FAILED naming the files', () => {
    const err = (() => {
      try {
        checkShardSizes(files([['a.bin', 16], ['b.bin', 3]]));
      } catch (e) {
        return e as ModelLoadError;
      }
    })();
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err?.message).toMatch(/a\.bin, b\.bin hold 19 bytes; model\.json describes 24/);
  });
});

describe('inpage hash', () => {
  const models = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'model.json')));

  it.each(models)('hashes every file of %s like node:crypto, model.json first', async (model) => {
    const map = await hashModel(join(FIXTURES, model, 'model.json'));
    const want = expectedMap(model);
    expect(map).toEqual(want);
    expect(Object.keys(map)).toEqual(Object.keys(want));
  });

  it('hashes a real model whose json is not called model.json', async () => {
    const path = join(__dirname, '..', '..', 'node_modules', '@vladmandic', 'human-models', 'models', 'emotion.json');
    const map = await hashModel(path);
    expect(Object.keys(map)).toEqual(['emotion.json', 'emotion.bin']);
    expect(map['emotion.bin']).toBe(sri(readFileSync(path.replace(/\.json$/, '.bin'))));
  });

  it('names a missing shard and exits 1', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['hash', join(FIXTURES, 'no-such-model', 'model.json')], (s) => out.push(s), (s) => err.push(s));
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/inpage hash: MODEL_LOAD_FAILED: Could not read model\.json/);
    expect(await main(['hash'], () => undefined, (s) => err.push(s))).toBe(1);
    expect(await main(['nope'], () => undefined, (s) => err.push(s))).toBe(1);
    expect(await main(['--help'], (s) => out.push(s), () => undefined)).toBe(0);
  });

  const cli = join(__dirname, '..', '..', 'dist', 'cli.mjs');
  it.runIf(existsSync(cli))('runs as dist/cli.mjs and prints the map as JSON', async () => {
    const model = join(FIXTURES, 'layers-cnn', 'model.json');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'hash', model]);
    expect(JSON.parse(stdout)).toEqual(expectedMap('layers-cnn'));
    expect(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
