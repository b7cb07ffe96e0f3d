// foothold.js logic under node's test runner: the shipped script runs in a node:vm context with
// small fakes of window, document, localStorage, sessionStorage, navigator, fetch and timers (a virtual clock), so
// sessions, batching, retries, engaged time, privacy and failure handling are checked exactly.
// The same script in a real browser: tracker-journey.test.mjs, tracker-delivery.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { repoRoot, startServer } from './harness.mjs';

const source = readFileSync(join(repoRoot, 'server', 'web', 'tracker', 'foothold.js'), 'utf8');
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

// Runs the tracker in a fresh fake page. `respond(req)` answers fetches ({status, retryAfter} or
// 'network' to reject); the result exposes what was sent and a virtual clock.
function load({ storage = new Map(), session = new Map(), attrs = {}, respond = () => ({ status: 200 }), online = true, nav = {},
  focused = true, href = 'https://shop.example/p/lamp?utm_source=mail', noFetch = false, noBeacon = false,
  brokenStorage = false, start = T0 } = {}) {
  let clock = start;
  let timers = [];
  let nextId = 1;
  const listeners = new Map();
  const fetches = [];
  const beacons = [];
  const pixels = [];
  const target = (name) => ({
    addEventListener: (type, fn) => listeners.set(`${name}:${type}`, [...(listeners.get(`${name}:${type}`) || []), fn]),
  });
  const loc = {};
  const setLoc = (url) => {
    const u = new URL(url, loc.href || href);
    Object.assign(loc, { href: u.href, search: u.search, pathname: u.pathname, host: u.host });
  };
  setLoc(href);
  const document = {
    ...target('document'),
    title: 'Lamp', referrer: 'https://search.example/', visibilityState: 'visible',
    hasFocus: () => page.focused,
    currentScript: { src: 'https://collect.example/foothold.js', getAttribute: (k) => (k.slice(5) in attrs ? attrs[k.slice(5)] : null) },
  };
  const localStorage = brokenStorage
    ? { getItem() { throw new Error('SecurityError'); }, setItem() { throw new Error('SecurityError'); } }
    : { getItem: (k) => (storage.has(k) ? storage.get(k) : null), setItem: (k, v) => storage.set(k, String(v)), removeItem: (k) => storage.delete(k) };
  const sessionStorage = { getItem: (k) => (session.has(k) ? session.get(k) : null), setItem: (k, v) => session.set(k, String(v)), removeItem: (k) => session.delete(k) };
  const navigator = {
    onLine: online,
    ...(noBeacon ? {} : { sendBeacon: (url, body) => (beacons.push({ url, body: JSON.parse(body) }), true) }),
    ...nav,
  };
  const fetch = (url, opts) => {
    const req = { url, body: JSON.parse(opts.body), keepalive: opts.keepalive, at: clock };
    fetches.push(req);
    const r = respond(req);
    if (r === 'network') return Promise.reject(new TypeError('Failed to fetch'));
    return Promise.resolve({ status: r.status, headers: { get: (h) => (h === 'Retry-After' ? r.retryAfter ?? null : null) } });
  };
  const ctx = {
    document, localStorage, sessionStorage, navigator, location: loc, URL, URLSearchParams, console,
    history: { pushState: (s, t, url) => setLoc(url), replaceState: (s, t, url) => url && setLoc(url) },
    Image: class { set src(v) { pixels.push(new URL(v)); } },
    setTimeout: (fn, ms = 0) => { timers.push({ id: nextId, at: clock + ms, fn }); return nextId++; },
    setInterval: (fn, ms) => { const t = { id: nextId, at: clock + ms, fn, every: ms }; timers.push(t); return nextId++; },
    clearTimeout: (id) => { timers = timers.filter((t) => t.id !== id); },
    ...target('window'),
  };
  if (!noFetch) ctx.fetch = fetch;
  ctx.window = ctx;
  vm.createContext(ctx);
  vm.runInContext('Date.now = () => __now();', Object.assign(ctx, { __now: () => clock }));
  const page = {
    ctx, storage, session, fetches, beacons, pixels, focused,
    get foothold() { return ctx.foothold; },
    now: () => clock,
    fire(name, type, ev = {}) { for (const fn of listeners.get(`${name}:${type}`) || []) fn({ type, ...ev }); },
    // Moves the virtual clock, running due timers in order, and lets promise callbacks settle.
    async advance(ms) {
      const end = clock + ms;
      for (;;) {
        await new Promise((r) => setImmediate(r));
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        clock = Math.max(clock, due.at);
        if (due.every) due.at += due.every; else timers = timers.filter((t) => t !== due);
        due.fn();
      }
      clock = end;
      await new Promise((r) => setImmediate(r));
    },
    events: () => fetches.flatMap((f) => f.body.batch),
    queue: () => JSON.parse(storage.get('fh_q') || '[]'),
  };
  vm.runInContext(source, ctx);
  return page;
}

