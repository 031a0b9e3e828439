/**
 * Offline support and the footer: the service worker (sw.js), inpage's model cache
 * (`cache.list`, `cache.clear`) and the online / offline mark.
 */
import { modelCache, onModelReady, pruneCache } from './serving.js';
import { $, showError } from './ui.js';

async function showCacheUsage() {
  if (!modelCache) return;
  try {
    const models = await modelCache.list();
    const bytes = models.reduce((n, m) => n + m.bytes, 0);
    $('#cache-usage').textContent = `inpage cache: ${models.length} model${models.length === 1 ? '' : 's'}, ${(bytes / 1024).toFixed(0)} KB`;
    $('#cache-clear').hidden = models.length === 0;
  } catch {
    $('#cache-usage').textContent = 'inpage cache: unavailable here';
  }
}

async function registerServiceWorker() {
  const note = $('#sw-status');
  if (!('serviceWorker' in navigator)) {
    note.textContent = 'Offline support: not in this browser.';
    return;
  }
  try {
    await navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: './' });
    const reg = await navigator.serviceWorker.ready;
    note.textContent = navigator.serviceWorker.controller
      ? 'Offline support: ready; this page was served by its service worker.'
      : 'Offline support: ready (page, library and demo models cached).';
    document.body.dataset.sw = reg.active ? 'ready' : '';
  } catch (e) {
    note.textContent = `Offline support: unavailable (${e.message}).`;
  }
}

export function setupOffline() {
  onModelReady(({ info, source }) => {
    $('#cache-status').textContent = source === 'custom'
      ? 'Model: read from your files.'
      : info.fromCache
      ? 'Model: from inpage\'s cache (IndexedDB).'
      : `Model: ${(info.bytes / 1024).toFixed(0)} KB downloaded${info.cacheError ? ` (not cached: ${info.cacheError.message})` : ''}.`;
    if (source === 'custom') return;
    void pruneCache(info.name).then(showCacheUsage);
  });
  $('#cache-clear').addEventListener('click', async () => {
    await modelCache?.clear().catch((e) => showError(e, 'Clearing the cache'));
    await showCacheUsage();
  });
  window.addEventListener('online', () => ($('#net').hidden = true));
  window.addEventListener('offline', () => ($('#net').hidden = false));
  $('#net').hidden = navigator.onLine;
  void registerServiceWorker();
}
