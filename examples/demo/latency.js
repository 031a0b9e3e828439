/**
 * The latency panel: end-to-end time of online requests (each `predict` answer's
 * `timing`), with batch items apart (their time includes waiting behind the other items
 * of the batch), and the model's request count and throughput from `model.stats()`.
 */
import { drawLatency } from './charts.js';
import { store } from './store.js';
import { $, ms } from './ui.js';

/** Requests a percentile is taken over. */
const WINDOW = 50;
/** Points on the chart (one a second). */
const POINTS = 60;

const online = [];
const batch = [];
let fresh = { online: false, batch: false };
const history = [];
const statsListeners = new Set();

/** Calls `fn(stats, model)` with each second's `model.stats()`. */
export function onStats(fn) {
  statsListeners.add(fn);
}

export function recordOnline(timing) {
  online.push(timing.totalMs);
  if (online.length > WINDOW) online.shift();
  fresh.online = true;
}

export function recordBatch(predictions) {
  for (const p of predictions) batch.push(p.timing.totalMs);
  batch.splice(0, Math.max(0, batch.length - WINDOW * 4));
  fresh.batch = true;
}

/** The q-quantile of values, by the nearest rank. */
function quantile(values, q) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function poll() {
  const { model } = store.get();
  const point = {
    p50: fresh.online ? quantile(online, 0.5) : NaN,
    p95: fresh.online ? quantile(online, 0.95) : NaN,
    batch: fresh.batch ? quantile(batch, 0.5) : NaN,
  };
  fresh = { online: false, batch: false };
  if (online.length) {
    $('#p50').textContent = ms(quantile(online, 0.5));
    $('#p95').textContent = ms(quantile(online, 0.95));
  }
  if (batch.length) $('#batch-p50').textContent = ms(quantile(batch, 0.5));
  if (model && !document.hidden) {
    try {
      const s = await model.stats();
      if (model === store.get().model) {
        $('#requests').textContent = String(s.requests);
        $('#throughput').textContent = s.throughputPerSec > 0 ? `${s.throughputPerSec.toFixed(1)}/s` : '–';
        for (const fn of statsListeners) fn(s, model);
      }
    } catch {
      // The model was disposed by a switch between the check and the call.
    }
  }
  if ([point.p50, point.batch].some(Number.isFinite)) history.push(point);
  history.splice(0, Math.max(0, history.length - POINTS));
  drawLatency($('#latency-chart'), history);
}

export function setupLatency() {
  store.on(['runtime'], ({ runtime }) => {
    // A new runtime (backend): a marked line on the chart, numbers from scratch.
    online.length = 0;
    batch.length = 0;
    for (const id of ['#p50', '#p95', '#batch-p50', '#throughput']) $(id).textContent = '–';
    $('#requests').textContent = '0';
    if (runtime) history.push({ p50: NaN, p95: NaN, batch: NaN, mark: runtime.backend });
  });
  drawLatency($('#latency-chart'), history);
  setInterval(poll, 1000);
}
