/**
 * "Try it": an image from a file, a drop, a paste or the camera, or a shape drawn on the
 * pad; the top class per head and the top 5 as bars. Only the latest answer is shown,
 * and a newer input marks the shown answer as pending until its own answer arrives.
 */
import { store } from './store.js';
import { requestPostprocess } from './serving.js';
import { recordOnline } from './latency.js';
import { $, el, isImage, pct, showError } from './ui.js';

let seq = 0;
let lastInput = null;

function renderHeads({ heads }) {
  const box = $('#heads');
  box.replaceChildren();
  const multi = heads.length > 1;
  if (multi) box.append(el('div', { class: 'summary', 'data-testid': 'prediction', text: 'Waiting for an image…' }));
  for (const h of heads) {
    box.append(el('div', { class: 'head', 'data-head': h.name },
      multi ? el('h3', { text: h.name }) : null,
      el('div', { class: 'top', 'data-testid': multi ? `prediction-${h.name}` : 'prediction', text: 'Waiting for an image…' }),
      el('div', { class: 'bars', 'data-testid': multi ? `bars-${h.name}` : 'bars' })));
  }
}

const labelOf = (h, c) => c.label ?? (h.labels?.[c.index] ?? `class ${c.index}`);

function renderHead(h, p) {
  const box = $(`#heads .head[data-head="${CSS.escape(h.name)}"]`);
  if (!box) return;
  const top = box.querySelector('.top');
  const best = p.topK[0];
  if (p.index === -1) {
    top.replaceChildren(el('span', { class: 'label unsure', text: 'not sure' }),
      el('span', { class: 'conf', text: best ? ` best guess ${labelOf(h, best)} at ${pct(best.confidence)}` : '' }));
  } else {
    top.replaceChildren(el('span', { class: 'label', text: labelOf(h, p) }), el('span', { class: 'conf', text: ` ${pct(p.confidence)}` }));
  }
  top.dataset.label = p.index === -1 ? '' : labelOf(h, p);
  top.dataset.confidence = String(p.confidence);
  box.querySelector('.bars').replaceChildren(...p.topK.map((c) =>
    el('div', { class: `bar${c.index === p.index ? ' best' : ''}` },
      el('span', { class: 'name', text: labelOf(h, c) }),
      el('span', { class: 'track' }, el('span', { class: 'fill', style: `width:${(c.confidence * 100).toFixed(1)}%` })),
      el('span', { class: 'value', text: pct(c.confidence) }))));
}

function renderPrediction(p, heads) {
  if (heads.length === 1) {
    renderHead(heads[0], p);
    return;
  }
  const parts = [];
  for (const h of heads) {
    const hp = p.heads?.[h.name];
    if (!hp) continue;
    renderHead(h, hp);
    // The same words as the heads show, in the same case.
    parts.push(hp.index === -1 ? `${h.name}: not sure` : `${labelOf(h, hp)} ${pct(hp.confidence, 0)}`);
  }
  const summary = $('#heads .summary');
  summary.textContent = parts.join(' · ');
}

/** Marks the shown answer as belonging to an older input. */
function markPending(on) {
  const result = $('#result');
  result.classList.toggle('pending', on);
  result.setAttribute('aria-busy', String(on));
  $('#pending').hidden = !on;
}

/** Classifies one input; only the latest answer is shown. */
export async function predict(input = lastInput) {
  lastInput = input;
  const { model, imageInput, heads, runtime } = store.get();
  if (!input || !model || !imageInput) return;
  const mine = ++seq;
  if (input.kind !== 'video') markPending(true);
  const source = input.kind === 'pad' ? padForModel(imageInput) : input.kind === 'video' ? $('#video') : input.blob;
  try {
    const p = await model.predict(source, { postprocess: requestPostprocess() });
    recordOnline(p.timing);
    if (mine !== seq || model !== store.get().model) return;
    renderPrediction(p, heads);
    const result = $('#result');
    result.dataset.seq = String(mine);
    result.dataset.backend = p.backend;
    result.dataset.version = p.model.version;
    result.dataset.ms = p.timing.totalMs.toFixed(1);
    markPending(false);
  } catch (e) {
    if (mine === seq) markPending(false);
    if (model !== store.get().model || e?.code === 'DISPOSED' || runtime !== store.get().runtime) return;
    showError(e, 'Prediction failed');
  }
}

function showPreview(blob) {
  const img = $('#preview');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
  img.hidden = false;
  $('#drop').classList.add('has-image');
}

/** Shows and classifies an image file; resolves once its answer is shown (or superseded). */
export function predictFile(file) {
  if (!file || !isImage(file)) {
    showError(new Error(`${file?.name ?? 'That'} is not an image`), 'Cannot predict');
    return Promise.resolve();
  }
  showPreview(file);
  return predict({ kind: 'blob', blob: file });
}

// ---------------------------------------------------------------- drawing pad

/** The pad and its context, from setupTry on. */
let pad = null;
let padCtx = null;

function clearPad() {
  padCtx.fillStyle = '#ffffff';
  padCtx.fillRect(0, 0, pad.width, pad.height);
}

/** The pad scaled down to the model's input size on the page, where the browser filters it well. */
function padForModel(img) {
  const small = document.createElement('canvas');
  small.width = img.w ?? pad.width;
  small.height = img.h ?? pad.height;
  const ctx = small.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(pad, 0, 0, small.width, small.height);
  return small;
}

