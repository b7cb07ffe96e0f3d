// foothold.js in a real browser (Debian chromium via playwright-core) against the real binary: a
// shopper walks the demo shop and every capture is read back from GET /v1/sessions/{id}; then the
// summary and funnel reports show the walk. README "Browser tracker" is the contract.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchChromium, readSession, waitUntil, DESKTOP_UA, repoRoot } from './harness.mjs';

let server, browser;

before(async () => {
  server = await startServer({
    args: ['--config', join(repoRoot, 'config', 'foothold.toml')],
    // A short session timeout closes the walked session soon after its last event, so the
    // funnel report (closed sessions only) shows it within the test.
    env: { FOOTHOLD_DEMO__ENABLED: 'true', FOOTHOLD_SESSION__TIMEOUT: '15s' },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (server) assert.equal((await server.stop()).code, 0, server.log());
});

// A fresh desktop context whose collect requests are recorded (url and parsed body).
async function shopper() {
  const context = await browser.newContext({ userAgent: DESKTOP_UA, viewport: { width: 1100, height: 760 } });
  // The outbound link of the demo leaves for example.org: answer it locally, never the network.
  await context.route('https://example.org/**', (r) => r.fulfill({ status: 200, body: 'reviews', contentType: 'text/html' }));
  const page = await context.newPage();
  const sent = [];
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  context.on('request', (r) => {
    if (r.url().includes('/v1/collect')) sent.push({ url: r.url(), method: r.method(), body: r.postData() });
  });
  return { context, page, sent, errors };
}

const sessionOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('fh_s')).i);

// Waits until the session holds every name of `names` (`views` page views at least).
// The deadline is generous (a loaded CI machine runs the container test beside it); on a timeout
// the error says what was stored and what was missing.
async function journey(sid, names, what, views = 0) {
  let have = [];
  try {
    return await waitUntil(
      async () => {
        const s = await readSession(server, sid);
        if (!s) return null;
        have = s.events.map((e) => e.event);
        const enough = have.filter((n) => n === 'page_view').length >= views;
        return enough && names.every((n) => have.includes(n)) ? s : null;
      },
      { timeoutMs: 90000, what },
    );
  } catch (e) {
    const missing = names.filter((n) => !have.includes(n));
    const pageViews = have.filter((n) => n === 'page_view').length;
    throw new Error(`${e.message}: stored [${have.join(', ')}]; missing [${missing.join(', ')}]; ` +
      `${pageViews} of ${views} page views\n${server.log().slice(-2000)}`);
  }
}

