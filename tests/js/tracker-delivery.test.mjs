// foothold.js delivery and CORS in a real browser: a 503 then recovery (no loss, no duplicate), a
// cross-origin page posting to the collector, and the CORS answers Chromium needs for credentialed
// beacons and fetches, exposed Retry-After, and pixels checked by Referer. README "Browser tracker"
// and "CORS" are the contract.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchChromium, readSession, waitUntil, DESKTOP_UA, repoRoot } from './harness.mjs';

let browser;
const cleanup = [];

before(async () => { browser = await launchChromium(); });
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await browser?.close();
});

async function listen(handler) {
  const srv = http.createServer(handler);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  return srv.address().port;
}

async function server(env = {}) {
  const s = await startServer({ env: { FOOTHOLD_DEMO__ENABLED: 'true', ...env } });
  cleanup.push(async () => assert.equal((await s.stop()).code, 0, s.log()));
  return s;
}

// A page on its own origin (a static server on another port) that loads the tracker from
// `collector` the strict way: crossorigin with Subresource Integrity of the script in the repository.
const integrity = 'sha384-' + createHash('sha384')
  .update(readFileSync(join(repoRoot, 'server', 'web', 'tracker', 'foothold.js'))).digest('base64');
async function sitePort(collector) {
  return listen((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><title>Other site</title>
<script defer src="${collector}/foothold.js" crossorigin="anonymous" integrity="${integrity}"></script>
<button id="wish" data-foothold="wishlist_add">wishlist</button>`);
  });
}

async function openPage(url) {
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  cleanup.push(() => context.close());
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.foothold && localStorage.getItem('fh_s'));
  return { page, sid: await page.evaluate(() => JSON.parse(localStorage.getItem('fh_s')).i) };
}

const has = (name) => (s) => s && s.events.some((e) => e.event === name) && s;

test('a 503 with Retry-After is retried with backoff: nothing lost, nothing stored twice', async () => {
  const s = await server();
  // A proxy in front of the real server answers the first two collect POSTs with 503 + Retry-After,
  // as the server does when its writer queue is full, then forwards everything.
  let refusals = 0;
  const outcomes = [];
  const port = await listen((req, res) => {
    const collect = req.method === 'POST' && req.url.startsWith('/v1/collect');
    if (collect && refusals < 2) {
      refusals++;
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      res.end('{"error":{"code":"queue_full","message":"the writer queue is full; retry later"}}');
      return;
    }
    const up = http.request({ port: s.port, host: '127.0.0.1', method: req.method, path: req.url, headers: req.headers }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => {
        const body = Buffer.concat(chunks);
        if (collect) outcomes.push(JSON.parse(body));
        res.writeHead(r.statusCode, r.headers);
        res.end(body);
      });
    });
    req.pipe(up);
  });
  const { page, sid } = await openPage(`http://127.0.0.1:${port}/p/desk-lamp`);
  await page.click('#wishlist');
  await page.click('#share');
  const j = await waitUntil(async () => {
    const x = await readSession(s, sid);
    return x && ['page_view', 'wishlist_add', 'social_share'].every((n) => x.events.some((e) => e.event === n)) && x;
  }, { timeoutMs: 20000, what: 'the events after the 503s' });
  assert.equal(refusals, 2);
  for (const n of ['page_view', 'wishlist_add', 'social_share']) {
    assert.equal(j.events.filter((e) => e.event === n).length, 1, n);
  }
  assert.equal(outcomes.reduce((a, o) => a + o.duplicates, 0), 0, 'no batch was sent twice');
  await waitUntil(() => page.evaluate(() => JSON.parse(localStorage.getItem('fh_q')).length === 0), { what: 'an empty queue' });
});

test('a page on another origin (script with crossorigin + integrity) posts to the collector', async () => {
  const s = await server();
  const site = await sitePort(s.url);
  const { page, sid } = await openPage(`http://127.0.0.1:${site}/shop`);
  await page.click('#wish');
  const j = await waitUntil(async () => has('wishlist_add')(await readSession(s, sid)), { what: 'cross-origin events' });
  assert.equal(j.events[0].event, 'page_view');
  assert.equal(j.events[0].url, `http://127.0.0.1:${site}/shop`);
});

test('CORS: a credentialed sendBeacon (JSON Blob) and fetch(credentials: include) are accepted by Chromium', async () => {
  const s = await server();
  const site = await sitePort(s.url);
  const { page } = await openPage(`http://127.0.0.1:${site}/`);
  // sendBeacon with a non-text Blob is preflighted with credentials; with "*" Chromium drops the POST.
  const queued = await page.evaluate((url) => navigator.sendBeacon(url, new Blob(
    [JSON.stringify({ event: 'beacon_json', session_id: 'cors-beacon' })], { type: 'application/json' })), `${s.url}/v1/collect`);
  assert.equal(queued, true);
  await waitUntil(async () => has('beacon_json')(await readSession(s, 'cors-beacon')), { what: 'the JSON beacon' });
  // A credentialed fetch reads its answer only when the origin is echoed with credentials allowed.
  const r = await page.evaluate(async (url) => {
    const res = await fetch(url, { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ event: 'fetch_credentialed', session_id: 'cors-fetch' }) });
    return { status: res.status, body: await res.json() };
  }, `${s.url}/v1/collect`);
  assert.deepEqual(r, { status: 200, body: { accepted: 1, duplicates: 0, rejected: [] } });
});

