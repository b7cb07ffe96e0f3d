// Dashboard first-render client of scripts/bench_dashboard.sh (scripts/README.md "Benchmarks"):
// opens GET /dashboard in headless Debian chromium (playwright-core from tests/js/node_modules,
// launched the way tests/js/harness.mjs launchChromium does), cold each time (a new browser
// context: empty cache, empty sessionStorage), at 1280x800, once per view and run, and prints the
// time from navigation start to the view's performance mark `foothold-rendered-<view>` (set by
// server/web/dashboard/app.js when a view has rendered) and the API requests the page waited for
// (Resource Timing entries of /v1/... and /metrics that ended before the mark).
// A benchmark, never a test: exits non-zero only when a view fails (no mark within the deadline,
// or the view rendered an error message).
//
// Usage: node scripts/bench_dashboard.mjs --url http://127.0.0.1:PORT [--token T] [--session ID]
//          [--runs 3] [--views overview,funnel,...] [--timeout-ms 120000]
// Output: human-readable tables, plus machine lines "VIEW <view> median_ms=.. max_ms=.. runs=a,b,c".
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const ALL_VIEWS = ['overview', 'funnel', 'lift', 'opportunities', 'experiments', 'live', 'journey'];

function parseArgs(argv) {
  const o = { url: '', token: '', session: '', runs: 3, views: ALL_VIEWS, timeoutMs: 120000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    i++;
    if (k === '--url') o.url = v.replace(/\/$/, '');
    else if (k === '--token') o.token = v;
    else if (k === '--session') o.session = v;
    else if (k === '--runs') o.runs = Number(v);
    else if (k === '--views') o.views = v.split(',').filter(Boolean);
    else if (k === '--timeout-ms') o.timeoutMs = Number(v);
    else throw new Error(`unknown option ${k}`);
  }
  if (!o.url) throw new Error('--url is required');
  if (!(o.runs >= 1)) throw new Error('--runs must be >= 1');
  for (const v of o.views) if (!ALL_VIEWS.includes(v)) throw new Error(`unknown view ${v} (one of ${ALL_VIEWS.join(', ')})`);
  if (o.views.includes('journey') && !o.session) throw new Error('the journey view needs --session');
  return o;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const fmt = (x) => x.toFixed(1);

// One cold load of one view: { renderMs, api: [{path, ms}] }.
async function measure(browser, o, view) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA });
  try {
    if (o.token) {
      // The page keeps the admin token in sessionStorage (asked for once); set it before any
      // script runs so the first render already sends Authorization: Bearer.
      await context.addInitScript((t) => sessionStorage.setItem('foothold.admin_token', t), o.token);
    }
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const hash = new URLSearchParams({ view });
    if (view === 'journey') hash.set('session', o.session);
    await page.goto(`${o.url}/dashboard#${hash}`, { waitUntil: 'commit', timeout: o.timeoutMs });
    const mark = `foothold-rendered-${view}`;
    // The page either renders (the mark) or asks for the token (no mark ever comes).
    await page.waitForFunction((m) => performance.getEntriesByName(m, 'mark').length > 0
      || document.body?.dataset.ready === 'token', mark, { timeout: o.timeoutMs, polling: 10 });
    if (await page.evaluate(() => document.body.dataset.ready === 'token')) {
      throw new Error(`view ${view}: the page asked for the admin token (--token missing or refused)`);
    }
    const r = await page.evaluate((m) => {
      const at = performance.getEntriesByName(m, 'mark')[0].startTime;
      const api = performance.getEntriesByType('resource')
        .map((e) => ({ url: new URL(e.name), start: e.startTime, end: e.responseEnd, ms: e.duration }))
        .filter((e) => (e.url.pathname.startsWith('/v1/') || e.url.pathname === '/metrics') && e.end <= at)
        .map((e) => ({ path: e.url.pathname, ms: e.ms }));
      const err = document.querySelector('#view [data-message=error]');
      const nav = performance.getEntriesByType('navigation')[0];
      return { at, api, dcl: nav ? nav.domContentLoadedEventEnd : NaN, ready: document.body.dataset.ready || '', error: err ? err.textContent : '' };
    }, mark);
    if (r.error || r.ready !== view || errors.length) {
      throw new Error(`view ${view} rendered an error: ${r.error || errors.join('; ') || `ready=${r.ready}`}`);
    }
    return { renderMs: r.at, dclMs: r.dcl, api: r.api };
  } finally {
    await context.close();
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const require = createRequire(join(root, 'tests/js/package.json'));
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core not found under tests/js/node_modules (scripts/setup.sh test installs it): ${e.message}`);
  }
  const executablePath = process.env.FOOTHOLD_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`chromium not found at ${executablePath} (scripts/setup.sh test installs it)`);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [`--user-agent=${DESKTOP_UA}`, '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const results = {};
  try {
    // One untimed load first: the browser process itself starts cold (disk cache of the binary,
    // V8 code caches), which would otherwise land on whichever view comes first.
    await measure(browser, o, 'live');
    for (let run = 0; run < o.runs; run++) {
      for (const view of o.views) {
        const m = await measure(browser, o, view);
        (results[view] ??= []).push(m);
      }
    }
  } finally {
    await browser.close();
  }

  console.log(`first render, cold context, 1280x800, ${o.runs} runs per view (ms from navigation start to the mark)`);
  // DOMContentLoaded: the page and its module scripts are in, before any API call: the rest of
  // the render time is the view's own requests and drawing.
  console.log(`${'view'.padEnd(14)} ${'median'.padStart(8)} ${'max'.padStart(8)} ${'DCL med'.padStart(8)}   runs`);
  for (const view of o.views) {
    const xs = results[view].map((m) => m.renderMs);
    const dcl = median(results[view].map((m) => m.dclMs));
    console.log(`${view.padEnd(14)} ${fmt(median(xs)).padStart(8)} ${fmt(Math.max(...xs)).padStart(8)} ${fmt(dcl).padStart(8)}   ${xs.map(fmt).join(', ')}`);
  }
  console.log('');
  console.log('API requests the page waited for (Resource Timing duration, ms, over all runs)');
  console.log(`${'view'.padEnd(14)} ${'request'.padEnd(34)} ${'n'.padStart(3)} ${'median'.padStart(8)} ${'max'.padStart(8)}`);
  for (const view of o.views) {
    const byPath = new Map();
    for (const m of results[view]) for (const a of m.api) {
      // A journey path carries the session id; group it under one name.
      const p = a.path.startsWith('/v1/sessions/') ? '/v1/sessions/{id}' : a.path;
      if (!byPath.has(p)) byPath.set(p, []);
      byPath.get(p).push(a.ms);
    }
    for (const [p, xs] of byPath) {
      console.log(`${view.padEnd(14)} ${p.padEnd(34)} ${String(xs.length).padStart(3)} ${fmt(median(xs)).padStart(8)} ${fmt(Math.max(...xs)).padStart(8)}`);
    }
  }
  for (const view of o.views) {
    const xs = results[view].map((m) => m.renderMs);
    console.log(`VIEW ${view} median_ms=${fmt(median(xs))} max_ms=${fmt(Math.max(...xs))} runs=${xs.map(fmt).join(',')}`);
  }
}

main().catch((e) => {
  console.error(`bench_dashboard: ${e.message}`);
  process.exit(1);
});
