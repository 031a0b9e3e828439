/**
 * The package as npm ships it (`npm pack` of the built repo, test/bundlers/pack.mjs):
 * small, holding every file its exports map, `bin` and worker name and nothing else of
 * weight, light to install, and typed for every kind of TypeScript consumer.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, parse } from 'es-module-lexer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM script without type declarations
import { installTarball, pack, repo } from '../bundlers/pack.mjs';

const MB = 1024 * 1024;
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

let tarball: string;
let files: { path: string; size: number }[];
let packed: number;
let work: string;

beforeAll(() => {
  const r = pack();
  tarball = r.tarball;
  files = r.info.files;
  packed = r.info.size;
  work = mkdtempSync(join(tmpdir(), 'inpage-package-'));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every file path the package names: exports map (all conditions), main/module/types, bin. */
function namedFiles(): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(pkg.exports);
  walk(pkg.bin);
  for (const k of ['main', 'module', 'types']) walk(pkg[k]);
  return [...out];
}

describe('npm pack', () => {
  it('builds itself before packing', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
  });

  it('is at most 4 MB packed', () => {
    expect(packed).toBeGreaterThan(0);
    expect(packed).toBeLessThanOrEqual(4 * MB);
  });

  it('holds every file the exports map, bin and main/module/types name', () => {
    const names = namedFiles();
    expect(names).toEqual(expect.arrayContaining(['dist/inpage.mjs', 'dist/inpage.cjs', 'dist/inpage.d.ts', 'dist/inpage.d.cts', 'dist/inpage.worker.js', 'dist/cli.mjs', 'package.json']));
    const paths = files.map((f) => f.path);
    for (const n of names) expect(paths, n).toContain(n);
  });

  it('holds the files the worker and the page entry load at run time', () => {
    const paths = files.map((f) => f.path);
    const worker = readFileSync(join(repo, 'dist/inpage.worker.js'), 'utf8');
    const entry = readFileSync(join(repo, 'dist/inpage.mjs'), 'utf8');
    // new URL('./x', import.meta.url) and import('./x') in the shipped bundles.
    const named = new Set<string>();
    for (const src of [worker, entry]) {
      for (const m of src.matchAll(/(?:new URL\(|import\()\s*["'`]\.\/([\w.-]+)["'`]/g)) named.add(`dist/${m[1]}`);
    }
    expect([...named]).toEqual(expect.arrayContaining(['dist/inpage.worker.js', 'dist/inpage.engine.mjs', 'dist/tfjs-backend-wasm.wasm', 'dist/tfjs-backend-wasm-simd.wasm', 'dist/tfjs-backend-wasm-threaded-simd.wasm']));
    for (const n of named) expect(paths, n).toContain(n);
  });

  it('ships nothing else of weight: every file over 10 KB is named, loaded or the map of one', () => {
    const needed = new Set([...namedFiles(), 'dist/inpage.umd.js', 'dist/inpage.engine.mjs', 'dist/tfjs-backend-wasm.wasm', 'dist/tfjs-backend-wasm-simd.wasm', 'dist/tfjs-backend-wasm-threaded-simd.wasm', 'README.md']);
    const heavy = files.filter((f) => f.size > 10 * 1024 && !needed.has(f.path) && !needed.has(f.path.replace(/\.map$/, '')));
    expect(heavy).toEqual([]);
  });

  it('source maps carry our sources only, no tfjs', () => {
    for (const f of files.filter((x) => x.path.endsWith('.map'))) {
      const map = JSON.parse(readFileSync(join(repo, f.path), 'utf8'));
      expect(map.sources.filter((s: string) => s.includes('node_modules')), f.path).toEqual([]);
      expect(f.size, f.path).toBeLessThan(1 * MB);
    }
  });

  it('nothing in dist imports a package at run time (tfjs, comlink, idb are bundled)', async () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    await init;
    for (const f of files.filter((x) => /\.(m?js|cjs)$/.test(x.path))) {
      const src = readFileSync(join(repo, f.path), 'utf8');
      const isModule = f.path.endsWith('.mjs') || f.path === 'dist/inpage.worker.js';
      // ES modules: their import statements and import() calls (not the text of strings,
      // such as the pthread worker's source inside tfjs-backend-wasm). Scripts: require().
      const ids = isModule
        ? parse(src)[0].map((i) => i.n).filter((n): n is string => n !== undefined)
        : [...src.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
      const bare = ids.filter((id) => !/^\.{0,2}\//.test(id) && !id.startsWith('node:') && id !== 'url');
      expect(bare, f.path).toEqual([]);
    }
  });
});

describe('an app that installs the tarball', () => {
  it('adds at most 20 MB to node_modules', () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    installTarball(tarball, app);
    const du = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + du(join(p, f)), 0) : statSync(p).size);
    const size = du(join(app, 'node_modules'));
    expect(readdirSync(join(app, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['inpage']);
    expect(size).toBeGreaterThan(1 * MB);
    expect(size).toBeLessThanOrEqual(20 * MB);
  }, 120_000);
});

describe('TypeScript consumers compile against the package', () => {
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  /** Code a consumer writes; the @ts-expect-error lines fail the compile if the types were `any`. */
  const body = `
const rt = await createRuntime({ backends: ['wasm', 'cpu'] });
const model = await rt.load({ url: '/model.json' });
let code: string | undefined;
try {
  const out = await model.run({ data: new Float32Array(8), shape: [1, 8] });
  code = Object.keys(out).join();
} catch (e) {
  if (e instanceof InpageError) code = e.code;
}
// @ts-expect-error: not a backend
await createRuntime({ backends: ['nope'] });
// @ts-expect-error: load takes a spec
await rt.load(42);
export { code };
`;
  const cases = [
    { name: 'bundler (ESM)', file: 'main.ts', options: { module: 'ESNext', moduleResolution: 'Bundler' }, code: `import { createRuntime, InpageError } from 'inpage';\n${body}` },
    { name: 'node16 ESM (.mts)', file: 'main.mts', options: { module: 'Node16', moduleResolution: 'Node16' }, code: `import { createRuntime, InpageError } from 'inpage';\n${body}` },
    {
      name: 'node16 CommonJS (.cts)',
      file: 'main.cts',
      options: { module: 'Node16', moduleResolution: 'Node16' },
      // No top-level await in CommonJS: the same lines in an async function.
      code: `import { createRuntime, InpageError } from 'inpage';\nasync function main() {\n${body.replace('export { code };', 'return code;')}}\nexport = main;\n`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dir = join(work, c.file.replace('.', '-'));
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
      installTarball(tarball, dir);
      writeFileSync(join(dir, c.file), c.code);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { ...c.options, target: 'ES2022', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: [c.file],
      }));
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        output = String((e as { stdout?: string }).stdout ?? e);
      }
      expect(output).toBe('');
    }, 120_000);
  }
});
