/**
 * Dynamic micro-batching with Triton's semantics: requests queue up; a batch runs as
 * soon as `maxBatchSize` rows wait, or when the oldest request has waited
 * `maxQueueDelayMs`. One batch runs at a time per model, so requests that arrive
 * while the backend is busy gather into the next batch by themselves.
 */
import { RequestError } from '../errors.js';

export interface Job<R> {
  requestId: number;
  /** Rows this request adds to a batch (its batch dimension). */
  rows: number;
  enqueuedAt: number;
  resolve(result: R): void;
  reject(err: unknown): void;
  /** Frees what the job holds when it is dropped without running. */
  release(): void;
}

export interface BatcherOptions {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueue: number;
}

/** Batch sizes used: powers of two up to `max`, and `max` itself. */
export function buckets(max: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < max; b *= 2) out.push(b);
  out.push(max);
  return out;
}

/** The smallest bucket that holds `rows`, or `rows` itself when it exceeds them all. */
export function bucketFor(rows: number, sizes: readonly number[]): number {
  return sizes.find((b) => b >= rows) ?? rows;
}

/** Takes whole jobs from the front while they fit in `max` rows; always at least one. */
export function takeBatch<J extends { rows: number }>(queue: J[], max: number): J[] {
  const batch: J[] = [];
  let rows = 0;
  while (queue.length) {
    const next = queue[0] as J;
    if (batch.length && rows + next.rows > max) break;
    batch.push(queue.shift() as J);
    rows += next.rows;
  }
  return batch;
}

let channel: MessageChannel | undefined;
const tasks: (() => void)[] = [];

/** Runs `fn` in a new task, after messages already queued, without timer clamping. */
export function nextTask(fn: () => void): void {
  if (typeof MessageChannel === 'undefined') {
    setTimeout(fn, 0);
    return;
  }
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => (tasks.shift() as () => void)();
    // In node (tests) an open port would keep the process alive.
    (channel.port1 as unknown as { unref?: () => void }).unref?.();
  }
  tasks.push(fn);
  channel.port2.postMessage(0);
}

export class Batcher<R, J extends Job<R> = Job<R>> {
  private queue: J[] = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pumpQueued = false;
  private closed: Error | undefined;

  constructor(
    private opts: BatcherOptions,
    private readonly runBatch: (jobs: J[]) => Promise<void>,
    private readonly now = () => performance.now(),
  ) {}

  /** Most rows a batch takes; lowered when a model turns out not to batch. */
  get maxBatchSize(): number {
    return this.opts.maxBatchSize;
  }

  set maxBatchSize(n: number) {
    this.opts = { ...this.opts, maxBatchSize: n };
  }

  get queued(): number {
    return this.queue.length;
  }

  /**
   * Runs `work` now, in the place of a batch, if nothing is queued or running (and returns
   * true); requests that arrive meanwhile wait for it as they would for a batch.
   */
  runIfIdle(work: () => Promise<void>): boolean {
    if (this.running || this.closed || this.queue.length || this.pumpQueued) return false;
    this.running = true;
    void work().catch(() => undefined).finally(() => {
      this.running = false;
      this.schedule();
    });
    return true;
  }

  /** Adds a job; rejects it at once with QUEUE_FULL when the queue is at its bound. */
  enqueue(job: J): void {
    if (this.closed) {
      job.release();
      job.reject(this.closed);
      return;
    }
    if (this.queue.length >= this.opts.maxQueue) {
      job.release();
      job.reject(new RequestError('QUEUE_FULL', `The queue is full (${this.opts.maxQueue} requests waiting); retry later or raise maxQueue`, {
        maxQueue: this.opts.maxQueue,
      }));
      return;
    }
    this.queue.push(job);
    this.schedule();
  }

  /** Drops a queued job. Returns whether it was still queued. */
  cancel(requestId: number, reason: unknown): boolean {
    const i = this.queue.findIndex((j) => j.requestId === requestId);
    if (i < 0) return false;
    const [job] = this.queue.splice(i, 1) as [J];
    job.release();
    job.reject(reason);
    return true;
  }

  /** Rejects everything queued and refuses new jobs. */
  close(reason: Error): void {
    this.closed = reason;
    clearTimeout(this.timer);
    for (const job of this.queue.splice(0)) {
      job.release();
      job.reject(reason);
    }
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    clearTimeout(this.timer);
    const rows = this.queue.reduce((n, j) => n + j.rows, 0);
    const oldest = (this.queue[0] as J).enqueuedAt;
    const wait = rows >= this.opts.maxBatchSize ? 0 : Math.max(0, oldest + this.opts.maxQueueDelayMs - this.now());
    if (wait > 0) {
      this.timer = setTimeout(() => void this.pump(), wait);
    } else if (!this.pumpQueued) {
      // No wait, but let the messages already delivered to this thread enqueue first.
      // Not setTimeout(0): nested timers are clamped to 4 ms, which would cap a busy queue.
      this.pumpQueued = true;
      nextTask(() => {
        this.pumpQueued = false;
        void this.pump();
      });
    }
  }

  private async pump(): Promise<void> {
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = takeBatch(this.queue, this.opts.maxBatchSize);
    try {
      await this.runBatch(batch);
    } catch (e) {
      for (const job of batch) job.reject(e);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