test('the script is at most 3 KB gzipped, and the server sends exactly these bytes', async () => {
  const gz = zlib.gzipSync(Buffer.from(source), { level: 9 }).length;
  console.log(`foothold.js: ${Buffer.byteLength(source)} bytes, ${gz} bytes gzipped (budget 3072)`);
  assert.ok(gz <= 3072, `${gz} bytes gzipped`);
  const server = await startServer();
  try {
    const r = await fetch(`${server.url}/foothold.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.ok((await r.text()) === source, 'the served script is the file in the repository');  // fetch decodes gzip
  } finally {
    await server.stop();
  }
});

test('a page view on load (sent at once) with url, referrer, title, utm_* and identity; sid and sent_at', async () => {
  const p = load();
  await p.advance(0);
  assert.equal(p.fetches.length, 1);
  const [req] = p.fetches;
  const [e] = req.body.batch;
  assert.equal(e.event, 'page_view');
  assert.equal(e.url, 'https://shop.example/p/lamp?utm_source=mail');
  assert.equal(e.referrer, 'https://search.example/');
  assert.equal(e.title, 'Lamp');
  assert.deepEqual(e.props, { utm_source: 'mail' });
  assert.equal(e.ts, T0);
  assert.equal(req.body.sent_at, T0);
  // Later events wait up to a second to share a request.
  p.foothold.track('one');
  p.foothold.track('two');
  await p.advance(999);
  assert.equal(p.fetches.length, 1);
  await p.advance(1);
  assert.deepEqual(p.fetches[1].body.batch.map((x) => x.event), ['one', 'two']);
  assert.equal(req.url, `https://collect.example/v1/collect?sid=${e.session_id}`);
  assert.equal(req.keepalive, true);
  assert.equal(e.anonymous_id, p.storage.get('fh_a'));
  assert.match(e.event_id, /^[0-9a-z]{12,}$/);
  // Ten queued events go at once, without waiting for the timer.
  for (let i = 0; i < 10; i++) p.foothold.track('tap', { i });
  await p.advance(0);
  assert.equal(p.fetches.length, 3);
  assert.equal(p.fetches[2].body.batch.length, 10);
  assert.equal(new Set(p.events().map((x) => x.event_id)).size, 13);
});

test('sessions rotate after more than 30 minutes without events, the server rule', async () => {
  const storage = new Map();
  const p = load({ storage, focused: false });
  await p.advance(1000);
  const first = p.events()[0].session_id;
  await p.advance(30 * 60 * 1000 - 1000);  // exactly 30 minutes after the last event: same session
  p.foothold.track('a');
  await p.advance(30 * 60 * 1000 + 1);  // one millisecond more than 30 minutes: a new one
  p.foothold.track('b');
  await p.advance(1000);
  const [, a, b] = p.events();
  assert.equal(a.session_id, first);
  assert.notEqual(b.session_id, first);
  // Another tab (or a reload) of the same visitor joins the current session.
  const q = load({ storage, focused: false, start: p.now() });
  await q.advance(1000);
  assert.equal(q.events()[0].session_id, b.session_id);
  assert.equal(q.events()[0].anonymous_id, a.anonymous_id);
});

test('503 and 429 are retried no sooner than Retry-After; network errors back off; the same event_ids are resent', async () => {
  let answers = [{ status: 503, retryAfter: '7' }, { status: 429, retryAfter: '2' }, 'network', 'network', { status: 200 }];
  const p = load({ respond: () => answers.shift() || { status: 200 }, focused: false });
  await p.advance(60000);
  const at = p.fetches.map((f) => f.at - T0);
  assert.deepEqual(at, [0, 7000, 9000, 13000, 21000]);  // Retry-After 7 s, 2 s, then backoff 4 s, 8 s
  assert.ok(p.fetches.every((f) => f.body.batch[0].event_id === p.fetches[0].body.batch[0].event_id));
  assert.deepEqual(p.queue(), []);
  // A 400 is not retried (the event can never be accepted); it leaves the queue.
  answers = [{ status: 400 }];
  p.foothold.track('bad');
  await p.advance(60000);
  assert.equal(p.fetches.length, 6);
  assert.deepEqual(p.queue(), []);
  // Backoff is capped at a minute.
  answers = Array(12).fill('network');
  p.foothold.track('later');
  await p.advance(10 * 60000);
  const gaps = p.fetches.slice(6).map((f, i, a) => (i ? f.at - a[i - 1].at : 0));
  assert.equal(Math.max(...gaps), 60000);
});

test('the queue is bounded (200 events), survives a reload and is delivered then', async () => {
  const storage = new Map();
  const p = load({ storage, respond: () => 'network', focused: false });
  for (let i = 0; i < 250; i++) p.foothold.track('e', { i });  // after the page view: 251 events
  await p.advance(1000);
  const q = p.queue();
  assert.equal(q.length, 200);
  assert.equal(q[0].props.i, 50);  // the oldest (the page view, e 0..49) are dropped first
  const r = load({ storage, focused: false, start: p.now() });
  await r.advance(10000);
  const delivered = r.events().filter((e) => e.event === 'e').map((e) => e.props.i);
  // The reloaded page's own page view joins the full queue and pushes out the oldest (e 50).
  assert.deepEqual(delivered, Array.from({ length: 199 }, (_, i) => i + 51));
  assert.deepEqual(r.queue(), []);
});

test('offline: nothing is sent until the browser is online again', async () => {
  const p = load({ online: false });
  p.foothold.track('x');
  await p.advance(5000);
  assert.equal(p.fetches.length, 0);
  p.ctx.navigator.onLine = true;
  p.fire('window', 'online');
  await p.advance(0);
  assert.deepEqual(p.events().map((e) => e.event), ['page_view', 'x']);
});

test('page hide sends the queue by sendBeacon; without fetch and beacon the pixel carries each event', async () => {
  const p = load();
  await p.advance(0);
  p.foothold.track('wishlist_add', { sku: 'lamp' });
  p.fire('window', 'pagehide');
  assert.equal(p.fetches.length, 1);  // the page view, at load
  assert.equal(p.beacons.length, 1);
  assert.deepEqual(p.beacons[0].body.batch.map((e) => e.event), ['wishlist_add']);
  assert.match(p.beacons[0].url, /\?sid=/);
  assert.deepEqual(p.queue(), []);

  const old = load({ noFetch: true, noBeacon: true });
  old.foothold.expose('video_autoplay', 'autoplay');
  old.foothold.track('wishlist_add', { sku: 'lamp' });
  await old.advance(1000);
  const last = old.pixels.at(-1);
  assert.equal(last.origin + last.pathname, 'https://collect.example/v1/collect');
  const q = Object.fromEntries(last.searchParams);
  assert.equal(q.e, 'wishlist_add');
  assert.equal(q['p.sku'], 'lamp');
  assert.equal(q['x.video_autoplay'], 'autoplay');
  for (const k of ['sid', 'aid', 'eid', 'ts', 'u']) assert.ok(q[k], k);
});

test('engaged time counts only visible, focused time within 30 s of input, sent every 15 s and on hide', async () => {
  const p = load({ href: 'https://shop.example/p/lamp' });
  for (let i = 0; i < 4; i++) {  // one minute with input every 15 s
    p.fire('window', 'mousemove');
    await p.advance(15000);
  }
  await p.advance(1000);  // the last heartbeat's batch timer
  const beats = () => p.events().filter((e) => e.event === 'engagement').map((e) => e.engaged_ms);
  assert.deepEqual(beats(), [15000, 15000, 15000, 15000]);
  // Two idle minutes: time counts until 30 s after the last input (at 45 s), so 15 s more, then nothing.
  await p.advance(120000);
  assert.deepEqual(beats().slice(4), [15000]);
  p.fire('window', 'keydown');
  await p.advance(5000);
  p.focused = false;  // the window loses focus: no more time counts
  p.fire('window', 'blur');
  await p.advance(60000);
  assert.deepEqual(beats().slice(5), [5000]);
  // Focus again, three seconds, then the tab is hidden: the last engaged time goes by beacon.
  p.focused = true;
  p.fire('window', 'focus');
  await p.advance(3000);
  p.ctx.document.visibilityState = 'hidden';
  p.fire('document', 'visibilitychange');
  const beacon = p.beacons.at(-1).body.batch;
  assert.deepEqual(beacon.map((x) => [x.event, x.engaged_ms]), [['engagement', 3000]]);
  const e = p.events().find((x) => x.event === 'engagement');
  assert.equal(e.url, 'https://shop.example/p/lamp');
});

test('SPA navigation: pushState and popstate are page views with the previous url as referrer', async () => {
  const p = load({ href: 'https://shop.example/', focused: false });
  p.ctx.history.pushState(null, '', '/p/lamp?q=warm');
  await p.advance(1000);
  p.ctx.history.replaceState(null, '', '/p/lamp?q=warm#reviews');  // only the fragment: no page view
  p.ctx.history.pushState(null, '', '/cart');
  p.fire('window', 'popstate');  // popstate at the same url: nothing new
  await p.advance(1000);
  const views = p.events().filter((e) => e.event === 'page_view');
  assert.deepEqual(views.map((e) => e.url), ['https://shop.example/', 'https://shop.example/p/lamp?q=warm', 'https://shop.example/cart']);
  assert.equal(views[1].referrer, 'https://shop.example/');
  assert.deepEqual(p.events().find((e) => e.event === 'site_search').props, { query: 'warm' });
});

test('identify and expose are stored and attached to later events', async () => {
  const storage = new Map();
  const p = load({ storage, focused: false });
  p.foothold.identify('user-7');
  p.foothold.expose('video_autoplay', 'control');
  p.foothold.track('add_to_cart');
  await p.advance(1000);
  const e = p.events().at(-1);
  assert.equal(e.user_id, 'user-7');
  assert.deepEqual(e.experiments, { video_autoplay: 'control' });
  assert.deepEqual(p.events().find((x) => x.event === 'experiment_exposure').props, { experiment: 'video_autoplay', variant: 'control' });
  const again = load({ storage, focused: false, start: p.now() });
  await again.advance(1000);
  assert.equal(again.events()[0].user_id, 'user-7');
  assert.deepEqual(again.events()[0].experiments, { video_autoplay: 'control' });
});

test('Global Privacy Control and Do Not Track are honoured when data-respect-dnt is set', async () => {
  for (const nav of [{ globalPrivacyControl: true }, { doNotTrack: '1' }]) {
    const off = load({ attrs: { 'respect-dnt': '' }, nav });
    off.foothold.track('x');
    await off.advance(5000);
    assert.equal(off.fetches.length + off.beacons.length + off.pixels.length, 0);
    assert.equal(off.storage.size, 0, 'nothing stored in the browser either');
  }
  const on = load({ nav: { globalPrivacyControl: true } });  // not opted in: tracked
  await on.advance(1000);
  assert.equal(on.fetches.length, 1);
});

test('never throws into the page: blocked storage, odd arguments, a throwing network', async () => {
  const p = load({ brokenStorage: true, respond: () => { throw new Error('boom'); } });
  const circular = {};
  circular.self = circular;
  assert.doesNotThrow(() => {
    p.foothold.track();
    p.foothold.track('c', circular);
    p.foothold.track('ok', { n: 1 });
    p.foothold.identify(null);
    p.foothold.expose();
    p.fire('document', 'click', { target: {} });
    p.fire('document', 'submit', { target: {} });
    p.fire('document', 'play', { target: {} });
  });
  await p.advance(1000);
  // Storage blocked: ids live in memory and events still go out.
  const q = load({ brokenStorage: true, focused: false });
  q.foothold.track('ok');
  await q.advance(1000);
  assert.deepEqual(q.events().map((e) => e.event), ['page_view', 'ok']);
  assert.ok(q.events()[1].session_id && q.events()[1].anonymous_id);
});

test('data-api points the tracker at a first-party collect alias; data-search-param names the query key', async () => {
  const p = load({ attrs: { api: '/e', 'search-param': 'term' }, href: 'https://shop.example/find?term=lamp', focused: false });
  await p.advance(1000);
  assert.match(p.fetches[0].url, /^https:\/\/collect\.example\/e\?sid=/);
  assert.deepEqual(p.events().find((e) => e.event === 'site_search').props, { query: 'lamp' });
});

// README "Privacy": consent and cookieless mode.
const sentCount = (p) => p.fetches.length + p.beacons.length + p.pixels.length;

test('consent(false) forgets the visitor in the browser and sends nothing until consent(true)', async () => {
  const p = load({ focused: false });
  p.foothold.identify('user-7');
  p.foothold.expose('video_autoplay', 'control');
  await p.advance(1000);
  const before = sentCount(p);
  const oldAid = p.storage.get('fh_a');
  assert.ok(oldAid && p.storage.has('fh_u') && p.storage.has('fh_x'));
  p.foothold.track('queued_before_withdrawal');  // not yet sent: withdrawn consent drops it too
  p.foothold.consent(false);
  assert.deepEqual([...p.storage.keys()], [], 'nothing left in localStorage');
  p.foothold.track('add_to_cart', { sku: 'lamp' });
  p.foothold.page();
  p.foothold.identify('user-8');
  p.foothold.expose('x', 'y');
  p.ctx.history.pushState(null, '', '/cart');
  p.fire('window', 'mousemove');
  await p.advance(60000);  // heartbeats, batch timers
  p.fire('window', 'pagehide');
  p.ctx.document.visibilityState = 'hidden';
  p.fire('document', 'visibilitychange');
  assert.equal(sentCount(p), before, 'nothing on the wire');
  assert.deepEqual([...p.storage.keys()], [], 'nothing stored while withdrawn');
  assert.ok(!p.events().some((e) => e.event === 'queued_before_withdrawal' || e.event === 'add_to_cart'));
  // Consent given again: a fresh visitor (new anonymous id, no user id, no exposures) and a page view.
  p.ctx.document.visibilityState = 'visible';
  p.foothold.consent(true);
  await p.advance(1000);
  const after = p.events().slice(-1)[0];
  assert.equal(after.event, 'page_view');
  assert.equal(after.url, 'https://shop.example/cart');
  assert.notEqual(after.anonymous_id, oldAid);
  assert.equal(after.anonymous_id, p.storage.get('fh_a'));
  assert.equal(after.user_id, undefined);
  assert.equal(after.experiments, undefined);
});

test('data-require-consent: nothing stored or sent before consent(true), then the page view', async () => {
  const storage = new Map();
  const p = load({ storage, attrs: { 'require-consent': '' } });
  p.foothold.track('early');
  p.fire('window', 'mousemove');
  await p.advance(60000);
  p.fire('window', 'pagehide');
  assert.equal(sentCount(p), 0);
  assert.equal(storage.size, 0);
  assert.equal(p.session.size, 0);
  p.foothold.consent(true);
  await p.advance(1000);
  assert.deepEqual(p.events().map((e) => e.event), ['page_view']);
  assert.equal(p.events()[0].referrer, 'https://search.example/');
  assert.equal(p.events()[0].anonymous_id, storage.get('fh_a'));
  p.foothold.consent(true);  // again: no second page view
  await p.advance(1000);
  assert.equal(p.events().length, 1);
  // The next page load (the attribute again) sends nothing until the site calls consent(true) again:
  // remembering a visitor's choice is the site's consent manager's job, not the tracker's.
  const q = load({ storage, attrs: { 'require-consent': '' }, start: p.now() });
  await q.advance(5000);
  assert.equal(sentCount(q), 0);
});

test('Do Not Track wins over consent(true) when data-respect-dnt is set', async () => {
  const p = load({ attrs: { 'respect-dnt': '' }, nav: { doNotTrack: '1' } });
  p.foothold.consent(true);
  p.foothold.track('x');
  await p.advance(5000);
  assert.equal(sentCount(p), 0);
  assert.equal(p.storage.size, 0);
});

test('data-cookieless: the ids live in sessionStorage only; localStorage stays empty', async () => {
  const session = new Map();
  const p = load({ session, attrs: { cookieless: '' }, focused: false });
  p.foothold.track('x');
  await p.advance(1000);
  assert.deepEqual(p.events().map((e) => e.event), ['page_view', 'x']);
  assert.equal(p.storage.size, 0);
  assert.equal(p.events()[0].anonymous_id, session.get('fh_a'));
  assert.ok(session.has('fh_s'));
  // Another page of the same tab (same sessionStorage) keeps the visitor; a new tab is a new one.
  const same = load({ session, attrs: { cookieless: '' }, focused: false, start: p.now() });
  await same.advance(1000);
  assert.equal(same.events()[0].anonymous_id, p.events()[0].anonymous_id);
  assert.equal(same.events()[0].session_id, p.events()[0].session_id);
  const other = load({ attrs: { cookieless: '' }, focused: false, start: p.now() });
  await other.advance(1000);
  assert.notEqual(other.events()[0].anonymous_id, p.events()[0].anonymous_id);
});