test('a walk through the demo shop stores every automatic and declarative capture', async () => {
  const { context, page, sent, errors } = await shopper();
  await page.goto(`${server.url}/demo/?utm_source=newsletter&utm_campaign=spring`);
  await page.waitForFunction(() => window.foothold && localStorage.getItem('fh_s'));
  const sid = await sessionOf(page);
  // The demo draws the video_autoplay variant at random; this shopper is in the control group.
  await page.evaluate(() => localStorage.setItem('demo_variant', 'control'));

  await page.fill('#newsletter input', 'ada@example.com');
  await page.click('#newsletter button');
  await page.fill('#account input', 'Ada');
  await page.click('#account button');
  // Site search: the demo's search form navigates (SPA) to /demo/search?q=lamp.
  await page.fill('header input[name=q]', 'lamp');
  await page.press('header input[name=q]', 'Enter');
  await page.waitForURL('**/demo/search?q=lamp');
  // An SPA navigation to a product page (pushState).
  await page.click('section[data-route=search] a[href="/p/desk-lamp"]');
  await page.waitForURL('**/p/desk-lamp');
  await page.evaluate(() => { document.getElementById('demo-video').play().catch(() => {}); });
  await page.click('#wishlist');
  await page.click('#share');
  const pdf = page.waitForEvent('download');
  await page.click('#manual');
  assert.equal((await pdf).suggestedFilename(), 'manual.pdf');
  const outbound = context.waitForEvent('page');
  await page.click('#reviews');
  await (await outbound).close();
  mkdirSync(join(repoRoot, 'tests', 'js', 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(repoRoot, 'tests', 'js', 'screenshots', 'demo-shop.png') });
  await page.click('#add-to-cart');
  await page.click('header a[href="/demo/cart"]');
  await page.click('#checkout');
  await page.waitForURL('**/demo/checkout');
  await page.click('#pay button');
  await page.waitForURL('**/demo/thanks');
  // The browser goes back (popstate) to checkout: a page view without pushState.
  await page.goBack();
  await page.waitForURL('**/demo/checkout');

  const wanted = ['page_view', 'newsletter_signup', 'account_created', 'site_search', 'experiment_exposure',
    'video_play', 'wishlist_add', 'social_share', 'pdf_download', 'outbound_click', 'add_to_cart',
    'begin_checkout', 'purchase'];
  const s = await journey(sid, wanted, 'the whole walk to be stored', 7);
  const byName = (n) => s.events.filter((e) => e.event === n);
  const views = byName('page_view').map((e) => new URL(e.url).pathname + new URL(e.url).search);
  assert.deepEqual(views, ['/demo/?utm_source=newsletter&utm_campaign=spring', '/demo/search?q=lamp', '/p/desk-lamp',
    '/demo/cart', '/demo/checkout', '/demo/thanks', '/demo/checkout']);
  assert.deepEqual(byName('page_view')[0].props, { utm_source: 'newsletter', utm_campaign: 'spring' });
  assert.equal(byName('page_view')[2].referrer, `${server.url}/demo/search?q=lamp`);
  assert.equal(byName('page_view')[2].title, 'product · Foothold demo shop');
  assert.deepEqual(byName('site_search')[0].props, { query: 'lamp' });
  assert.deepEqual(byName('newsletter_signup')[0].props, { placement: 'home' });
  assert.deepEqual(byName('video_play')[0].props, { video_kind: 'demo' });
  assert.deepEqual(byName('wishlist_add')[0].props, { sku: 'desk-lamp' });
  assert.deepEqual(byName('social_share')[0].props, { network: 'copy_link' });
  assert.deepEqual(byName('pdf_download')[0].props, { url: `${server.url}/demo/manual.pdf` });
  assert.deepEqual(byName('outbound_click')[0].props, { url: 'https://example.org/reviews/desk-lamp' });
  assert.deepEqual(byName('purchase')[0].props, { currency: 'EUR' });
  const variant = byName('experiment_exposure')[0].props.variant;
  assert.equal(variant, 'control');
  // The exposure is attached to every later event.
  assert.deepEqual(byName('purchase')[0].experiments, { video_autoplay: variant });
  for (const e of s.events) {
    assert.equal(e.session_id, sid);
    assert.equal(e.bot, false, 'a desktop User-Agent is not a bot');
    assert.match(e.anonymous_id, /^[0-9a-z]{8,}$/);
    assert.equal(e.user_agent, DESKTOP_UA);
  }
  assert.equal(new Set(s.events.map((e) => e.event_id)).size, s.events.length, 'no event stored twice');

  // Every request carries sid in its query; every batch carries sent_at; every event an event_id.
  assert.ok(sent.length >= 3);
  for (const r of sent) {
    assert.equal(new URL(r.url).searchParams.get('sid'), sid, r.url);
    const body = JSON.parse(r.body);
    assert.equal(typeof body.sent_at, 'number');
    for (const e of body.batch) assert.match(e.event_id, /^[0-9a-z]{12,}$/);
  }
  assert.deepEqual(errors, []);
  // The shopper leaves (so engagement heartbeats stop and the session can close).
  await page.close({ runBeforeUnload: true });

  // The reports show the walk: the summary at once, the checkout funnel once the session closed.
  const summary = await waitUntil(async () => {
    const r = await (await fetch(`${server.adminUrl}/v1/stats/summary`)).json();
    const c = Object.fromEntries(r.conversions.map((x) => [x.name, x]));
    return c.purchase?.events >= 1 && c.video_play?.events >= 1 ? c : null;
  }, { timeoutMs: 15000, what: 'the summary to count the walk' });
  for (const n of ['newsletter_signup', 'account_created', 'wishlist_add', 'video_play', 'pdf_download',
    'social_share', 'site_search', 'add_to_cart', 'begin_checkout', 'purchase']) {
    assert.ok(summary[n].sessions >= 1, `${n} counted in the summary`);
  }
  const funnel = await waitUntil(async () => {
    const r = await (await fetch(`${server.adminUrl}/v1/stats/funnels/checkout`)).json();
    return r.steps?.[2]?.sessions >= 1 ? r : null;
  }, { timeoutMs: 60000, what: 'the checkout funnel to show the closed session' });
  assert.deepEqual(funnel.steps.map((x) => [x.name, x.sessions]),
    [['add_to_cart', 1], ['begin_checkout', 1], ['purchase', 1]]);
  // The A/B report: the session saw `variant` first and converted.
  const ab = await (await fetch(`${server.adminUrl}/v1/stats/experiments/video_autoplay`)).json();
  const row = ab.variants.find((v) => v.variant === variant);
  assert.deepEqual([row.exposed, row.converted], [1, 1]);
  await context.close();
});

