// Type tests of the model lifecycle API: the cache, integrity, the registry (see api.ts).
import {
  cache, createRuntime, type CacheEntry, type IntegrityMap, type Model, type ModelCache, type ModelInfo, type RegistryEntry,
} from 'inpage';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

export async function lifecycle(): Promise<void> {
  // The cache needs no runtime.
  const c: ModelCache = cache;
  const entries: CacheEntry[] = await c.list();
  const first = entries[0];
  if (first) {
    const { key, name, version, url, bytes, files, storedAt } = first;
    assertType<Equal<[typeof key, typeof name, typeof version, typeof url], [string, string, string, string]>>(true);
    assertType<Equal<[typeof bytes, typeof files, typeof storedAt], [number, string[], number]>>(true);
  }
  const deleted: number = await cache.delete('emotion');
  await cache.delete('emotion', '2');
  const used: number = await cache.usage();
  await cache.clear();
  void [deleted, used];
  // @ts-expect-error: a version is a string
  await cache.delete('emotion', 2);

  const runtime = await createRuntime();
  const integrity: IntegrityMap = { 'model.json': 'sha256-AAAA', 'group1-shard1of1.bin': 'sha256-BBBB' };
  const v1 = await runtime.load({ url: '/m/v1/model.json', name: 'm', version: '1', cache: true, integrity });
  const info: ModelInfo = v1.info;
  if (info.cacheError) {
    assertType<Equal<typeof info.cacheError.code, import('inpage').ErrorCode>>(true);
    const message: string = info.cacheError.message;
    void message;
  }
  await runtime.load({ url: '/m/v2/model.json', name: 'm', version: '2', promote: true });
  runtime.promote('m', '1');
  // @ts-expect-error: promote takes a name and a version
  runtime.promote('m');
  const byName: Model<{ inputs: 'x'; outputs: 'y' }> = runtime.model<{ inputs: 'x'; outputs: 'y' }>('m');
  const out = await byName.run({ data: new Float32Array(4), shape: [1, 4] });
  void out.y;
  const listed: RegistryEntry[] = runtime.models();
  const state: 'loading' | 'ready' | 'recovering' | 'disposed' | undefined = listed[0]?.state;
  const active: boolean | undefined = listed[0]?.active;
  void [state, active];
  await v1.dispose();
}
