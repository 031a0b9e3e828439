import { describe, expect, it } from 'vitest';
import { Batcher, bucketFor, buckets, takeBatch, type Job } from '../../src/engine/batcher.js';
import { InpageError } from '../../src/errors.js';

describe('buckets', () => {
  it('are powers of two up to the maximum, which is included', () => {
    expect(buckets(1)).toEqual([1]);
    expect(buckets(8)).toEqual([1, 2, 4, 8]);
    expect(buckets(12)).toEqual([1, 2, 4, 8, 12]);
  });
  it('pick the smallest that holds the rows', () => {
    const b = buckets(8);
    expect(bucketFor(1, b)).toBe(1);
    expect(bucketFor(3, b)).toBe(4);
    expect(bucketFor(8, b)).toBe(8);
    expect(bucketFor(9, b)).toBe(9);
  });
});

describe('takeBatch', () => {
  it('takes whole requests while they fit, and always at least one', () => {
    const q = [{ rows: 3 }, { rows: 3 }, { rows: 3 }];
    expect(takeBatch(q, 8).map((j) => j.rows)).toEqual([3, 3]);
    expect(q).toHaveLength(1);
    const big = [{ rows: 20 }, { rows: 1 }];
    expect(takeBatch(big, 8).map((j) => j.rows)).toEqual([20]);
  });
});

type R = number[];
function job(requestId: number, log: string[], rows = 1): Job<R> & { result: Promise<R> } {
  let resolve!: (r: R) => void;
  let reject!: (e: unknown) => void;
  const result = new Promise<R>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  result.catch(() => undefined);
  return { requestId, rows, enqueuedAt: performance.now(), resolve, reject, release: () => log.push(`release ${requestId}`), result };
}

