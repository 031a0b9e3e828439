// Cold start of inpage: from navigation start (performance.now() = 0) to the first
// answer of model.run, with the steps in between.
import { makeInput } from './common.js';

const q = new URLSearchParams(location.search);
const dist = q.get('dist') ?? '/dist/';
const shape = (q.get('shape') ?? '1,64,64,1').split(',').map(Number);

async function main() {
  const marks = { start: performance.now() };
  const { createRuntime } = await import(`${dist}inpage.mjs`);
  marks.imported = performance.now();
  const runtime = await createRuntime({ backends: [q.get('backend') ?? 'wasm'] });
  marks.runtime = performance.now();
  const model = await runtime.load({
    url: q.get('model'),
    cache: q.get('cache') === '1',
    warmup: q.get('warmup') !== '0',
  });
  marks.loaded = performance.now();
  await model.run({ data: makeInput(shape), shape });
  marks.first = performance.now();
  return { marks, fromCache: model.info.fromCache, cacheError: model.info.cacheError ?? null, backend: runtime.backend };
}

window.coldResult = main().catch((e) => ({ error: `${e.name}: ${e.message}` }));
