// Types of op-table.mjs, for vitest.config.ts.
import type { Plugin } from 'rollup';

/** The backends the table covers. */
export declare const BACKENDS: readonly ['webgpu', 'webgl', 'wasm', 'cpu'];
/** The op table (see src/cli/op-table.d.ts for its shape). */
export declare function buildOpTable(): Promise<unknown>;
/** `import table from 'inpage:op-table'` in rollup and vite builds. */
export declare function opTablePlugin(): Plugin;
