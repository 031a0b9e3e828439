/**
 * Shadow serving: a candidate version answers a share of a name's live `predict` requests
 * after the active version has answered them, and only its agreement, confidence and latency
 * are kept. The caller gets the active answer as soon as it exists; the shadow's work starts
 * after it and its failures are counted, never thrown.
 */
import { SHADOW_MAX_IN_FLIGHT } from '../defaults.js';
import { InputError, toInpageError, type ErrorCode } from '../errors.js';
import { summarize } from '../engine/stats.js';
import type { Prediction, PredictOptions, ShadowOptions, ShadowReport, TensorData } from '../types.js';
import { isTensorData } from '../validate.js';
import type { ImageSource } from './inputs.js';

/** Samples of latency kept for the report's percentiles. */
const LATENCY_SAMPLES = 1024;
/** Failures kept in `lastErrors`. */
const LAST_ERRORS = 5;

/**
 * Whether the n-th call (from 1) of a stream falls in a share `fraction` of it: spread evenly
 * (every 1/fraction-th), so 0.25 picks calls 4, 8, 12... with no randomness to flake a test.
 */
export function due(n: number, fraction: number): boolean {
  return Math.floor(n * fraction) > Math.floor((n - 1) * fraction);
}

/** Checks a traffic share: a number in (0, 1]. */
export function checkFraction(fraction: unknown, what: string): number {
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
    throw new InputError(`${what} must be a number in (0, 1], got ${String(fraction)}`);
  }
  return fraction;
}

/** What the shadow needs of its model. */
export interface ShadowTarget {
  readonly id: string;
  readonly info: { name: string; version: string };
  predict(input: ImageSource | TensorData, opts?: PredictOptions): Promise<Prediction>;
}

/**
 * A copy of an input that stays as it is while the active request runs: a video or canvas
 * may show another frame by then, and transferred arrays are detached.
 */
async function capture(input: ImageSource | TensorData): Promise<{ input: ImageSource | TensorData; release(): void }> {
  const keep = { input, release: () => undefined };
  if (isTensorData(input)) {
    const copy: TensorData = { data: input.data.slice(), shape: [...input.shape] };
    if (input.dtype) copy.dtype = input.dtype;
    return { input: copy, release: () => undefined };
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) return keep;
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement) return keep;
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) {
    return { input: new ImageData(new Uint8ClampedArray(input.data), input.width, input.height), release: () => undefined };
  }
  const bitmap = await createImageBitmap(input as ImageBitmapSource);
  return { input: bitmap, release: () => bitmap.close() };
}

/** Ends after the tasks queued now (a caller's continuation posts its next request first). */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** How the shadow learns that the engine has nothing outstanding. */
export interface EngineQuiet {
  readonly quiet: boolean;
  whenQuiet(): Promise<void>;
}

export class Shadow {
  readonly fraction: number;
  private readonly maxInFlight: number;
  private readonly idle: boolean;
  /** Shadow requests run one after another. */
  private chain: Promise<void> = Promise.resolve();
  private calls = 0;
  private requests = 0;
  private agree = 0;
  private confDiff = 0;
  private errors = 0;
  private skipped = 0;
  private inFlight = 0;
  private readonly lastErrors: { code: ErrorCode; message: string }[] = [];
  private readonly activeMs: number[] = [];
  private readonly shadowMs: number[] = [];
  /** `name@version` of the active version last seen. */
  private active = '';

  /** @param engine when given (and `opts.idle` is not false), shadow requests wait for it to be quiet */
  constructor(readonly target: ShadowTarget, opts: ShadowOptions = {}, private readonly engine?: EngineQuiet) {
    this.fraction = checkFraction(opts.fraction ?? 1, 'shadow fraction');
    const max = opts.maxInFlight ?? SHADOW_MAX_IN_FLIGHT;
    if (!Number.isInteger(max) || max < 1) throw new InputError(`shadow maxInFlight must be a whole number >= 1, got ${max}`);
    this.maxInFlight = max;
    this.idle = opts.idle ?? true;
  }

  /** Waits until the engine has nothing outstanding, one task after it last was. */
  private async quiet(): Promise<void> {
    const engine = this.engine;
    if (!engine || !this.idle) return;
    do {
      await engine.whenQuiet();
      await nextTask();
    } while (!engine.quiet);
  }

  /**
   * Serves one request: `answer` (the active version's call, already started) is what the
   * caller gets; when this request is due, the shadow runs on a copy of the input after the
   * answer is in.
   */
  serve(input: ImageSource | TensorData, opts: PredictOptions | undefined, answer: Promise<Prediction>): Promise<Prediction> {
    if (!due(++this.calls, this.fraction)) return answer;
    if (this.inFlight >= this.maxInFlight) {
      this.skipped++;
      return answer;
    }
    this.inFlight++;
    const copy = capture(input);
    copy.catch(() => undefined);
    void answer.then(
      (p) => {
        this.chain = this.chain.then(() => this.run(copy, opts, p));
      },
      () => {
        this.inFlight--;
        void copy.then((c) => c.release(), () => undefined);
      },
    );
    return answer;
  }

  private async run(copy: ReturnType<typeof capture>, opts: PredictOptions | undefined, active: Prediction): Promise<void> {
    this.active = `${active.model.name}@${active.model.version}`;
    let held: Awaited<typeof copy> | undefined;
    try {
      held = await copy;
      await this.quiet();
      const shadowOpts: PredictOptions = {};
      if (opts?.preprocess) shadowOpts.preprocess = opts.preprocess;
      if (opts?.postprocess) shadowOpts.postprocess = opts.postprocess;
      const start = performance.now();
      const p = await this.target.predict(held.input, shadowOpts);
      const ms = performance.now() - start;
      this.requests++;
      if ((p.topK[0]?.index ?? p.index) === (active.topK[0]?.index ?? active.index)) this.agree++;
      this.confDiff += Math.abs(p.confidence - active.confidence);
      push(this.activeMs, active.timing.totalMs);
      push(this.shadowMs, ms);
    } catch (e) {
      this.errors++;
      const err = toInpageError(e, 'INFERENCE_FAILED');
      this.lastErrors.push({ code: err.code, message: err.message });
      if (this.lastErrors.length > LAST_ERRORS) this.lastErrors.shift();
    } finally {
      this.inFlight--;
      held?.release();
    }
  }

  report(activeNow: string): ShadowReport {
    return {
      active: this.active || activeNow,
      shadow: `${this.target.info.name}@${this.target.info.version}`,
      fraction: this.fraction,
      requests: this.requests,
      agreement: this.requests ? this.agree / this.requests : NaN,
      meanAbsConfidenceDiff: this.requests ? this.confDiff / this.requests : NaN,
      latencyMs: { active: summarize(this.activeMs), shadow: summarize(this.shadowMs) },
      errors: this.errors,
      lastErrors: [...this.lastErrors],
      skipped: this.skipped,
      inFlight: this.inFlight,
    };
  }
}

function push(list: number[], v: number): void {
  list.push(v);
  if (list.length > LATENCY_SAMPLES) list.shift();
}
