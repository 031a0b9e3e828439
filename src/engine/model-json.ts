/**
 * What a model.json says about itself, read without tfjs: its format, the signature tfjs
 * would use, the ops of its graph and whether `execute()` can run it. The runtime's loader
 * and the command line (`inpage inspect`, `inpage types`) both read models through here.
 */
import type { TensorInfo } from '../types.js';
import type { ModelJson } from './fetch.js';

/** Ops that `execute()` refuses: control flow and ops whose output shape depends on data. */
export const ASYNC_OPS: ReadonlySet<string> = new Set([
  'Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'LoopCond', 'If', 'StatelessIf', 'While', 'StatelessWhile',
  'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV4', 'NonMaxSuppressionV5', 'Where',
  'TensorArrayV3', 'TensorListReserve', 'HashTable', 'HashTableV2', 'LookupTableFind', 'LookupTableFindV2',
]);

interface SignatureEntry { name?: string; dtype?: string; tensorShape?: TensorShapeProto }
interface TensorShapeProto { dim?: { size?: string | number }[]; unknownRank?: boolean }
interface Signature { inputs?: Record<string, SignatureEntry>; outputs?: Record<string, SignatureEntry> }

/** One node of a GraphDef as model.json stores it. */
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { type?: string; shape?: TensorShapeProto; [k: string]: unknown }>;
}

interface GraphTopology { node?: GraphNode[]; library?: { function?: { nodeDef?: GraphNode[] }[] } }

/** `DT_FLOAT` and friends as tfjs dtypes (as tfjs-converter maps them). */
export function dtypeOf(dt: string | undefined): string {
  switch (dt) {
    case 'DT_FLOAT': case 'DT_HALF': case 'DT_DOUBLE': case 'DT_BFLOAT16': return 'float32';
    case 'DT_INT32': case 'DT_INT64': case 'DT_INT16': case 'DT_INT8': case 'DT_UINT8': case 'DT_UINT16': return 'int32';
    case 'DT_BOOL': return 'bool';
    case 'DT_STRING': return 'string';
    case 'DT_COMPLEX64': return 'complex64';
    default: return dt ?? 'float32';
  }
}

/** A TensorShapeProto as a shape: `null` for a free dim, `null` as a whole for an unknown rank. */
export function shapeOf(s: TensorShapeProto | undefined): (number | null)[] | null {
  if (!s || s.unknownRank) return null;
  return (s.dim ?? []).map((d) => {
    const n = Number(d.size ?? -1);
    return n < 0 ? null : n;
  });
}

/** A tfjs shape (`-1` or `null` for a free dim) in inpage's form. */
export function freeDims(shape: readonly (number | null)[] | undefined | null): (number | null)[] | null {
  if (!shape) return null;
  return shape.map((d) => (d == null || d < 0 ? null : d));
}

/** `graph` or `layers`: from `format`, else from the topology's look. */
export function detectFormat(json: ModelJson): 'graph' | 'layers' {
  if (json.format === 'layers-model') return 'layers';
  if (json.format === 'graph-model') return 'graph';
  const topo = json.modelTopology as Record<string, unknown>;
  return topo && ('node' in topo || 'library' in topo) ? 'graph' : 'layers';
}

/** Every node of a graph model: the main graph, then the bodies of its functions (control flow). */
export function graphNodes(json: ModelJson): GraphNode[] {
  const topo = (json.modelTopology ?? {}) as GraphTopology;
  return [...(topo.node ?? []), ...(topo.library?.function ?? []).flatMap((f) => f.nodeDef ?? [])];
}

/** The op names of a graph model, with how many nodes run each. */
export function opCounts(json: ModelJson): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of graphNodes(json)) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  return counts;
}

/** Whether a graph with these ops needs `executeAsync` (control flow or data-dependent shapes). */
export function needsAsync(ops: Iterable<string>): boolean {
  for (const op of ops) if (ASYNC_OPS.has(op)) return true;
  return false;
}

/** The signature tfjs would use: top-level, or from userDefinedMetadata. */
function signatureOf(json: ModelJson): Signature | undefined {
  const udm = json.userDefinedMetadata as { signature?: Signature } | undefined;
  return (udm?.signature ?? json.signature) as Signature | undefined;
}

const fromSignature = (entries: [string, SignatureEntry][]): TensorInfo[] =>
  entries.map(([key, e]) => ({ name: key, dtype: dtypeOf(e.dtype), shape: shapeOf(e.tensorShape) }));

/**
 * A graph model's inputs and outputs as the signature gives them (keyed by signature key);
 * `undefined` on a side the signature does not list, where tfjs falls back to the graph itself.
 */
export function signatureIO(json: ModelJson): { inputs?: TensorInfo[]; outputs?: TensorInfo[] } {
  const sig = signatureOf(json);
  const inputs = Object.entries(sig?.inputs ?? {});
  const outputs = Object.entries(sig?.outputs ?? {});
  return {
    ...(inputs.length ? { inputs: fromSignature(inputs) } : {}),
    ...(outputs.length ? { outputs: fromSignature(outputs) } : {}),
  };
}

const nodeNameOf = (input: string): string => input.replace(/^\^/, '').split(':')[0] ?? input;

/**
 * A graph model's inputs and outputs read from the graph, as tfjs-converter's GraphModel
 * reports them when there is no signature: the Placeholder nodes, and the nodes nothing
 * consumes. `attrOf(op, param)` names the node attribute tfjs reads as `dtype` / `shape`
 * for an op (Placeholder: `dtype` / `shape`); an output whose op has none is `float32`, rank unknown.
 */
export function graphIO(
  json: ModelJson,
  attrOf: (op: string, param: 'dtype' | 'shape') => string | undefined = (op, p) => (op.startsWith('Placeholder') ? p : undefined),
): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const nodes = ((json.modelTopology ?? {}) as GraphTopology).node ?? [];
  const consumed = new Set(nodes.flatMap((n) => (n.input ?? []).map(nodeNameOf)));
  const info = (n: GraphNode): TensorInfo => {
    const dt = attrOf(n.op, 'dtype');
    const sh = attrOf(n.op, 'shape');
    return {
      name: n.name,
      dtype: dt && n.attr?.[dt]?.type ? dtypeOf(n.attr[dt].type) : 'float32',
      shape: sh && n.attr?.[sh]?.shape ? shapeOf(n.attr[sh].shape) : null,
    };
  };
  return {
    inputs: nodes.filter((n) => n.op.startsWith('Placeholder')).map(info),
    outputs: nodes.filter((n) => !consumed.has(n.name)).map(info),
  };
}

/**
 * Whether requests can be joined into one batch: every input has a free first dimension,
 * every output a free first dimension or an unknown shape, and `execute()` runs the graph.
 */
export function canBatch(inputs: readonly TensorInfo[], outputs: readonly TensorInfo[], async: boolean): boolean {
  return !async &&
    inputs.every((i) => i.shape !== null && i.shape.length > 0 && i.shape[0] === null) &&
    outputs.every((o) => o.shape === null || (o.shape.length > 0 && o.shape[0] === null));
}
