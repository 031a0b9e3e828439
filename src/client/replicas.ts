/**
 * Replicas (`spec.replicas`): one model loaded in several engines (workers), each under a
 * supervisor of its own, so batch serving uses more than one core. Requests go to the
 * replica with the fewest outstanding; stats are added up.
 */
import { driftOf } from '../ops/drift.js';
import type { DriftReference, ModelStats, Percentiles } from '../types.js';
import type { Supervisor } from './supervisor.js';

/** The replica to send the next request for `modelId` to: serving ones first, then the fewest outstanding calls. */
export function leastBusy(replicas: readonly Supervisor[], modelId: string): Supervisor {
  let best = replicas[0] as Supervisor;
  let bestScore = Infinity;
  for (const sup of replicas) {
    // A replica that gave up answers WORKER_LOST at once: only when every one has.
    const score = (sup.state === 'lost' ? 1e9 : sup.state === 'recovering' ? 1e6 : 0) + sup.outstanding(modelId);
    if (score < bestScore) {
      best = sup;
      bestScore = score;
    }
  }
  return best;
}

/** `replicas: 'auto'`: one per core for WASM and CPU without threads; one on a GPU or with threads. */
export function autoReplicas(backend: string, threaded: boolean): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  if (threaded) return 1;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(cores, 4));
}

function worst(parts: Percentiles[]): Percentiles {
  return {
    p50: Math.max(...parts.map((p) => p.p50)),
    p95: Math.max(...parts.map((p) => p.p95)),
    p99: Math.max(...parts.map((p) => p.p99)),
    mean: Math.max(...parts.map((p) => p.mean)),
  };
}

function addArrays(arrays: number[][]): number[] {
  const sum: number[] = [];
  for (const a of arrays) a.forEach((v, i) => (sum[i] = (sum[i] ?? 0) + v));
  return sum;
}

/**
 * One model's stats over its replicas: counts, throughput and histograms added up, drift
 * computed on the sums; latency percentiles are the worst replica's (percentiles of separate
 * windows do not add). `replicas` keeps each one's own.
 */
export function mergeStats(parts: ModelStats[], reference?: DriftReference): ModelStats {
  if (parts.length === 1) return parts[0] as ModelStats;
  const predictions = parts.reduce((n, p) => n + p.predictions, 0);
  const abstained = parts.reduce((n, p) => n + (p.predictions ? p.abstainRate * p.predictions : 0), 0);
  const batchSizes: Record<number, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.batchSizes)) batchSizes[Number(k)] = (batchSizes[Number(k)] ?? 0) + v;
  const classCounts = addArrays(parts.map((p) => p.classCounts));
  const bins = addArrays(parts.map((p) => p.confidence.bins));
  const merged: ModelStats = {
    requests: parts.reduce((n, p) => n + p.requests, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    latencyMs: worst(parts.map((p) => p.latencyMs)),
    queueMs: worst(parts.map((p) => p.queueMs)),
    inferenceMs: worst(parts.map((p) => p.inferenceMs)),
    batchSizes,
    throughputPerSec: parts.reduce((n, p) => n + p.throughputPerSec, 0),
    queued: parts.reduce((n, p) => n + p.queued, 0),
    predictions,
    confidence: { bins },
    abstainRate: predictions ? abstained / predictions : NaN,
    classCounts,
    // Warm only where every replica has run it.
    warmBatchSizes: (parts[0] as ModelStats).warmBatchSizes.filter((b) => parts.every((p) => p.warmBatchSizes.includes(b))),
    replicas: parts,
  };
  if (reference && predictions > 0) merged.drift = driftOf(reference, classCounts, bins, predictions);
  return merged;
}
