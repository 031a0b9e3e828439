/**
 * The demo's canvas charts: the live latency chart and reliability diagrams. Plain 2D
 * canvas, no library; sizes follow the canvas's CSS box and devicePixelRatio.
 */

export const COLORS = {
  ink: '#1f2328',
  muted: '#656d76',
  grid: '#d8dee4',
  p50: '#1f6feb',
  p95: '#d1242f',
  bar: '#1f6feb',
  gap: 'rgba(209, 36, 47, 0.28)',
  diagonal: '#8c959f',
};

/** Sizes the canvas's bitmap to its CSS box (times devicePixelRatio) and returns a context in CSS pixels. */
export function fit(canvas) {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth || canvas.width));
  const h = Math.max(1, Math.round(canvas.clientHeight || canvas.height));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  return { ctx, w, h };
}

/** A round axis maximum at or above `v`: 1, 2, 2.5, 5 times a power of ten. */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Draws p50 and p95 latency over time.
 * @param {HTMLCanvasElement} canvas
 * @param {{ p50: number, p95: number, mark?: string }[]} history oldest first; `mark`
 *   draws a labelled vertical line (a backend switch)
 */
export function drawLatency(canvas, history) {
  const { ctx, w, h } = fit(canvas);
  const left = 54;
  const right = 8;
  const top = 18;
  const bottom = 20;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const values = history.flatMap((s) => [s.p50, s.p95]).filter(Number.isFinite);
  // Four gridlines at round steps: 1, 2, 2.5 or 5 times a power of ten.
  const ymax = 4 * niceMax((Math.max(1, ...values) * 1.1) / 4);
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.muted;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (i / 4) * ph;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y) + 0.5);
    ctx.lineTo(left + pw, Math.round(y) + 0.5);
    ctx.stroke();
    const v = (ymax * i) / 4;
    ctx.fillText(v >= 1000 ? `${+(v / 1000).toFixed(2)} s` : `${Number.isInteger(v) ? v : v.toFixed(1)} ms`, left - 4, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  if (history.length === 0) {
    ctx.fillText('Waiting for requests…', left + 8, top + ph / 2);
    return;
  }
  const n = Math.max(history.length, 30);
  const x = (i) => left + (n === 1 ? pw : (i / (n - 1)) * pw);
  const y = (v) => top + ph - (Math.min(v, ymax) / ymax) * ph;
  let marks = 0;
  for (const [i, s] of history.entries()) {
    if (!s.mark) continue;
    // Labels of switches close together are staggered so they do not overprint.
    const row = marks++ % 3;
    ctx.strokeStyle = COLORS.diagonal;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(x(i), top);
    ctx.lineTo(x(i), top + ph);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(s.mark, Math.min(x(i) + 3, w - 40), top + 10 + 12 * row);
  }
  for (const [key, color] of [['p95', COLORS.p95], ['p50', COLORS.p50]]) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let started = false;
    history.forEach((s, i) => {
      const v = s[key];
      if (!Number.isFinite(v)) return;
      if (started) ctx.lineTo(x(i), y(v));
      else ctx.moveTo(x(i), y(v));
      started = true;
    });
    ctx.stroke();
    ctx.fillStyle = color;
    history.forEach((s, i) => {
      if (!Number.isFinite(s[key])) return;
      ctx.beginPath();
      ctx.arc(x(i), y(s[key]), 2, 0, 2 * Math.PI);
      ctx.fill();
    });
  }
  ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillStyle = COLORS.p95;
  ctx.fillText('p95', left + pw, top - 5);
  ctx.fillStyle = COLORS.p50;
  ctx.fillText('p50', left + pw - 32, top - 5);
  ctx.fillStyle = COLORS.muted;
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillText('one point per second', left + pw, h - 5);
}

/**
 * Draws a reliability diagram: per confidence bin, the accuracy as a bar, the gap to the
 * bin's mean confidence shaded, the diagonal of perfect calibration, and the ECE.
 * @param {HTMLCanvasElement} canvas
 * @param {{ ece: number, n: number, bins: { lo: number, hi: number, count: number, confidence: number, accuracy: number }[] }} rel
 * @param {string} title
 */
export function drawReliability(canvas, rel, title) {
  const { ctx, w, h } = fit(canvas);
  const left = 34;
  const right = 8;
  const top = 22;
  const bottom = 44;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const X = (v) => left + v * pw;
  const Y = (v) => top + ph - v * ph;
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.muted;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const v = i / 4;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(Y(v)) + 0.5);
    ctx.lineTo(left + pw, Math.round(Y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(v.toFixed(2).replace(/0$/, ''), left - 4, Y(v));
  }
  const maxCount = Math.max(1, ...rel.bins.map((b) => b.count));
  for (const b of rel.bins) {
    const x0 = X(b.lo) + 1;
    const bw = X(b.hi) - X(b.lo) - 2;
    // Share of items in the bin, as a thin strip under the axis.
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(x0, top + ph + 4, bw, 6 * (b.count / maxCount));
    if (!b.count) continue;
    const a = Y(b.accuracy);
    const c = Y(b.confidence);
    ctx.fillStyle = COLORS.bar;
    ctx.fillRect(x0, a, bw, Y(0) - a);
    ctx.fillStyle = COLORS.gap;
    ctx.fillRect(x0, Math.min(a, c), bw, Math.abs(a - c));
    // The bin's mean confidence: where the bar would end if calibrated.
    ctx.fillStyle = COLORS.p95;
    ctx.fillRect(x0, Math.round(c) - 1, bw, 2);
  }
  ctx.strokeStyle = COLORS.diagonal;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(X(0), Y(0));
  ctx.lineTo(X(1), Y(1));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = COLORS.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  for (const v of [0, 0.5, 1]) ctx.fillText(String(v), X(v), top + ph + 24);
  ctx.fillText('confidence (bin counts as the grey strip)', left + pw / 2, h - 4);
  ctx.textAlign = 'left';
  ctx.fillStyle = COLORS.ink;
  ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.fillText(title, left, 13);
  ctx.textAlign = 'right';
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.fillText(Number.isFinite(rel.ece) ? `ECE ${(rel.ece * 100).toFixed(1)}%` : 'no labelled items', left + pw, 13);
}