test('three minutes of engaged time on a product page count product_dwell_3m (page clock)', async () => {
  const { context, page, sent } = await shopper();
  await page.clock.install();
  await page.goto(`${server.url}/p/floor-lamp`);
  await page.waitForFunction(() => window.foothold && localStorage.getItem('fh_s'));
  const sid = await sessionOf(page);
  // 13 × 15 s = 195 s of simulated time, with input every 15 s (gaps under the 30 s idle cap).
  for (let i = 0; i < 13; i++) {
    await page.mouse.move(100 + i * 10, 200 + (i % 2) * 20);
    await page.clock.runFor(15000);
  }
  await page.clock.runFor(2000);  // the heartbeat's batch timer
  const s = await waitUntil(async () => {
    const j = await readSession(server, sid);
    const ms = j ? j.events.filter((e) => e.event === 'engagement').reduce((a, e) => a + e.engaged_ms, 0) : 0;
    return ms >= 180000 ? j : null;
  }, { timeoutMs: 15000, what: 'heartbeats summing 3 minutes' });
  const beats = s.events.filter((e) => e.event === 'engagement');
  const total = beats.reduce((a, e) => a + e.engaged_ms, 0);
  assert.ok(total >= 180000 && total <= 196000, `engaged ${total} ms over 195 s`);
  assert.ok(beats.every((e) => new URL(e.url).pathname === '/p/floor-lamp'));
  assert.ok(sent.length > 0);
  // The dwell conversion is counted by the aggregator.
  await waitUntil(async () => {
    const r = await (await fetch(`${server.adminUrl}/v1/stats/summary`)).json();
    return r.conversions.find((x) => x.name === 'product_dwell_3m')?.events >= 1;
  }, { timeoutMs: 15000, what: 'product_dwell_3m in the summary' });

  // Idle time is not engaged time: three more minutes without input add at most the 30 s cap.
  await page.clock.runFor(180000);
  await page.evaluate(() => window.dispatchEvent(new Event('pagehide')));
  const after = await waitUntil(async () => {
    const j = await readSession(server, sid);
    const ms = j.events.filter((e) => e.event === 'engagement').reduce((a, e) => a + e.engaged_ms, 0);
    return ms > total ? ms : null;
  }, { timeoutMs: 15000, what: 'the idle heartbeat' });
  assert.ok(after - total <= 30000, `idle minutes added ${after - total} ms`);
  await context.close();
});

test('a tab closed mid-journey still delivers its last events (sendBeacon on pagehide)', async () => {
  const { context, page } = await shopper();
  await page.goto(`${server.url}/p/desk-lamp`);
  await page.waitForFunction(() => window.foothold && localStorage.getItem('fh_s'));
  const sid = await sessionOf(page);
  // The click is queued for the next batch (1 s); closing the tab must not lose it.
  await page.click('#wishlist');
  await page.close({ runBeforeUnload: true });
  const s = await journey(sid, ['wishlist_add'], 'the last event of a closed tab');
  assert.equal(s.events.filter((e) => e.event === 'wishlist_add').length, 1);
  await context.close();
});

test('offline events are queued and delivered once when the browser is back online', async () => {
  const { context, page } = await shopper();
  await page.goto(`${server.url}/p/desk-lamp`);
  await page.waitForFunction(() => window.foothold && localStorage.getItem('fh_s'));
  const sid = await sessionOf(page);
  await journey(sid, ['page_view'], 'the first page view');
  await context.setOffline(true);
  await page.click('#wishlist');
  await page.click('#share');
  // Queued, persisted in localStorage, not sent while offline.
  await waitUntil(() => page.evaluate(() => JSON.parse(localStorage.getItem('fh_q')).length >= 2), { what: 'the queue' });
  const offline = await readSession(server, sid);
  assert.ok(!offline.events.some((e) => e.event === 'wishlist_add'));
  await context.setOffline(false);
  const s = await journey(sid, ['wishlist_add', 'social_share'], 'queued events after going online');
  await waitUntil(() => page.evaluate(() => JSON.parse(localStorage.getItem('fh_q')).length === 0), { what: 'an empty queue' });
  for (const n of ['wishlist_add', 'social_share']) assert.equal(s.events.filter((e) => e.event === n).length, 1, n);
  await context.close();
});
