/**
 * Versions: the shape model's successor (model-v2, trained on data of which a share is
 * hard to read) loaded under the same name, run as a shadow on the live requests
 * (`runtime.shadow`), compared (`runtime.shadowReport`), and promoted with one click
 * (`runtime.promote`).
 */
import { MODELS, fetchJson, loadWith, modelVersion, pruneCache, servedPostprocess } from './serving.js';
import { store } from './store.js';
import { $, ms, pct, showError } from './ui.js';

/** The loaded versions of the demo model: { v1: info, v2: info }. */
let versions = {};
let timer = 0;
const SHADOW = { fraction: 1, idle: false };

const canShadow = (runtime) => typeof runtime?.shadow === 'function' && typeof runtime?.shadowReport === 'function';

function show(state) {
  $('#versions').dataset.state = state;
  $('#load-v2').hidden = state !== 'one';
  $('#promote').hidden = state !== 'shadow';
  $('#rollback').hidden = state !== 'promoted';
}

async function loadV2() {
  const { runtime, info } = store.get();
  const button = $('#load-v2');
  button.disabled = true;
  $('#versions-status').textContent = 'Loading version 2…';
  try {
    const m = MODELS.v2;
    const [labels, version] = await Promise.all([fetchJson(m.labels), modelVersion(m)]);
    const v2 = await loadWith(runtime, { url: m.url, name: m.name, version, cache: true, postprocess: servedPostprocess(labels) });
    if (store.get().runtime !== runtime) return;
    versions = { v1: info, v2: v2.info };
    void pruneCache(m.name);
    // Every request is shadowed at once (idle: false): the demo sends few requests and
    // wants all of them compared; an app under load keeps the default and skips some.
    runtime.shadow(m.name, version, SHADOW);
    $('#versions-status').textContent = `Version 2 (${version}) answers every request in the shadow of version 1 (${info.version}); you still see version 1's answers.`;
    show('shadow');
    poll();
  } catch (e) {
    showError(e, 'Loading version 2');
    $('#versions-status').textContent = '';
  } finally {
    button.disabled = false;
  }
}

function poll() {
  clearInterval(timer);
  const tick = () => {
    const { runtime, info } = store.get();
    if (!runtime || !versions.v2) return;
    let r;
    try {
      r = runtime.shadowReport(info.name);
    } catch {
      return;
    }
    $('#shadow-requests').textContent = String(r.requests);
    $('#shadow-agreement').textContent = r.requests ? pct(r.agreement) : '–';
    $('#shadow-confidence-diff').textContent = r.requests ? pct(r.meanAbsConfidenceDiff) : '–';
    $('#shadow-latency').textContent = r.requests ? `${ms(r.latencyMs.active.p50)} / ${ms(r.latencyMs.shadow.p50)}` : '–';
    $('#shadow-errors').textContent = String(r.errors);
    $('#shadow-skipped').textContent = String(r.skipped ?? 0);
  };
  tick();
  timer = setInterval(tick, 1000);
}

/** Makes `which` the active version: later requests by name go to it. */
function activate(which) {
  const { runtime, info } = store.get();
  const target = versions[which];
  const other = versions[which === 'v2' ? 'v1' : 'v2'];
  let last = null;
  try {
    last = runtime.shadowReport(info.name);
  } catch {
    // No report yet: nothing to quote.
  }
  try {
    runtime.promote(info.name, target.version);
    // The other version keeps answering in the shadow, so the comparison goes on.
    runtime.shadow(info.name, other.version, SHADOW);
  } catch (e) {
    showError(e, 'Promoting');
    return;
  }
  store.set({ info: { ...target, loadTime: store.get().info.loadTime } });
  const before = last?.requests ? ` Before the switch the two agreed on ${pct(last.agreement)} of ${last.requests} requests.` : '';
  $('#versions-status').textContent = (which === 'v2'
    ? `Version 2 (${target.version}) is active; version 1 now runs in its shadow.`
    : `Version 1 (${target.version}) is active again; version 2 runs in its shadow.`) + before;
  show(which === 'v2' ? 'promoted' : 'shadow');
  $('#active-version').textContent = which === 'v2' ? 'version 2' : 'version 1';
}

function reset({ runtime, source, model }) {
  clearInterval(timer);
  versions = {};
  const usable = source === 'demo' && Boolean(model) && canShadow(runtime);
  $('#versions').hidden = !usable;
  for (const id of ['#shadow-requests', '#shadow-agreement', '#shadow-confidence-diff', '#shadow-latency', '#shadow-errors', '#shadow-skipped']) $(id).textContent = '–';
  $('#versions-status').textContent = '';
  $('#active-version').textContent = 'version 1';
  show('one');
}

export function setupVersions() {
  store.on(['model'], (s) => reset(s));
  $('#load-v2').addEventListener('click', () => void loadV2());
  $('#promote').addEventListener('click', () => activate('v2'));
  $('#rollback').addEventListener('click', () => activate('v1'));
  reset(store.get());
}
