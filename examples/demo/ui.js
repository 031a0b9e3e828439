/** Small DOM helpers and the page's status line and error list. */

export const $ = (sel) => document.querySelector(sel);

/** An element with attributes (`class`, `text`, `style`, others as attributes) and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

export const pct = (v, digits = 1) => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : 'n/a');
export const ms = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms` : '–');

const IMAGE_EXT = /\.(png|jpe?g|gif|webp|bmp|avif)$/i;
export const isImage = (f) => (f.type ? f.type.startsWith('image/') : IMAGE_EXT.test(f.name));
export const pathOf = (f) => f.webkitRelativePath || f.relativePath || f.name;

export function setStatus(text) {
  $('#status').textContent = text;
}

/** Reports an error on the page (a visitor's mistake is not a console error). */
export function showError(err, context) {
  const message = err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? err);
  console.warn(`[inpage demo] ${context}:`, err);
  const box = $('#errors');
  const item = el('div', { class: 'error' }, el('strong', { text: `${context}: ` }), message,
    el('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', text: '×' }));
  item.querySelector('button').addEventListener('click', () => item.remove());
  box.append(item);
  while (box.children.length > 3) box.firstChild.remove();
}

export function clearErrors() {
  $('#errors').replaceChildren();
}

/** One number with its caption, as the report panels show them. */
export function stat(label, value, testid, extra = '') {
  return el('div', { class: `stat ${extra}` }, el('span', { class: 'v', 'data-testid': testid, text: value }), el('span', { class: 'k', text: label }));
}
