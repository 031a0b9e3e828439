/**
 * The op table, generated at build time from the installed tfjs by scripts/lib/op-table.mjs
 * (a rollup and vitest plugin): which kernels each graph op runs, which kernels each backend has.
 */
declare module 'inpage:op-table' {
  const table: {
    /** tfjs-core's version the table was read from. */
    tfjs: string;
    /** Kernel names registered by each backend. */
    backends: Record<'webgpu' | 'webgl' | 'wasm' | 'cpu', string[]>;
    /**
     * Every graph op tfjs-converter knows: the kernels it runs (empty: it runs in JS), and the
     * node attributes tfjs reads as the op's `dtype` / `shape`.
     */
    ops: Record<string, { kernels: string[]; dtypeAttr?: string; shapeAttr?: string }>;
  };
  export default table;
}
