#!/usr/bin/env node
// Puts this repo's built package into examples/vite/node_modules/inpage, as
// `npm install inpage` would (the package's "files": package.json and dist/), so that the
// app resolves `inpage` exactly as a user's app does: from node_modules, through the
// package's exports map. Run `npm run build` first.
//
//   node examples/vite/install-inpage.mjs && npx vite build examples/vite
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const target = join(here, 'node_modules', 'inpage');

if (!existsSync(join(repo, 'dist', 'inpage.mjs'))) {
  console.error('dist/ is not built: run `npm run build` first');
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
mkdirSync(join(target, 'dist'), { recursive: true });
cpSync(join(repo, 'package.json'), join(target, 'package.json'));
for (const f of readdirSync(join(repo, 'dist'))) cpSync(join(repo, 'dist', f), join(target, 'dist', f));
console.log(`installed ${repo} into ${target}`);
