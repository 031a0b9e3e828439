// Browser plumbing for the benchmark: Chromium through playwright-core, pages that
// expose window.bench, CDP tracing of the main thread, network throttling, and a
// caching proxy for cold starts.
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { findChrome, chromeArgs } from '../../scripts/find-chrome.mjs';

/** Starts headless Chromium with the project's flags (WebGPU on SwiftShader). */
export async function launch() {
  return chromium.launch({ executablePath: findChrome(), args: chromeArgs, headless: true });
}

/**
 * Opens a benchmark page and waits for `window.benchReady`. Page errors and console
 * errors are collected into `log` (404s of favicon.ico excepted).
 */
export async function openPage(context, url, log) {
  const page = await context.newPage();
  page.setDefaultTimeout(300_000);
  page.on('pageerror', (e) => log.push(`${url}: pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon|status of 404/.test(m.text())) log.push(`${url}: console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => window.benchReady === true);
  return page;
}

/** Calls `window.bench[method](...args)` on the page. */
export function call(page, method, ...args) {
  return page.evaluate(([m, a]) => window.bench[m](...a), [method, args]);
}

/** Calls `window.peer[method](arg)` on the page. */
export function callPeer(page, method, arg) {
  return page.evaluate(([m, a]) => window.peer[m](a), [method, arg]);
}

/** Names of the trace event of one task on a thread (older and newer Chromium). */
const TASK_EVENTS = new Set(['ThreadControllerImpl::RunTask', 'RunTask']);

/**
 * Traces the page's renderer with the `toplevel` category (every task the main thread
 * runs) while `work()` runs; returns work's value and the main thread's task durations.
 * Only one page should be open: the busiest renderer main thread is taken as the page's.
 */
export async function traceMainThread(page, work) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Tracing.start', {
    traceConfig: { includedCategories: ['toplevel', '__metadata'], recordMode: 'recordContinuously' },
    transferMode: 'ReturnAsStream',
  });
  let value;
  let trace;
  try {
    value = await work();
  } finally {
    const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.end');
    const { stream } = await done;
    let text = '';
    for (;;) {
      const chunk = await cdp.send('IO.read', { handle: stream, size: 1 << 20 });
      text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString('utf8') : chunk.data;
      if (chunk.eof) break;
    }
    await cdp.send('IO.close', { handle: stream });
    await cdp.detach();
    trace = JSON.parse(text);
  }
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = new Set(events
    .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
    .map((e) => `${e.pid}:${e.tid}`));
  const byThread = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !TASK_EVENTS.has(e.name) || !mains.has(`${e.pid}:${e.tid}`)) continue;
    const k = `${e.pid}:${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    // dur is wall time; tdur the thread's CPU time, which leaves out time the thread
    // waited for a core while other jobs ran on this 2-core machine.
    byThread.get(k).push({ ms: (e.dur ?? 0) / 1000, cpuMs: (e.tdur ?? e.dur ?? 0) / 1000, where: e.args?.src_func ? `${e.args.src_file}:${e.args.src_func}` : '' });
  }
  let tasks = [];
  let busiest = -1;
  for (const list of byThread.values()) {
    const total = list.reduce((a, t) => a + t.ms, 0);
    if (total > busiest) {
      busiest = total;
      tasks = list;
    }
  }
  const longest = (key) => tasks.reduce((m, t) => (t[key] > (m?.[key] ?? -1) ? t : m), undefined);
  const byWall = longest('ms');
  const byCpu = longest('cpuMs');
  return {
    value,
    tasks: {
      count: tasks.length,
      longestMs: byWall?.ms ?? NaN,
      longestCpuMsOfIt: byWall?.cpuMs ?? NaN,
      longestWhere: byWall?.where ?? '',
      longestCpuMs: byCpu?.cpuMs ?? NaN,
      longestCpuWhere: byCpu?.where ?? '',
      over16ms: tasks.filter((t) => t.ms > 16).length,
      over16msCpu: tasks.filter((t) => t.cpuMs > 16).length,
      over50ms: tasks.filter((t) => t.ms > 50).length,
      busyMs: busiest,
    },
  };
}

/** Network throttling of a page through CDP (applies to its workers' requests too; checked in the run). */
export async function throttle(page, { mbps, rttMs }) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: rttMs,
    downloadThroughput: (mbps * 1e6) / 8,
    uploadThroughput: (mbps * 1e6) / 8,
  });
  return cdp;
}

/** Compressible types a deployed app would serve gzipped. */
const COMPRESSIBLE = /^(text\/|application\/(json|javascript|wasm))/;

/**
 * A proxy in front of the static server that serves the app as a deployed one would:
 * its own files (scripts, worker, WASM) HTTP-cacheable (`max-age`) and gzipped when
 * the browser asks; model files stay `no-store`, so a second visit gets its model only
 * from inpage's IndexedDB cache (or the network again).
 */
export async function startCachingProxy(target, isModelFile) {
  const gz = new Map();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: { host: new URL(target).host } }, (r) => {
      const headers = { ...r.headers };
      if (r.statusCode === 200 && !isModelFile(path)) headers['cache-control'] = 'public, max-age=3600';
      const zip = r.statusCode === 200 && req.method === 'GET' && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') &&
        COMPRESSIBLE.test(headers['content-type'] ?? '');
      if (!zip) {
        res.writeHead(r.statusCode ?? 502, headers);
        r.pipe(res);
        return;
      }
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => {
        if (!gz.has(path)) gz.set(path, gzipSync(Buffer.concat(chunks)));
        const body = gz.get(path);
        delete headers['content-length'];
        res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': body.length, vary: 'accept-encoding' });
        res.end(body);
      });
    });
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    up.end();
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    }),
  };
}
