/**
 * Prometheus text exposition (format 0.0.4) and OpenMetrics 1.0 text of inpage's serving
 * statistics, so an app can ship them to its server. Pure: no DOM, no tfjs.
 */
import type { ModelStats, Percentiles, ShadowReport } from '../types.js';

/** One metric family: a name, its help text, its type and its samples. */
export interface MetricFamily {
  /** Without the `_total` of a counter's samples. */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels: Record<string, string>; value: number }[];
}

/** A label value with `\`, `"` and newlines escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * Renders families as Prometheus text (default) or OpenMetrics text (`openMetrics: true`:
 * counters are declared without `_total`, and the text ends with `# EOF`).
 */
export function renderMetrics(families: readonly MetricFamily[], opts: { openMetrics?: boolean } = {}): string {
  const lines: string[] = [];
  for (const f of families) {
    const sampleName = f.type === 'counter' ? `${f.name}_total` : f.name;
    const declared = f.type === 'counter' && !opts.openMetrics ? sampleName : f.name;
    lines.push(`# HELP ${declared} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${declared} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      lines.push(`${sampleName}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  if (opts.openMetrics) lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** A model's statistics as the metrics renderer takes them. */
export interface ModelMetricsInput {
  name: string;
  version: string;
  active: boolean;
  stats: ModelStats;
  /** Class names by index, for the `class` label (the index otherwise). */
  labels?: readonly string[];
}

const QUANTILES: [keyof Percentiles, string][] = [['p50', '0.5'], ['p95', '0.95'], ['p99', '0.99']];

/** Every model's statistics (and each shadow's report) as metric families named `inpage_*`. */
export function servingFamilies(models: readonly ModelMetricsInput[], shadows: readonly (ShadowReport & { name: string })[] = []): MetricFamily[] {
  const fams = new Map<string, MetricFamily>();
  const add = (name: string, type: MetricFamily['type'], help: string, labels: Record<string, string>, value: number) => {
    let f = fams.get(name);
    if (!f) fams.set(name, (f = { name, help, type, samples: [] }));
    f.samples.push({ labels, value });
  };
  for (const m of models) {
    const base = { model: m.name, version: m.version };
    const s = m.stats;
    add('inpage_model_active', 'gauge', 'Whether this version receives the requests of its name (1) or not (0).', base, m.active ? 1 : 0);
    add('inpage_requests', 'counter', 'Requests answered or failed since the model was loaded.', base, s.requests);
    add('inpage_errors', 'counter', 'Requests that failed since the model was loaded.', base, s.errors);
    for (const [key, metric, help] of [
      ['latencyMs', 'inpage_latency_ms', 'Engine latency (queue + inference) over the stats window, in ms.'],
      ['queueMs', 'inpage_queue_ms', 'Time in the batcher queue over the stats window, in ms.'],
      ['inferenceMs', 'inpage_inference_ms', 'Inference time of the batch over the stats window, in ms.'],
    ] as const) {
      for (const [q, label] of QUANTILES) add(metric, 'gauge', help, { ...base, quantile: label }, s[key][q]);
    }
    add('inpage_throughput_per_second', 'gauge', 'Requests answered per second over the last 10 s.', base, s.throughputPerSec);
    add('inpage_queued', 'gauge', 'Requests waiting right now.', base, s.queued);
    add('inpage_window_predictions', 'gauge', 'Predictions in the monitoring window.', base, s.predictions);
    add('inpage_abstain_rate', 'gauge', 'Share of the window\'s predictions that abstained.', base, s.abstainRate);
    const bins = s.confidence.bins;
    bins.forEach((count, b) => {
      add('inpage_confidence_window', 'gauge', 'Predictions of the window per top-1 confidence bin [lower, upper).', { ...base, lower: String(b / bins.length), upper: String((b + 1) / bins.length) }, count);
    });
    s.classCounts.forEach((count, c) => {
      add('inpage_class_predictions_window', 'gauge', 'Predictions of the window per top-1 class.', { ...base, class: m.labels?.[c] ?? String(c) }, count);
    });
    if (s.drift) {
      add('inpage_drift_psi', 'gauge', 'Population stability index of the window against the reference.', { ...base, kind: 'class' }, s.drift.classPsi);
      add('inpage_drift_psi', 'gauge', 'Population stability index of the window against the reference.', { ...base, kind: 'confidence' }, s.drift.confidencePsi);
      add('inpage_drift_alarm', 'gauge', 'Whether drift is over its alarm level (1) or not (0).', base, s.drift.alarm ? 1 : 0);
    }
  }
  for (const r of shadows) {
    const base = { model: r.name, active: r.active, shadow: r.shadow };
    add('inpage_shadow_requests', 'counter', 'Shadowed requests answered by both versions.', base, r.requests);
    add('inpage_shadow_errors', 'counter', 'Shadow requests that failed.', base, r.errors);
    add('inpage_shadow_agreement', 'gauge', 'Share of shadowed requests where both versions gave the same top-1 class.', base, r.agreement);
    add('inpage_shadow_confidence_diff', 'gauge', 'Mean absolute difference of the top-1 confidence.', base, r.meanAbsConfidenceDiff);
  }
  return [...fams.values()];
}
