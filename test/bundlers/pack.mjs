// The package as a user gets it: `npm pack` of this repo, installed into test/bundlers/
// (an app of its own, with a package.json, so that `import 'inpage'` resolves to
// node_modules/inpage and not to this repo by Node's package self-reference).
//
// Packs once per build: the tarball is made again only when dist/ or package.json is
// newer than it. `npm pack --ignore-scripts` packs the dist/ that `npm run build` made
// (prepack would build again); a fresh clone's `npm pack` builds through prepack.
//
//   node test/bundlers/pack.mjs   # packs and installs, prints the tarball's path
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
const packDir = join(here, '.pack');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function newestInput() {
  const dist = join(repo, 'dist');
  if (!existsSync(join(dist, 'inpage.mjs'))) throw new Error('dist/ is not built: run `npm run build` first');
  return Math.max(statSync(join(repo, 'package.json')).mtimeMs, ...readdirSync(dist).map((f) => statSync(join(dist, f)).mtimeMs));
}

/** `npm pack` of the repo; returns the tarball's path and npm's report of its files. */
export function pack() {
  const tarball = join(packDir, `inpage-${JSON.parse(execFileSync(npm, ['pkg', 'get', 'version'], { cwd: repo, encoding: 'utf8' }))}.tgz`);
  const report = join(packDir, 'pack.json');
  if (!existsSync(tarball) || !existsSync(report) || statSync(tarball).mtimeMs < newestInput()) {
    rmSync(packDir, { recursive: true, force: true });
    mkdirSync(packDir, { recursive: true });
    const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: repo, encoding: 'utf8' });
    writeFileSync(report, out);
  }
  const [info] = JSON.parse(readFileSync(report, 'utf8'));
  return { tarball, info };
}

/** Installs the tarball into `dir` (which has a package.json) without touching the registry. */
export function installTarball(tarball, dir) {
  execFileSync(npm, ['install', '--offline', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], { cwd: dir, stdio: 'pipe' });
  return join(dir, 'node_modules', 'inpage');
}

/** Packs (when needed) and installs into test/bundlers/node_modules/inpage (when needed). */
export function packAndInstall() {
  const { tarball } = pack();
  const installed = join(here, 'node_modules', 'inpage', 'package.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(tarball).mtimeMs) installTarball(tarball, here);
  return { tarball, dir: join(here, 'node_modules', 'inpage') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(packAndInstall().tarball);
