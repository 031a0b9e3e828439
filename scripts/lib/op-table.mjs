// Which tfjs kernels each TensorFlow graph op runs, and which kernels each backend has:
// the table `inpage inspect` reads, generated at build time from the installed tfjs
// (the CLI itself carries no tfjs). Three steps, each read from tfjs's own code:
//
// 1. tfjs-converter's op list gives every graph op it supports and its category; each
//    category's executor takes the tfjs ops as a parameter (`ops = tfOps`), so calling it
//    with a recording stand-in for `ops` and for the node's tensors names the tfjs op
//    functions the graph op calls (`_FusedConv2D` -> `fused.conv2d`). Control-flow and
//    hash-table executors take no `ops`: their graph ops run in JS, on tensor arrays,
//    lists and tables whose tfjs imports are read from the converter's source instead.
// 2. Each tfjs-core op module names its kernels in `ENGINE.runKernel(<kernel>, ...)`; an op
//    with no runKernel of its own is made of the ops it imports (followed until kernels
//    are found; ops that run in JS, such as the async non-max suppressions, have none).
// 3. `getKernelsForBackend` after importing the four backends: the kernel registry.
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rollup } from 'rollup';
import nodeResolve from '@rollup/plugin-node-resolve';

const require = createRequire(import.meta.url);
const pkgDir = (name) => dirname(require.resolve(`${name}/package.json`));
const CORE = join(pkgDir('@tensorflow/tfjs-core'), 'dist');
const CONVERTER = join(pkgDir('@tensorflow/tfjs-converter'), 'dist');
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];
const COMPLEX_KERNELS = new Set(['Complex', 'ComplexAbs', 'Real', 'Imag']);

const stripComments = (src) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '').split('//# sourceMappingURL')[0];