test('CORS: a cross-origin script reads Retry-After from a real 503 (queue full)', async () => {
  // The smallest queue the configuration allows (storage.queue_capacity >= limits.max_events) and one
  // I/O thread: two-event requests that arrive together overflow it. Bursts of concurrent fetches
  // repeat until one is refused: the server's own 503 path.
  const s = await server({ FOOTHOLD_STORAGE__QUEUE_CAPACITY: '2', FOOTHOLD_LIMITS__MAX_EVENTS: '2', FOOTHOLD_THREADS: '1' });
  const site = await sitePort(s.url);
  const { page } = await openPage(`http://127.0.0.1:${site}/`);
  const r = await page.evaluate(async (url) => {
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(url, { method: 'POST', body: JSON.stringify([
        { event: 'a', session_id: `cors-503-${i}` }, { event: 'b', session_id: `cors-503-${i}` }]) })));
      const refused = answers.find((res) => res.status === 503);
      if (refused) return { status: refused.status, retryAfter: refused.headers.get('Retry-After') };
    }
    return null;
  }, `${s.url}/v1/collect`);
  assert.deepEqual(r, { status: 503, retryAfter: '1' });
});

test('CORS: with named origins, pixels are checked by their Referer', async () => {
  const site = await listen((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<!doctype html><title>x</title>'); });
  const s = await server({ FOOTHOLD_CORS__ALLOWED_ORIGINS: `http://127.0.0.1:${site}` });
  const pixel = (origin, sid) => async () => {
    const { page } = await (async () => {
      const context = await browser.newContext({ userAgent: DESKTOP_UA });
      cleanup.push(() => context.close());
      const p = await context.newPage();
      await p.goto(`${origin}/page`);
      return { page: p };
    })();
    return page.evaluate((src) => new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve('load');
      img.onerror = () => resolve('error');
      img.src = src;
    }), `${s.url}/v1/collect?e=pixel_seen&sid=${sid}`);
  };
  assert.equal(await pixel(`http://127.0.0.1:${site}`, 'px-allowed')(), 'load');
  await waitUntil(async () => has('pixel_seen')(await readSession(s, 'px-allowed')), { what: 'the allowed pixel' });
  // Same server, other origin (localhost is not 127.0.0.1): refused, nothing stored.
  await pixel(`http://localhost:${site}`, 'px-refused')();
  assert.equal(await readSession(s, 'px-refused'), null);
  const metrics = await (await fetch(`${s.adminUrl}/metrics`)).text();
  assert.match(metrics, /foothold_rejections_total\{code="origin_forbidden"\} 1\n/);
});