describe('Batcher', () => {
  it('coalesces requests that arrive together, in order, up to maxBatchSize', async () => {
    const batches: number[][] = [];
    const b = new Batcher<R>({ maxBatchSize: 4, maxQueueDelayMs: 0, maxQueue: 100 }, async (jobs) => {
      batches.push(jobs.map((j) => j.requestId));
      for (const j of jobs) j.resolve([j.requestId]);
    });
    const log: string[] = [];
    const jobs = Array.from({ length: 10 }, (_, i) => job(i, log));
    jobs.forEach((j) => b.enqueue(j));
    const results = await Promise.all(jobs.map((j) => j.result));
    expect(results.map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('waits up to maxQueueDelayMs for company, no longer', async () => {
    const sizes: number[] = [];
    const b = new Batcher<R>({ maxBatchSize: 8, maxQueueDelayMs: 30, maxQueue: 100 }, async (jobs) => {
      sizes.push(jobs.length);
      for (const j of jobs) j.resolve([]);
    });
    const log: string[] = [];
    const first = job(1, log);
    const t0 = performance.now();
    b.enqueue(first);
    await new Promise((r) => setTimeout(r, 10));
    const second = job(2, log);
    b.enqueue(second);
    await Promise.all([first.result, second.result]);
    const waited = performance.now() - t0;
    expect(sizes).toEqual([2]);
    expect(waited).toBeGreaterThanOrEqual(25);
  });

  it('runs one batch at a time; what arrives meanwhile forms the next', async () => {
    const sizes: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<R>({ maxBatchSize: 8, maxQueueDelayMs: 0, maxQueue: 100 }, async (jobs) => {
      sizes.push(jobs.length);
      if (sizes.length === 1) await gate;
      for (const j of jobs) j.resolve([]);
    });
    const log: string[] = [];
    const a = job(0, log);
    b.enqueue(a);
    await new Promise((r) => setTimeout(r, 5));
    const rest = [1, 2, 3].map((i) => job(i, log));
    rest.forEach((j) => b.enqueue(j));
    release();
    await Promise.all([a, ...rest].map((j) => j.result));
    expect(sizes).toEqual([1, 3]);
  });

  it('drops a cancelled job without running it and releases what it held', async () => {
    const ran: number[] = [];
    const b = new Batcher<R>({ maxBatchSize: 8, maxQueueDelayMs: 20, maxQueue: 100 }, async (jobs) => {
      for (const j of jobs) {
        ran.push(j.requestId);
        j.resolve([]);
      }
    });
    const log: string[] = [];
    const a = job(1, log);
    const c = job(2, log);
    b.enqueue(a);
    b.enqueue(c);
    expect(b.cancel(2, new InpageError('ABORTED', 'aborted'))).toBe(true);
    await expect(c.result).rejects.toMatchObject({ code: 'ABORTED' });
    await a.result;
    expect(ran).toEqual([1]);
    expect(log).toContain('release 2');
    expect(b.cancel(2, new Error('again'))).toBe(false);
  });

  it('rejects with QUEUE_FULL beyond maxQueue and keeps serving', async () => {
    const b = new Batcher<R>({ maxBatchSize: 1, maxQueueDelayMs: 0, maxQueue: 2 }, async (jobs) => {
      for (const j of jobs) j.resolve([j.requestId]);
    });
    const log: string[] = [];
    const jobs = [1, 2, 3].map((i) => job(i, log));
    jobs.forEach((j) => b.enqueue(j));
    await expect(jobs[2]?.result).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(log).toEqual(['release 3']);
    expect(await jobs[0]?.result).toEqual([1]);
    const later = job(4, log);
    b.enqueue(later);
    expect(await later.result).toEqual([4]);
  });

  it('close rejects what is queued and refuses new jobs', async () => {
    const b = new Batcher<R>({ maxBatchSize: 1, maxQueueDelayMs: 50, maxQueue: 10 }, async (jobs) => {
      for (const j of jobs) j.resolve([]);
    });
    const log: string[] = [];
    const a = job(1, log);
    b.enqueue(a);
    b.close(new InpageError('DISPOSED', 'gone'));
    await expect(a.result).rejects.toMatchObject({ code: 'DISPOSED' });
    const c = job(2, log);
    b.enqueue(c);
    await expect(c.result).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('runIfIdle runs work only when nothing is queued or running; requests then wait for it', async () => {
    const order: string[] = [];
    let releaseBatch!: () => void;
    const b = new Batcher<R>({ maxBatchSize: 4, maxQueueDelayMs: 0, maxQueue: 100 }, async (jobs) => {
      order.push(`batch ${jobs.map((j) => j.requestId).join(',')}`);
      await new Promise<void>((r) => (releaseBatch = r));
      for (const j of jobs) j.resolve([j.requestId]);
    });
    const log: string[] = [];
    const first = job(1, log);
    b.enqueue(first);
    expect(b.runIfIdle(async () => void order.push('idle work (refused)')), 'queued').toBe(false);
    await new Promise((r) => setTimeout(r, 5));
    expect(b.runIfIdle(async () => void order.push('idle work (refused)')), 'running').toBe(false);
    releaseBatch();
    await first.result;
    await new Promise((r) => setTimeout(r, 0));
    let releaseWork!: () => void;
    expect(b.runIfIdle(async () => {
      order.push('idle work');
      await new Promise<void>((r) => (releaseWork = r));
      order.push('idle work done');
    }), 'idle').toBe(true);
    const second = job(2, log);
    b.enqueue(second);
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['batch 1', 'idle work']);
    releaseWork();
    await new Promise((r) => setTimeout(r, 5));
    releaseBatch();
    await second.result;
    expect(order).toEqual(['batch 1', 'idle work', 'idle work done', 'batch 2']);
  });

  it('a lowered maxBatchSize takes one request a batch from then on', async () => {
    const batches: number[][] = [];
    const b = new Batcher<R>({ maxBatchSize: 4, maxQueueDelayMs: 0, maxQueue: 100 }, async (jobs) => {
      batches.push(jobs.map((j) => j.requestId));
      for (const j of jobs) j.resolve([j.requestId]);
    });
    b.maxBatchSize = 1;
    const jobs = Array.from({ length: 3 }, (_, i) => job(i, []));
    jobs.forEach((j) => b.enqueue(j));
    await Promise.all(jobs.map((j) => j.result));
    expect(b.maxBatchSize).toBe(1);
    expect(batches).toEqual([[0], [1], [2]]);
  });
});