/** `import { a, b as c } from 'x'` and `export { a } from 'x'` as [local name, imported name, from]. */
function namedImports(src) {
  const out = [];
  for (const m of src.matchAll(/(?:import|export)\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    for (const part of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      const [imported, local = imported] = part.split(/\s+as\s+/).map((s) => s.trim());
      out.push([local, imported, m[2]]);
    }
  }
  return out;
}

const moduleFile = (from, spec) => {
  const p = resolve(dirname(from), spec);
  return p.endsWith('.js') ? p : `${p}.js`;
};

/** Kernel names of tfjs-core ops, by reading their modules. */
function coreKernels() {
  const kernelNames = new Map();
  for (const m of readFileSync(join(CORE, 'kernel_names.js'), 'utf8').matchAll(/export const (\w+) = '([^']+)'/g)) kernelNames.set(m[1], m[2]);
  const memo = new Map();
  const ofFile = (file, seen = new Set()) => {
    if (memo.has(file)) return memo.get(file);
    if (seen.has(file)) return new Set();
    seen.add(file);
    let src;
    try {
      src = stripComments(readFileSync(file, 'utf8'));
    } catch {
      return new Set();
    }
    const imports = namedImports(src);
    const local = new Map(imports.filter(([, , from]) => /kernel_names$/.test(from)).map(([l, i]) => [l, kernelNames.get(i) ?? i]));
    const kernels = new Set();
    for (const m of src.matchAll(/runKernel\(\s*(?:(\w+)|'(\w+)')/g)) {
      if (m[2]) kernels.add(m[2]);
      else if (local.has(m[1])) kernels.add(local.get(m[1]));
    }
    if (kernels.size === 0) {
      // A composite op: the kernels of the ops it uses.
      for (const [, , from] of imports) {
        if (!from.startsWith('.') || /kernel_names|operation$|_util$|util$|tensor_util_env|engine|gradients|globals/.test(from)) continue;
        for (const k of ofFile(moduleFile(file, from), seen)) kernels.add(k);
      }
    }
    memo.set(file, kernels);
    return kernels;
  };
  // Public op names (`add`, `fused.conv2d`, `image.resizeBilinear`) -> module files.
  const files = new Map();
  const opsJs = join(CORE, 'ops', 'ops.js');
  const opsSrc = stripComments(readFileSync(opsJs, 'utf8'));
  for (const [local, , from] of namedImports(opsSrc)) files.set(local, moduleFile(opsJs, from));
  for (const m of opsSrc.matchAll(/export \* from ['"]([^'"]+)['"]/g)) {
    const file = moduleFile(opsJs, m[1]);
    for (const e of readFileSync(file, 'utf8').matchAll(/export (?:const|function) (\w+)/g)) files.set(e[1], file);
  }
  const fusedJs = join(CORE, 'ops', 'fused_ops.js');
  for (const [local, , from] of namedImports(stripComments(readFileSync(fusedJs, 'utf8')))) files.set(`fused.${local}`, moduleFile(fusedJs, from));
  /** Kernels of a public op name; `undefined` for a name that is no op of tfjs-core (tidy, keep...). */
  return (name) => {
    const file = files.get(name) ?? files.get(name.split('.').pop());
    return file ? [...ofFile(file)] : undefined;
  };
}

/** A value that stands for any tensor, attribute or context: every use of it yields another. */
function anything() {
  return new Proxy(function () {}, {
    get(_, key) {
      if (key === Symbol.toPrimitive) return () => 1;
      if (key === Symbol.iterator) return function* () { yield anything(); };
      if (key === 'then') return undefined;
      if (key === 'length' || key === 'rank' || key === 'size') return 1;
      if (key === 'dtype') return 'float32';
      if (key === 'shape') return [1, 1, 1, 1];
      return anything();
    },
    apply: () => anything(),
    construct: () => anything(),
  });
}

/** A stand-in for tfjs's ops namespace that records which ops are called (`fused.conv2d`). */
function recordingOps(calls, path = '') {
  return new Proxy({}, {
    get(_, key) {
      if (typeof key === 'symbol' || key === 'then') return undefined;
      const name = path ? `${path}.${key}` : key;
      const fn = () => {
        calls.add(name);
        return anything();
      };
      return new Proxy(fn, { get: (__, k) => (typeof k === 'symbol' ? undefined : recordingOps(calls, name)[k]) });
    },
  });
}

/** The converter's executors, bundled so node can load them (their imports omit `.js`). */
async function loadExecutors() {
  const dir = join(CONVERTER, 'operations', 'executors');
  const names = readdirSync(dir).filter((f) => f.endsWith('_executor.js'));
  const entry = names.map((f, i) => `export * as e${i} from ${JSON.stringify(join(dir, f))};`).join('\n');
  const bundle = await rollup({
    input: 'entry',
    plugins: [{
      name: 'entry',
      resolveId(id) {
        if (id === 'entry' || id === 'stub') return id;
        // The executors' default `ops` (never used here: the recorder is passed instead).
        if (id.startsWith('@tensorflow/tfjs-core/')) return 'stub';
        if (id === '@tensorflow/tfjs-core') return { id: pathToFileURL(require.resolve(id)).href, external: true };
        return null;
      },
      load: (id) => (id === 'entry' ? entry : id === 'stub' ? 'export {};' : null),
    }, nodeResolve()],
    onwarn: () => {},
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  const tmp = mkdtempSync(join(tmpdir(), 'inpage-ops-'));
  try {
    const file = join(tmp, 'executors.mjs');
    writeFileSync(file, output[0].code);
    const mod = await import(pathToFileURL(file).href);
    return new Map(Object.values(mod).map((m) => [m.CATEGORY, m.executeOp]));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Graph ops whose executor case calls `cloneTensor`, read from the executors' source. */
function cloningOps() {
  const dir = join(CONVERTER, 'operations', 'executors');
  const ops = new Set();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('_executor.js'))) {
    const src = stripComments(readFileSync(join(dir, f), 'utf8'));
    // Each run of labels `case 'A': case 'B':` and its body, up to the next run.
    const runs = [...src.matchAll(/(?:case\s+'[^']+':\s*)+/g)];
    runs.forEach((run, i) => {
      const body = src.slice((run.index ?? 0) + run[0].length, runs[i + 1]?.index ?? src.length);
      if (body.includes('cloneTensor(')) for (const m of run[0].matchAll(/case\s+'([^']+)'/g)) ops.add(m[1]);
    });
  }
  return ops;
}

/** Graph op -> tfjs op names, by running each executor on stand-ins. */
async function graphOps(executors) {
  const list = [];
  const opListDir = join(CONVERTER, 'operations', 'op_list');
  for (const f of readdirSync(opListDir).filter((n) => n.endsWith('.js'))) list.push(...(await import(pathToFileURL(join(opListDir, f)).href)).json);
  const inJs = (file) => namedImports(stripComments(readFileSync(join(CONVERTER, 'executor', file), 'utf8')))
    .filter(([, , from]) => from.startsWith('@tensorflow/tfjs-core')).map(([local]) => local);
  const clones = cloningOps();
  const tensorArray = inJs('tensor_array.js');
  const tensorList = inJs('tensor_list.js');
  const hashTable = inJs('hash_table.js');
  const out = new Map();
  // The Print op logs its stand-ins; keep that out of the output.
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    for (const op of list) {
      const traced = await traceOp(op, executors, { tensorArray, tensorList, hashTable });
      // `cloneTensor` (Identity, Snapshot...) calls tfjs-core's clone directly, not through `ops`.
      if (clones.has(op.tfOpName)) traced.calls.push('clone');
      out.set(op.tfOpName, traced);
    }
  } finally {
    Object.assign(console, { log, warn });
  }
  return out;
}

async function traceOp(op, executors, { tensorArray, tensorList, hashTable }) {
  {
    const calls = new Set();
    if (op.category === 'control') {
      // Switch, Merge, Enter, If, While...: bookkeeping in JS; arrays and lists use tfjs ops.
      if (op.tfOpName.startsWith('TensorArray')) tensorArray.forEach((n) => calls.add(n));
      if (op.tfOpName.startsWith('TensorList') || op.tfOpName === 'EmptyTensorList') tensorList.forEach((n) => calls.add(n));
    } else if (op.category === 'hash_table') {
      hashTable.forEach((n) => calls.add(n));
    } else {
      const node = {
        op: op.tfOpName, category: op.category, name: 'node', inputNames: ['a', 'b', 'c', 'd'], inputs: [], children: [],
        inputParams: {}, attrParams: new Proxy({}, { get: () => ({ value: anything() }) }), rawAttrs: {},
      };
      const tensors = new Proxy({}, { get: () => [anything(), anything(), anything(), anything()] });
      const run = executors.get(op.category);
      try {
        const r = op.category === 'dynamic' ? run(node, tensors, anything(), undefined, recordingOps(calls)) : run(node, tensors, anything(), recordingOps(calls));
        if (r && typeof r.then === 'function') await r.catch(() => {});
      } catch {
        // The stand-ins cannot satisfy every check; the calls made before it are what counts.
      }
    }
    const attr = (name) => op.attrs?.find((a) => a.name === name)?.tfName;
    return { category: op.category, calls: [...calls], dtypeAttr: attr('dtype'), shapeAttr: attr('shape') };
  }
}

/**
 * The table: `{ tfjs, backends: { [backend]: kernel[] }, ops: { [graphOp]: { kernels, dtypeAttr?, shapeAttr? } } }`.
 * An op whose `kernels` is empty runs in JS (no kernel needed); a graph op missing from
 * `ops` is one tfjs-converter does not know.
 */
export async function buildOpTable() {
  const kernelsOf = coreKernels();
  const ops = {};
  for (const [name, { category, calls, dtypeAttr, shapeAttr }] of await graphOps(await loadExecutors())) {
    const kernels = new Set();
    for (const c of calls) for (const k of kernelsOf(c) ?? []) kernels.add(k);
    // tfjs ops branch on complex64 inputs (abs, zeros, transpose...); only complex and
    // spectral graph ops get such inputs.
    if (!COMPLEX_KERNELS.has(name) && category !== 'spectral') for (const k of COMPLEX_KERNELS) kernels.delete(k);
    ops[name] = { kernels: [...kernels].sort(), ...(dtypeAttr ? { dtypeAttr } : {}), ...(shapeAttr ? { shapeAttr } : {}) };
  }
  const tf = require('@tensorflow/tfjs-core');
  for (const b of ['cpu', 'wasm', 'webgl', 'webgpu']) require(`@tensorflow/tfjs-backend-${b}`);
  const backends = Object.fromEntries(BACKENDS.map((b) => [b, tf.getKernelsForBackend(b).map((k) => k.kernelName).sort()]));
  return { tfjs: tf.version_core, backends, ops };
}

/**
 * A rollup (and vite) plugin: `import table from 'inpage:op-table'` gets the table, built
 * once per process.
 */
export function opTablePlugin() {
  let table;
  return {
    name: 'inpage-op-table',
    resolveId: (id) => (id === 'inpage:op-table' ? '\0inpage:op-table' : null),
    async load(id) {
      if (id !== '\0inpage:op-table') return null;
      table ??= buildOpTable();
      return `export default ${JSON.stringify(await table)};`;
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t = await buildOpTable();
  console.log(JSON.stringify(t, null, process.argv.includes('--pretty') ? 1 : 0));
}
