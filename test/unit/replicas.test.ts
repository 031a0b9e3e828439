import { describe, expect, it } from 'vitest';
import { leastBusy, mergeStats } from '../../src/client/replicas.js';
import type { Supervisor } from '../../src/client/supervisor.js';
import { psi } from '../../src/ops/drift.js';
import type { ModelStats } from '../../src/types.js';

const pct = (p50: number, p95: number) => ({ p50, p95, p99: p95, mean: p50 });

function stats(over: Partial<ModelStats>): ModelStats {
  return {
    requests: 0, errors: 0, latencyMs: pct(1, 2), queueMs: pct(0, 0), inferenceMs: pct(1, 2), batchSizes: {},
    throughputPerSec: 0, queued: 0, warmBatchSizes: [1], predictions: 0, confidence: { bins: [0, 0, 0] }, abstainRate: NaN, classCounts: [0, 0],
    ...over,
  };
}

describe('replicas', () => {
  it('adds counts and histograms, keeps the worst percentiles, and computes drift on the sums', () => {
    const a = stats({ warmBatchSizes: [1, 2, 4], requests: 10, errors: 1, predictions: 8, abstainRate: 0.25, classCounts: [6, 2], confidence: { bins: [1, 3, 4] }, batchSizes: { 1: 4, 2: 3 }, throughputPerSec: 5, latencyMs: pct(3, 9), queued: 1 });
    const b = stats({ warmBatchSizes: [1, 4, 8], requests: 6, errors: 0, predictions: 4, abstainRate: 0.5, classCounts: [1, 3], confidence: { bins: [0, 1, 3] }, batchSizes: { 2: 1, 4: 1 }, throughputPerSec: 2, latencyMs: pct(5, 7), queued: 2 });
    const ref = { classCounts: [5, 5], confidenceBins: [2, 2, 6] };
    const m = mergeStats([a, b], ref);
    expect(m).toMatchObject({ requests: 16, errors: 1, predictions: 12, throughputPerSec: 7, queued: 3, classCounts: [7, 5], confidence: { bins: [1, 4, 7] }, batchSizes: { 1: 4, 2: 4, 4: 1 } });
    // 2 of 8 and 2 of 4 abstained.
    expect(m.abstainRate).toBeCloseTo(4 / 12, 12);
    expect(m.warmBatchSizes).toEqual([1, 4]);
    expect(m.latencyMs).toEqual({ p50: 5, p95: 9, p99: 9, mean: 5 });
    expect(m.drift?.classPsi).toBeCloseTo(psi([5, 5], [7, 5]), 12);
    expect(m.drift?.confidencePsi).toBeCloseTo(psi([2, 2, 6], [1, 4, 7]), 12);
    expect(m.drift?.alarm).toBe(false); // fewer than 30 predictions
    expect(m.replicas).toEqual([a, b]);
    expect(mergeStats([a])).toBe(a);
  });

  it('sends to the serving replica with the fewest outstanding', () => {
    const sup = (state: string, n: number) => ({ state, outstanding: () => n }) as unknown as Supervisor;
    const a = sup('ready', 3);
    const b = sup('ready', 1);
    const c = sup('recovering', 0);
    const d = sup('lost', 0);
    expect(leastBusy([a, b, c, d], 'm')).toBe(b);
    expect(leastBusy([a, c, d], 'm')).toBe(a);
    expect(leastBusy([c, d], 'm')).toBe(c);
    expect(leastBusy([d], 'm')).toBe(d);
  });
});