function setupPad() {
  pad = $('#pad');
  padCtx = pad.getContext('2d', { willReadFrequently: true });
  let stroke = null;
  const point = (ev) => {
    const r = pad.getBoundingClientRect();
    return [((ev.clientX - r.left) / r.width) * pad.width, ((ev.clientY - r.top) / r.height) * pad.height];
  };
  pad.addEventListener('pointerdown', (ev) => {
    ev.preventDefault();
    pad.setPointerCapture?.(ev.pointerId);
    clearPad();
    stroke = [point(ev)];
    padCtx.strokeStyle = $('#pen-color').value;
    padCtx.lineWidth = pad.width / 18;
    padCtx.lineCap = 'round';
    padCtx.lineJoin = 'round';
  });
  pad.addEventListener('pointermove', (ev) => {
    if (!stroke) return;
    const [x, y] = point(ev);
    const [px, py] = stroke[stroke.length - 1];
    padCtx.beginPath();
    padCtx.moveTo(px, py);
    padCtx.lineTo(x, y);
    padCtx.stroke();
    stroke.push([x, y]);
  });
  const endStroke = () => {
    if (!stroke) return;
    const pts = stroke;
    stroke = null;
    if (pts.length < 2) return;
    const [x0, y0] = pts[0];
    const [x1, y1] = pts[pts.length - 1];
    const closed = Math.hypot(x1 - x0, y1 - y0) < pad.width * 0.2;
    if ($('#pen-fill').checked && closed) {
      padCtx.fillStyle = $('#pen-color').value;
      padCtx.beginPath();
      padCtx.moveTo(x0, y0);
      for (const [x, y] of pts.slice(1)) padCtx.lineTo(x, y);
      padCtx.closePath();
      padCtx.fill();
      padCtx.stroke();
    }
    void predict({ kind: 'pad' });
  };
  pad.addEventListener('pointerup', endStroke);
  pad.addEventListener('pointercancel', endStroke);
  $('#pad-clear').addEventListener('click', clearPad);
  const markSwatch = () => {
    for (const b of document.querySelectorAll('.swatch')) b.setAttribute('aria-pressed', String(b.dataset.color === $('#pen-color').value));
  };
  for (const b of document.querySelectorAll('.swatch')) {
    b.addEventListener('click', () => {
      $('#pen-color').value = b.dataset.color;
      markSwatch();
    });
  }
  $('#pen-color').addEventListener('input', markSwatch);
  markSwatch();
  clearPad();
}

// ---------------------------------------------------------------- camera

let cameraStream = null;
let cameraTimer = 0;

function stopCamera() {
  clearTimeout(cameraTimer);
  for (const t of cameraStream?.getTracks() ?? []) t.stop();
  cameraStream = null;
  $('#video').hidden = true;
  $('#camera').textContent = 'Start camera';
  if (lastInput?.kind === 'video') lastInput = null;
}

async function setupCamera() {
  const btn = $('#camera');
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) {
    $('#camera-box').hidden = true;
    return;
  }
  try {
    const devices = await md.enumerateDevices();
    if (!devices.some((d) => d.kind === 'videoinput')) {
      $('#camera-box').hidden = true;
      return;
    }
  } catch {
    // enumerateDevices may be refused; offer the button and let getUserMedia say.
  }
  btn.hidden = false;
  btn.addEventListener('click', async () => {
    const video = $('#video');
    if (cameraStream) {
      stopCamera();
      return;
    }
    try {
      cameraStream = await md.getUserMedia({ video: { width: { ideal: 320 }, height: { ideal: 240 } }, audio: false });
    } catch (e) {
      showError(e, 'Camera');
      return;
    }
    video.srcObject = cameraStream;
    video.hidden = false;
    await video.play();
    btn.textContent = 'Stop camera';
    const tick = async () => {
      if (!cameraStream) return;
      if (video.readyState >= 2) await predict({ kind: 'video' });
      cameraTimer = setTimeout(tick, 250);
    };
    void tick();
  });
}

// ---------------------------------------------------------------- wiring

export function setupTry() {
  setupPad();
  void setupCamera();
  store.on(['heads'], (s) => {
    renderHeads(s);
    void predict();
  });
  // A new model brings new heads, which predict again; until then the answer is an old one.
  store.on(['model'], (s) => {
    if (!s.model) markPending(Boolean(lastInput));
  });
  store.on(['threshold', 'temperature'], () => {
    if (lastInput?.kind !== 'video') void predict();
  });
  store.on(['imageInput', 'info'], ({ imageInput, info }) => {
    const usable = Boolean(imageInput) || !info;
    $('#try').classList.toggle('disabled', !usable);
    $('#try .hint').textContent = usable
      ? 'Pick, drop or paste an image, draw a shape, or point the camera at one.'
      : 'This model does not take images: run it under “Your own model” below.';
    if (!usable) {
      $('#preview').hidden = true;
      $('#drop').classList.remove('has-image');
      lastInput = null;
    }
  });
  $('#file').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    if (f) void predictFile(f);
    ev.target.value = '';
  });
  $('#threshold').addEventListener('input', (ev) => {
    const threshold = Number(ev.target.value);
    $('#threshold-value').textContent = `${Math.round(threshold * 100)}%`;
    store.set({ threshold });
  });
  document.addEventListener('paste', (ev) => {
    const file = [...(ev.clipboardData?.files ?? [])].find(isImage);
    if (file) {
      ev.preventDefault();
      void predictFile(file);
    }
  });
}
