/// <reference types="node" />
/**
 * The inpage command line (`npx inpage <command>`), built to dist/cli.mjs.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
