// The real @segment/analytics-next SDK in Debian's chromium (playwright-core), loaded from its own
// UMD bundle with inline settings (nothing is fetched from a CDN: every request that does not go
// to 127.0.0.1 fails the test). The page comes from its own origin, so every call to foothold is
// cross-origin with Authorization (a preflight). Standard and batching delivery, including events
// sent while the page unloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, waitUntil, DESKTOP_UA } from '../harness.mjs';
import { BROWSER_KEY, startSegmentServer, waitStored, journeyOf, metric, waitAggregated } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const umd = join(here, '..', 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');

// The site: /shop.html loads the SDK with settings inline (the collector's address comes in the
// query) and resolves window.ready once analytics is loaded.
const PAGE = `<!doctype html><html><head><title>Shop</title><script src="/umd/index.js"></script></head><body>
<script>
  const q = new URLSearchParams(location.search);
  const batching = q.get('mode') === 'batching';
  window.ready = window.AnalyticsNext.AnalyticsBrowser.load({
    writeKey: q.get('key'),
    cdnSettings: { integrations: { 'Segment.io': {
      apiKey: q.get('key'), apiHost: q.get('api'), protocol: 'http',
      ...(batching ? { deliveryStrategy: { strategy: 'batching', config: { size: 50, timeout: 60000 } } } : {}),
    } } },
  }).then(([analytics]) => { window.analytics = analytics; return true; });
</script></body></html>`;

function startSite() {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/shop.html' || path === '/next.html') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(PAGE);
    }
    const file = normalize(join(umd, path.replace(/^\/umd\//, '')));
    if (path.startsWith('/umd/') && file.startsWith(umd) && existsSync(file)) {
      res.writeHead(200, { 'Content-Type': 'application/javascript' });
      return res.end(readFileSync(file));
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// A browser page whose requests are watched: anything not for 127.0.0.1 is recorded (and fails
// the test). Watched, not intercepted: Playwright's request interception answers CORS preflights
// itself and loses keepalive requests of an unloading page, the two things under test here.
async function openPage(browser, offsite) {
  const context = await browser.newContext();
  context.on('request', (request) => {
    const u = new URL(request.url());
    if (u.protocol !== 'about:' && u.hostname !== '127.0.0.1') offsite.push(u.href);
  });
  return { context, page: await context.newPage() };
}

async function withSetup(fn) {
  const server = await startSegmentServer();
  const site = await startSite();
  // Host names other than 127.0.0.1 resolve nowhere: nothing can leave the machine.
  const browser = await launchChromium({ args: ['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'] });
  const offsite = [];
  try {
    const base = `http://127.0.0.1:${site.address().port}`;
    const query = `key=${BROWSER_KEY}&api=${encodeURIComponent(`127.0.0.1:${server.port}/v1`)}`;
    await fn({ server, browser, offsite, base, query });
    assert.deepEqual(offsite, [], 'nothing is fetched from outside the machine');
  } finally {
    await browser.close();
    site.close();
    assert.equal((await server.stop()).code, 0);
  }
}

test('analytics-next standard mode: page, track, identify, Experiment Viewed, and a track during unload', async () => {
  await withSetup(async ({ server, browser, offsite, base, query }) => {
    const { page } = await openPage(browser, offsite);
    const before = Date.now();
    await page.goto(`${base}/shop.html?mode=standard&${query}`);
    await page.evaluate(() => window.ready);
    const anonymousId = await page.evaluate(async () => {
      const a = window.analytics;
      await a.page('Shop', 'Home', {}, { messageId: 'web-std-page' });
      await a.track('Product Added', { sku: 'G-32', price: 18.99, products: [{ product_id: 'p1' }] },
        { messageId: 'web-std-add' });
      await a.identify('user-42', { plan: 'pro' }, { messageId: 'web-std-identify' });
      await a.track('Experiment Viewed', { experiment_name: 'checkout_button', variation_name: 'green' },
        { messageId: 'web-std-exposure' });
      return a.user().anonymousId();
    });
    const after = Date.now();

    const pageView = await waitStored(server, 'web-std-page');
    assert.equal(pageView.event, 'page_view');
    assert.equal(pageView.url, `${base}/shop.html?mode=standard&${query}`);
    assert.equal(pageView.title, 'Shop');
    assert.equal(pageView.props.name, 'Home');
    assert.equal(pageView.props.category, 'Shop');
    const journey = await journeyOf(server, pageView);
    assert.deepEqual(journey.map((e) => e.event_id),
      ['web-std-page', 'web-std-add', 'web-std-identify', 'web-std-exposure']);
    for (const e of journey) {
      assert.equal(e.anonymous_id, anonymousId);
      assert.equal(e.source, 'web');
      assert.equal(e.user_agent, DESKTOP_UA);  // a browser source: the request's own
      assert.equal(e.bot, false);
      assert.equal(e.ip, '127.0.0.0');
      // received_at - (sentAt - timestamp): within the test's own window, never after receipt.
      assert.ok(e.event_time >= before - 1000 && e.event_time <= after + 1000, `${e.event_id} time ${e.event_time}`);
      assert.ok(e.event_time <= e.received_at);
    }
    const [, add, identify, exposure] = journey;
    assert.equal(add.event, 'Product Added');
    assert.deepEqual(add.props, { sku: 'G-32', price: 18.99, products: '[{"product_id":"p1"}]' });
    assert.equal(identify.user_id, 'user-42');
    assert.equal(identify.props.plan, 'pro');
    assert.equal(exposure.user_id, 'user-42');
    assert.deepEqual(exposure.experiments, { checkout_button: 'green' });

    // A track fired as the visitor leaves: delivered while unloading (keepalive) or from the
    // SDK's persisted queue on the next page; either way stored exactly once.
    await page.evaluate(() => {
      window.analytics.track('Checkout Started', { step: 1 }, { messageId: 'web-std-unload' });
      setTimeout(() => { location.href = location.href.replace('/shop.html', '/next.html'); }, 0);
    });
    const unload = await waitStored(server, 'web-std-unload', 'the event sent during unload');
    assert.equal(unload.anonymous_id, anonymousId);
    assert.equal(unload.session_id, pageView.session_id);
    await page.waitForURL(/next\.html/);
    await page.evaluate(() => window.ready);
    const all = await journeyOf(server, pageView);
    assert.equal(all.filter((e) => e.event === 'Checkout Started').length, 1);

    await waitAggregated(server);
    assert.equal(await metric(server, 'foothold_conversion_events_total{name="product_added",kind="micro"}'), 1);
    assert.ok(await metric(server, 'foothold_http_requests_total{route="preflight",code="204"}') >= 1,
      'the cross-origin SDK requests were preflighted');
  });
});

test('analytics-next batching mode: a buffered batch is sent to /v1/b while the page unloads', async () => {
  await withSetup(async ({ server, browser, offsite, base, query }) => {
    const { page } = await openPage(browser, offsite);
    await page.goto(`${base}/shop.html?mode=batching&${query}`);
    await page.evaluate(() => window.ready);
    const anonymousId = await page.evaluate(async () => {
      const a = window.analytics;
      // In batching mode a call resolves once the event is in the SDK's buffer (size 50, timeout
      // 60 s): nothing is sent until the page unloads.
      await a.page('Shop', 'Product', {}, { messageId: 'web-batch-page' });
      await a.track('Product Added', { sku: 'B-1', price: 5 }, { messageId: 'web-batch-add' });
      await a.track('Order Completed', { order_id: 'o-1', revenue: 5 }, { messageId: 'web-batch-order' });
      return a.user().anonymousId();
    });
    // Nothing has been sent yet.
    await new Promise((r) => setImmediate(r));
    const sentBefore = await metric(server, 'foothold_http_requests_total{route="segment",code="200"}');
    assert.equal(sentBefore, undefined);
    // Leaving the page flushes the buffer with a keepalive request.
    await page.goto('about:blank');
    const first = await waitStored(server, 'web-batch-page', 'the batch sent during unload');
    let last = [];
    const journey = await waitUntil(async () => {
      last = await journeyOf(server, first);
      return last.length >= 3 ? last : null;
    }, { what: 'all three batched events' }).catch((e) => {
      throw new Error(`${e.message}; the journey: ${JSON.stringify(last)}`);
    });
    assert.deepEqual(journey.map((e) => e.event_id), ['web-batch-page', 'web-batch-add', 'web-batch-order']);
    for (const e of journey) {
      assert.equal(e.anonymous_id, anonymousId);
      assert.equal(e.source, 'web');
      assert.equal(e.bot, false);
    }
    assert.deepEqual(journey[2].props, { order_id: 'o-1', revenue: 5 });
    // One batch request (a browser may deliver it twice around unload; dedupe keeps one copy).
    assert.ok(await metric(server, 'foothold_http_requests_total{route="segment",code="200"}') >= 1);
    await waitAggregated(server);
    assert.equal(await metric(server, 'foothold_conversion_events_total{name="purchase",kind="macro"}'), 1);
  });
});
