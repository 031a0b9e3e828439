import { describe, expect, it } from 'vitest';
import { activate, checkPostprocess, classify, mergePostprocess, softmax, topK } from '../../src/postprocess.js';

describe('softmax and temperature', () => {
  it('sums to one and is shift invariant', () => {
    const p = softmax([1, 2, 3]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const q = softmax([101, 102, 103]);
    p.forEach((v, i) => expect(v).toBeCloseTo(q[i] as number, 12));
    expect(p[2]).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)), 12);
  });

  it('temperature flattens (T > 1) and sharpens (T < 1)', () => {
    const z = [0, 1, 3];
    expect((softmax(z, 2)[2] as number)).toBeLessThan(softmax(z)[2] as number);
    expect((softmax(z, 0.5)[2] as number)).toBeGreaterThan(softmax(z)[2] as number);
  });

  it("on probabilities ('none') a temperature equals dividing the logits by T", () => {
    const z = [0.3, -1.2, 2.5, 0.1];
    const probs = softmax(z);
    const viaProbs = activate(probs, 'none', 1.7);
    const viaLogits = softmax(z, 1.7);
    viaProbs.forEach((v, i) => expect(v).toBeCloseTo(viaLogits[i] as number, 10));
  });

  it('sigmoid is per unit', () => {
    const p = activate([0, 2], 'sigmoid');
    expect(p[0]).toBeCloseTo(0.5, 12);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
  });

  it('refuses a temperature <= 0', () => {
    expect(() => activate([1], 'softmax', 0)).toThrow(/temperature/);
  });
});

describe('classify', () => {
  it('returns the top class with labels and a sorted top-k', () => {
    const r = classify([0.1, 0.6, 0.3], { labels: ['a', 'b', 'c'], topK: 2 });
    expect(r).toMatchObject({ label: 'b', index: 1 });
    expect(r.confidence).toBeCloseTo(0.6);
    expect(r.topK.map((t) => t.label)).toEqual(['b', 'c']);
  });

  it('abstains below the threshold but still reports top-k', () => {
    const r = classify([0.4, 0.35, 0.25], { labels: ['a', 'b', 'c'], threshold: 0.5 });
    expect(r.index).toBe(-1);
    expect(r.label).toBeNull();
    expect(r.confidence).toBeCloseTo(0.4);
    expect(r.topK[0]?.label).toBe('a');
  });

  it('labels are null without a label list', () => {
    expect(classify([1, 0]).label).toBeNull();
  });

  it('topK keeps the lower index first on ties', () => {
    expect(topK([0.5, 0.5, 0], 3).map((t) => t.index)).toEqual([0, 1, 2]);
  });
});

describe('mergePostprocess and checkPostprocess', () => {
  it('per-call options override field by field; heads merge by name', () => {
    const m = mergePostprocess(
      { labels: ['x'], topK: 3, heads: { a: { labels: ['1'], topK: 1 } } },
      { topK: 1, heads: { a: { threshold: 0.9 } } },
    );
    expect(m).toEqual({ labels: ['x'], topK: 1, heads: { a: { labels: ['1'], topK: 1, threshold: 0.9 } } });
  });

  it('names the outputs when an unknown one is asked for', () => {
    const outs = [{ name: 'probs', dtype: 'float32', shape: [null, 3] }];
    expect(() => checkPostprocess({ output: 'logits' }, outs)).toThrow(/"logits" is not an output.*probs/);
    expect(() => checkPostprocess({ heads: { nope: {} } }, outs)).toThrow(/nope/);
    expect(() => checkPostprocess({ activation: 'relu' as never }, outs)).toThrow(/activation/);
    expect(() => checkPostprocess({ output: 'probs', activation: 'softmax' }, outs)).not.toThrow();
  });
});
