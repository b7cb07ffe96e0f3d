// Consent and cookieless mode of foothold.js in a real browser (Debian chromium via playwright-core)
// against the real binary: README "Privacy" is the contract. A page of the server's origin (served
// by a route) loads the real /foothold.js with the attributes under test; every collect request the
// browser sends is recorded with the phase it was sent in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchChromium, readSession, waitUntil, DESKTOP_UA } from './harness.mjs';

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (server) assert.equal((await server.stop()).code, 0, server.log());
});

// A context whose /site.html carries the tracker tag with `attrs`; `phase.now` labels each request.
async function site(attrs) {
  const context = await browser.newContext({ userAgent: DESKTOP_UA });
  await context.route((u) => u.origin === server.url && /^\/site\d*\.html$/.test(u.pathname), (r) => r.fulfill({
    status: 200,
    contentType: 'text/html',
    body: `<!doctype html><title>Lamp</title><h1>Lamp</h1><script src="/foothold.js" ${attrs}></script>`,
  }));
  const phase = { now: 'start' };
  const sent = [];
  context.on('request', (r) => {
    if (r.url().includes('/v1/collect')) sent.push({ phase: phase.now, body: r.postData() || r.url() });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  return { context, page, sent, phase, errors };
}

const storageOf = (page) => page.evaluate(() => ({
  local: Object.keys(localStorage).filter((k) => k.startsWith('fh_')),
  session: Object.keys(sessionStorage).filter((k) => k.startsWith('fh_')),
}));

// Waits until `name` is stored in session `sid`; returns the session.
const stored = (sid, name) => waitUntil(async () => {
  const s = await readSession(server, sid);
  return s && s.events.some((e) => e.event === name) ? s : null;
}, { timeoutMs: 15000, what: `${name} stored in ${sid}` });

test('data-require-consent: nothing stored or sent before consent(true); then the visit is tracked', async () => {
  const { context, page, sent, phase, errors } = await site('data-require-consent');
  await page.goto(`${server.url}/site.html?q=lamp`);
  await page.waitForFunction(() => window.foothold && window.foothold.consent);
  await page.evaluate(() => { foothold.track('before_consent'); window.dispatchEvent(new Event('pagehide')); });
  assert.deepEqual(await storageOf(page), { local: [], session: [] });
  phase.now = 'consented';
  await page.evaluate(() => foothold.consent(true));
  const sid = await page.evaluate(() => JSON.parse(localStorage.getItem('fh_s')).i);
  await page.evaluate(() => foothold.track('after_consent'));
  const s = await stored(sid, 'after_consent');
  assert.deepEqual(s.events.map((e) => e.event).sort(), ['after_consent', 'page_view', 'site_search']);
  assert.deepEqual(sent.filter((r) => r.phase === 'start'), [], 'nothing on the wire before consent');
  assert.ok((await storageOf(page)).local.includes('fh_a'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('consent(false) empties localStorage and stops sending, beacons on pagehide included', async () => {
  const { context, page, sent, phase, errors } = await site('');
  await page.goto(`${server.url}/site.html`);
  await page.waitForFunction(() => window.foothold && localStorage.getItem('fh_s'));
  const first = await page.evaluate(() => ({ sid: JSON.parse(localStorage.getItem('fh_s')).i, aid: localStorage.getItem('fh_a') }));
  await stored(first.sid, 'page_view');
  phase.now = 'withdrawn';
  await page.evaluate(() => {
    foothold.identify('user-7');
    foothold.track('queued_then_withdrawn');
    foothold.consent(false);
    foothold.track('while_withdrawn');
    history.pushState(null, '', '/site2.html');
    window.dispatchEvent(new Event('pagehide'));
  });
  assert.deepEqual(await storageOf(page), { local: [], session: [] });
  // Consent again: a fresh visitor, whose marker event proves the browser sent what it had.
  phase.now = 'consented';
  await page.evaluate(() => { foothold.consent(true); foothold.track('marker'); });
  const second = await page.evaluate(() => ({ sid: JSON.parse(localStorage.getItem('fh_s')).i, aid: localStorage.getItem('fh_a') }));
  assert.notEqual(second.aid, first.aid);
  const s = await stored(second.sid, 'marker');
  assert.deepEqual(sent.filter((r) => r.phase === 'withdrawn'), [], 'nothing on the wire while withdrawn');
  const one = await readSession(server, first.sid);
  for (const e of [...one.events, ...s.events]) {
    assert.ok(!['queued_then_withdrawn', 'while_withdrawn'].includes(e.event), e.event);
    assert.equal(e.user_id, undefined);
  }
  assert.ok(s.events.every((e) => e.anonymous_id === second.aid));
  assert.deepEqual(errors, []);
  await context.close();
});

test('data-cookieless: ids only in this tab\'s sessionStorage; a new tab is a new visitor', async () => {
  const { context, page, errors } = await site('data-cookieless');
  await page.goto(`${server.url}/site.html`);
  await page.waitForFunction(() => window.foothold && sessionStorage.getItem('fh_s'));
  assert.deepEqual((await storageOf(page)).local, []);
  const one = await page.evaluate(() => ({ sid: JSON.parse(sessionStorage.getItem('fh_s')).i, aid: sessionStorage.getItem('fh_a') }));
  const s = await stored(one.sid, 'page_view');
  assert.equal(s.events[0].anonymous_id, one.aid);
  // A reload keeps the tab's visitor; another tab of the same browser gets a new one.
  await page.reload();
  await page.waitForFunction(() => window.foothold);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('fh_a')), one.aid);
  const tab = await context.newPage();
  await tab.goto(`${server.url}/site.html`);
  await tab.waitForFunction(() => window.foothold && sessionStorage.getItem('fh_a'));
  assert.notEqual(await tab.evaluate(() => sessionStorage.getItem('fh_a')), one.aid);
  assert.deepEqual((await storageOf(tab)).local, []);
  assert.deepEqual(errors, []);
  await context.close();
});
