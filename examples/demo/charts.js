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
  batch: '#8250df',
  over: 'rgba(209, 36, 47, 0.28)',
  under: 'rgba(31, 111, 235, 0.3)',
  diagonal: '#8c959f',
  strip: '#afb8c1',
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

/** A plot area inside the canvas: the context and the inner box after the margins. */
function plotArea(canvas, { left, right, top, bottom }) {
  const { ctx, w, h } = fit(canvas);
  return { ctx, w, h, left, top, pw: w - left - right, ph: h - top - bottom };
}

/** A dashed line from (x0, y0) to (x1, y1). */
function dashedLine(ctx, color, dash, x0, y0, x1, y1) {
  ctx.strokeStyle = color;
  ctx.setLineDash(dash);
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
  ctx.setLineDash([]);
}

/** Labels 0, 0.5 and 1 under a [0, 1] x axis. */
function unitTicks(ctx, X, y) {
  ctx.fillStyle = COLORS.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  for (const v of [0, 0.5, 1]) ctx.fillText(String(v), X(v), y);
}

/** Horizontal gridlines at `steps` even steps of [0, ymax], labelled on the left by `label(v)`. */
function gridY({ ctx, left, top, pw, ph }, steps, ymax, label) {
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.muted;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= steps; i++) {
    const v = (ymax * i) / steps;
    const y = top + ph - (i / steps) * ph;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y) + 0.5);
    ctx.lineTo(left + pw, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(label(v), left - 4, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
}

/**
 * Draws latency over time: p50 and p95 of online requests, and the median of batch
 * items apart (a batch item waits behind the others, so it is no online latency).
 * @param {HTMLCanvasElement} canvas
 * @param {{ p50: number, p95: number, batch?: number, mark?: string }[]} history oldest
 *   first; `mark` draws a labelled vertical line (a backend switch)
 */
export function drawLatency(canvas, history) {
  const area = plotArea(canvas, { left: 54, right: 8, top: 22, bottom: 20 });
  const { ctx, h, left, top, pw, ph } = area;
  const series = [['batch', COLORS.batch, 'batch item p50'], ['p95', COLORS.p95, 'online p95'], ['p50', COLORS.p50, 'online p50']];
  const values = history.flatMap((s) => series.map(([k]) => s[k])).filter(Number.isFinite);
  // Four gridlines at round steps: 1, 2, 2.5 or 5 times a power of ten.
  const ymax = 4 * niceMax((Math.max(1, ...values) * 1.1) / 4);
  gridY(area, 4, ymax, (v) => (v >= 1000 ? `${+(v / 1000).toFixed(2)} s` : `${Number.isInteger(v) ? v : v.toFixed(1)} ms`));
  if (history.length === 0) {
    ctx.fillText('Waiting for requests…', left + 8, top + ph / 2);
    return;
  }
  const n = Math.max(history.length, 30);
  const x = (i) => left + (n === 1 ? pw : (i / (n - 1)) * pw);
  const y = (v) => top + ph - (Math.min(v, ymax) / ymax) * ph;
  // Backend labels: kept inside the plot, and moved down a row where they would touch
  // the label before them.
  const rowEnds = [];
  for (const [i, s] of history.entries()) {
    if (!s.mark) continue;
    dashedLine(ctx, COLORS.diagonal, [3, 3], x(i), top, x(i), top + ph);
    const tw = ctx.measureText(s.mark).width;
    const lx = Math.min(x(i) + 3, left + pw - tw - 2);
    let row = rowEnds.findIndex((end) => end + 4 <= lx);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = lx + tw;
    const ly = top + 12 + 13 * (row % 4);
    // On a light backing, so a label pulled left of its line stays readable over others.
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    ctx.fillRect(lx - 2, ly - 10, tw + 4, 13);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(s.mark, lx, ly);
  }
  for (const [key, color] of series) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.setLineDash(key === 'batch' ? [5, 3] : []);
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
    ctx.setLineDash([]);
    ctx.fillStyle = color;
    history.forEach((s, i) => {
      if (!Number.isFinite(s[key])) return;
      ctx.beginPath();
      ctx.arc(x(i), y(s[key]), 2, 0, 2 * Math.PI);
      ctx.fill();
    });
  }
  // Legend, right-aligned above the plot.
  ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.textAlign = 'left';
  let lx = left + pw;
  for (const [, color, name] of series) {
    lx -= ctx.measureText(name).width + 18;
    ctx.fillStyle = color;
    ctx.fillRect(lx, top - 13, 10, 3);
    ctx.fillText(name, lx + 13, top - 8);
  }
  ctx.fillStyle = COLORS.muted;
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillText('one point per second', left + pw, h - 5);
}

/**
 * Draws a reliability diagram: per confidence bin, the accuracy as a bar, the gap to the
 * bin's mean confidence shaded (red where the model is over-confident, pale blue where it
 * is under-confident), the diagonal of perfect calibration, the ECE and a legend of
 * every mark.
 * @param {HTMLCanvasElement} canvas
 * @param {{ ece: number, bins: { lower: number, upper: number, count: number, confidence: number, accuracy: number }[] }} rel
 * @param {string} title
 */
