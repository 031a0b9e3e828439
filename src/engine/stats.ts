/**
 * Serving statistics over a rolling window of recent requests.
 */
import { CONFIDENCE_BINS, DRIFT_ALARM_PSI, DRIFT_MIN_SAMPLES } from '../defaults.js';
import { confidenceBin, psi } from '../ops/drift.js';
import type { DriftReference, ModelStats, Percentiles } from '../types.js';

interface Sample {
  at: number;
  latencyMs: number;
  queueMs: number;
  inferenceMs: number;
}

/** Nearest-rank percentile of a sorted list; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), mean };
}

export class StatsWindow {
  private samples: Sample[] = [];
  private next = 0;
  private requests = 0;
  private errors = 0;
  private batches = new Map<number, number>();
  /** Recent predictions as (top-1 class, confidence bin, abstained), a ring of `size`. */
  private seen: { cls: number; bin: number; abstained: boolean }[] = [];
  private seenNext = 0;
  /** Counts over `seen`, kept up to date on each insert and eviction: O(1) per prediction. */
  private classCounts: number[] = [];
  private confidenceBins = new Array<number>(CONFIDENCE_BINS).fill(0);
  private abstained = 0;
  private reference: DriftReference | undefined;

  /**
   * @param size how many recent requests the percentiles cover (default 1024)
   * @param throughputWindowMs how far back throughput looks (default 10 s)
   */
  constructor(private readonly size = 1024, private readonly throughputWindowMs = 10_000, private readonly now = () => performance.now()) {}

  /** One request answered. */
  record(queueMs: number, inferenceMs: number): void {
    const s: Sample = { at: this.now(), latencyMs: queueMs + inferenceMs, queueMs, inferenceMs };
    if (this.samples.length < this.size) this.samples.push(s);
    else this.samples[this.next] = s;
    this.next = (this.next + 1) % this.size;
    this.requests++;
  }

  /** One request failed. */
  error(): void {
    this.requests++;
    this.errors++;
  }

  /**
   * One prediction answered: its top-1 class, its top-1 confidence and whether it abstained.
   * Constant time: the counts are updated for the one that enters and the one that leaves.
   */
  prediction(cls: number, confidence: number, abstained: boolean): void {
    const entry = { cls, bin: confidenceBin(confidence, CONFIDENCE_BINS), abstained };
    if (this.seen.length < this.size) this.seen.push(entry);
    else {
      const old = this.seen[this.seenNext] as typeof entry;
      if (old.cls >= 0) this.classCounts[old.cls]!--;
      this.confidenceBins[old.bin]!--;
      if (old.abstained) this.abstained--;
      this.seen[this.seenNext] = entry;
    }
    this.seenNext = (this.seenNext + 1) % this.size;
    if (cls >= 0) {
      while (this.classCounts.length <= cls) this.classCounts.push(0);
      this.classCounts[cls]!++;
    }
    this.confidenceBins[entry.bin]!++;
    if (abstained) this.abstained++;
  }

  /** The distribution drift is measured against; `undefined` forgets it. */
  setReference(ref: DriftReference | undefined): void {
    this.reference = ref;
  }

  /** One batch of `size` real requests ran. */
  batch(size: number): void {
    this.batches.set(size, (this.batches.get(size) ?? 0) + 1);
  }

  snapshot(queued: number): ModelStats {
    const now = this.now();
    const recent = this.samples.filter((s) => now - s.at <= this.throughputWindowMs);
    const oldest = recent.reduce((m, s) => Math.min(m, s.at), now);
    const span = Math.max(now - oldest, 1);
    const n = this.seen.length;
    const stats: ModelStats = {
      requests: this.requests,
      errors: this.errors,
      latencyMs: summarize(this.samples.map((s) => s.latencyMs)),
      queueMs: summarize(this.samples.map((s) => s.queueMs)),
      inferenceMs: summarize(this.samples.map((s) => s.inferenceMs)),
      batchSizes: Object.fromEntries(this.batches),
      throughputPerSec: recent.length < 2 ? recent.length : (recent.length / span) * 1000,
      queued,
      predictions: n,
      confidence: { bins: [...this.confidenceBins] },
      abstainRate: n ? this.abstained / n : NaN,
      classCounts: [...this.classCounts],
    };
    const ref = this.reference;
    if (ref && n > 0) {
      const classPsi = psi(ref.classCounts, this.classCounts);
      const confidencePsi = psi(ref.confidenceBins, this.confidenceBins);
      stats.drift = {
        classPsi,
        confidencePsi,
        alarm: n >= DRIFT_MIN_SAMPLES && Math.max(classPsi, confidencePsi) > DRIFT_ALARM_PSI,
        samples: n,
      };
    }
    return stats;
  }
}
