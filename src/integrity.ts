/**
 * Checksums of a model's files in the subresource-integrity format, `sha256-<base64>`.
 * WebCrypto only, so the same code runs on the page, in the worker and in node >= 20
 * (the `inpage hash` command line).
 */
import { InputError, IntegrityError } from './errors.js';
import type { IntegrityMap } from './types.js';

const ALGORITHMS = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

/** A hash algorithm an integrity value may name. */
export type HashAlgorithm = keyof typeof ALGORITHMS;

const VALUE = /^(sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2}$/;

/** Whether WebCrypto's digest is there: browsers give it only to secure contexts (https, localhost). */
export function canHash(): boolean {
  return typeof globalThis.crypto?.subtle?.digest === 'function';
}

/**
 * The integrity value of some bytes.
 * @example await digest(new TextEncoder().encode('abc')) // 'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='
 */
export async function digest(bytes: ArrayBuffer | ArrayBufferView, algorithm: HashAlgorithm = 'sha256'): Promise<string> {
  if (!canHash()) {
    throw new IntegrityError('Checking integrity needs WebCrypto (crypto.subtle), which browsers give only to secure contexts (https or localhost)');
  }
  const hash = new Uint8Array(await crypto.subtle.digest(ALGORITHMS[algorithm], bytes as BufferSource));
  let s = '';
  for (const b of hash) s += String.fromCharCode(b);
  return `${algorithm}-${btoa(s)}`;
}

/** `./a.bin` and `a.bin` name the same file. */
function normalize(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

/** Checks a map's shape before any download: every value must be `sha256-`, `sha384-` or `sha512-` and base64. */
export function checkIntegrityMap(map: unknown): asserts map is IntegrityMap {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new InputError('integrity must be an object such as { "model.json": "sha256-...", "group1-shard1of1.bin": "sha256-..." }');
  }
  for (const [file, value] of Object.entries(map)) {
    if (typeof value !== 'string' || !VALUE.test(value)) {
      throw new InputError(`integrity["${file}"] must be "sha256-<base64>" (or sha384-/sha512-), got ${JSON.stringify(value)}`, { file });
    }
  }
}

/** The expected value of `file`; an unlisted file is refused, never trusted. */
export function expectedFor(map: IntegrityMap, file: string): string {
  const want = map[file] ?? map[normalize(file)] ??
    Object.entries(map).find(([k]) => normalize(k) === normalize(file))?.[1];
  if (want === undefined) {
    throw new IntegrityError(
      `${file} is not listed in spec.integrity; when a map is given every file of the model must be in it (npx inpage hash path/to/model.json prints one)`,
      { file },
    );
  }
  return want;
}

/**
 * Checks one file against the map. `sha256` is the file's sha256 value when already
 * computed, to hash each file once.
 * @throws IntegrityError `INTEGRITY_MISMATCH` naming the file when it is unlisted or differs
 */
export async function verifyFile(file: string, bytes: ArrayBuffer | ArrayBufferView, map: IntegrityMap, sha256?: string): Promise<void> {
  const want = expectedFor(map, file);
  const algorithm = want.slice(0, want.indexOf('-')) as HashAlgorithm;
  const got = algorithm === 'sha256' && sha256 !== undefined ? sha256 : await digest(bytes, algorithm);
  if (got !== want) {
    throw new IntegrityError(`${file} does not match its integrity value: expected ${want}, got ${got}`, { file, expected: want, actual: got });
  }
}

/** The integrity map of a model's files, in the order given (model.json first, then the shards). */
export async function integrityOf(files: Iterable<[string, ArrayBuffer | ArrayBufferView]>): Promise<IntegrityMap> {
  const map: IntegrityMap = {};
  for (const [file, bytes] of files) map[file] = await digest(bytes);
  return map;
}
