// Defaults live in src/defaults.ts; the JSDoc users read in the .d.ts names them. A default
// changed in one place and not the other fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as D from '../../src/defaults.js';

const read = (f: string) => readFileSync(new URL(`../../src/${f}`, import.meta.url), 'utf8');
const types = read('types.ts');
const runtime = read('client/runtime.ts');
const supervisor = read('client/supervisor.ts');

/** The JSDoc comment right before the member `name` of a source file. */
function docOf(src: string, name: string): string {
  const at = src.search(new RegExp(`\\n\\s*${name}\\??:`));
  expect(at, `member ${name}`).toBeGreaterThan(0);
  const before = src.slice(0, at);
  return before.slice(before.lastIndexOf('/**'));
}

const num = (n: number) => n.toLocaleString('en-US');

describe('documented defaults equal the code\'s', () => {
  it('batching, queue, predictBatch, stall timeout', () => {
    expect(docOf(types, 'maxBatchSize')).toContain(`Default ${D.DEFAULT_BATCHING.maxBatchSize}.`);
    expect(docOf(types, 'maxQueueDelayMs')).toContain(`Default ${D.DEFAULT_BATCHING.maxQueueDelayMs}:`);
    expect(docOf(types, 'batching')).toContain(`{ maxBatchSize: ${D.DEFAULT_BATCHING.maxBatchSize}, maxQueueDelayMs: ${D.DEFAULT_BATCHING.maxQueueDelayMs} }`);
    expect(docOf(types, 'maxQueue')).toContain(`Default ${D.DEFAULT_MAX_QUEUE}.`);
    expect(docOf(types, 'batchSize')).toContain(`Default ${D.PREDICT_BATCH_SIZE}.`);
    expect(docOf(types, 'stallTimeoutMs')).toContain(`Default ${num(D.STALL_TIMEOUT_MS)}.`);
  });

  it('backends and recovery', () => {
    expect(docOf(runtime, 'backends')).toContain(`Default \`${JSON.stringify(D.DEFAULT_BACKENDS).replace(/"/g, "'").replace(/,/g, ', ')}\``);
    expect(docOf(runtime, 'recovery')).toContain(`Default \`{ maxRestarts: ${D.RECOVERY_DEFAULTS.maxRestarts}, windowMs: ${D.RECOVERY_DEFAULTS.windowMs} }\``);
    expect(docOf(supervisor, 'maxRestarts')).toContain(`Default ${D.RECOVERY_DEFAULTS.maxRestarts}.`);
    expect(docOf(supervisor, 'windowMs')).toContain(`Default ${num(D.RECOVERY_DEFAULTS.windowMs)}.`);
  });

  it('operations: bins, drift alarm, shadow', () => {
    expect(docOf(types, 'bins')).toContain(`Default ${D.CONFIDENCE_BINS}.`);
    expect(docOf(types, 'drift')).toContain(`exceeds ${D.DRIFT_ALARM_PSI} with at least ${D.DRIFT_MIN_SAMPLES} predictions`);
    expect(docOf(types, 'maxInFlight')).toContain(`Default ${D.SHADOW_MAX_IN_FLIGHT}.`);
  });
});