export function drawReliability(canvas, rel, title) {
  const area = plotArea(canvas, { left: 34, right: 8, top: 22, bottom: 84 });
  const { ctx, left, top, pw, ph } = area;
  const X = (v) => left + v * pw;
  const Y = (v) => top + ph - v * ph;
  gridY(area, 4, 1, (v) => v.toFixed(2).replace(/0$/, ''));
  const maxCount = Math.max(1, ...rel.bins.map((b) => b.count));
  for (const b of rel.bins) {
    const x0 = X(b.lower) + 1;
    const bw = X(b.upper) - X(b.lower) - 2;
    // Share of items in the bin, as a thin strip under the axis.
    ctx.fillStyle = COLORS.strip;
    ctx.fillRect(x0, top + ph + 4, bw, 6 * (b.count / maxCount));
    if (!b.count) continue;
    const a = Y(b.accuracy);
    const c = Y(b.confidence);
    ctx.fillStyle = COLORS.bar;
    ctx.fillRect(x0, Math.max(a, c), bw, Y(0) - Math.max(a, c));
    // Over-confident: the missing accuracy up to the confidence; under-confident: the
    // accuracy above the confidence.
    ctx.fillStyle = b.confidence > b.accuracy ? COLORS.over : COLORS.under;
    ctx.fillRect(x0, Math.min(a, c), bw, Math.abs(a - c));
    ctx.fillStyle = COLORS.p95;
    ctx.fillRect(x0, Math.round(c) - 1, bw, 2);
  }
  dashedLine(ctx, COLORS.diagonal, [4, 3], X(0), Y(0), X(1), Y(1));
  unitTicks(ctx, X, top + ph + 24);
  ctx.fillText('confidence', X(0.25), top + ph + 24);
  // Legend: three rows of two.
  const items = [
    [(x, y) => { ctx.fillStyle = COLORS.bar; ctx.fillRect(x, y - 8, 10, 9); }, 'accuracy'],
    [(x, y) => { ctx.fillStyle = COLORS.p95; ctx.fillRect(x, y - 4, 10, 2); }, 'mean confidence'],
    [(x, y) => { ctx.fillStyle = COLORS.over; ctx.fillRect(x, y - 8, 10, 9); }, 'over-confident'],
    [(x, y) => { ctx.fillStyle = COLORS.under; ctx.fillRect(x, y - 8, 10, 9); }, 'under-confident'],
    [(x, y) => { ctx.fillStyle = COLORS.strip; ctx.fillRect(x, y - 3, 10, 4); }, 'items per bin'],
    [(x, y) => dashedLine(ctx, COLORS.diagonal, [4, 3], x, y - 3, x + 10, y - 3), 'calibrated'],
  ];
  ctx.textAlign = 'left';
  const colW = pw / 2;
  items.forEach(([swatch, name], i) => {
    const x = left + (i % 2) * colW;
    const y = top + ph + 42 + 15 * Math.floor(i / 2);
    swatch(x, y);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(name, x + 14, y);
  });
  ctx.fillStyle = COLORS.ink;
  ctx.font = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.fillText(title, left, 13);
  ctx.textAlign = 'right';
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  ctx.fillText(Number.isFinite(rel.ece) ? `ECE ${(rel.ece * 100).toFixed(1)}%` : 'no labelled items', left + pw, 13);
}

/**
 * Draws a histogram of top-1 confidence: one bar per bin over [0, 1], the reference's
 * shares as an outline when given, and the abstention threshold as a line.
 * @param {HTMLCanvasElement} canvas
 * @param {number[]} bins counts per bin
 * @param {{ reference?: number[], threshold?: number }} [opts]
 */
export function drawHistogram(canvas, bins, opts = {}) {
  const area = plotArea(canvas, { left: 40, right: 8, top: 10, bottom: 34 });
  const { ctx, h, left, top, pw, ph } = area;
  const total = bins.reduce((a, b) => a + b, 0);
  const share = bins.map((b) => (total ? b / total : 0));
  const refTotal = opts.reference?.reduce((a, b) => a + b, 0) ?? 0;
  const refShare = opts.reference?.map((b) => (refTotal ? b / refTotal : 0)) ?? [];
  const ymax = Math.max(0.25, niceMax(Math.max(...share, ...refShare)));
  const X = (v) => left + v * pw;
  const Y = (v) => top + ph - (v / ymax) * ph;
  gridY(area, 2, ymax, (v) => `${Math.round(v * 100)}%`);
  const n = bins.length;
  share.forEach((v, i) => {
    ctx.fillStyle = COLORS.bar;
    ctx.fillRect(X(i / n) + 1, Y(v), pw / n - 2, Y(0) - Y(v));
  });
  if (refShare.length === n) {
    ctx.strokeStyle = COLORS.ink;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    refShare.forEach((v, i) => {
      ctx.moveTo(X(i / n) + 1, Y(v));
      ctx.lineTo(X((i + 1) / n) - 1, Y(v));
    });
    ctx.stroke();
    ctx.lineWidth = 1;
  }
  if (Number.isFinite(opts.threshold) && opts.threshold > 0) {
    dashedLine(ctx, COLORS.p95, [3, 3], X(opts.threshold), top, X(opts.threshold), top + ph);
  }
  unitTicks(ctx, X, top + ph + 14);
  ctx.fillText(total ? `top-1 confidence of the last ${total} requests` : 'no requests yet', left + pw / 2, h - 4);
}
