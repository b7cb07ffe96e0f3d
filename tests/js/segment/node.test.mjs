// The real @segment/analytics-node SDK pointed at foothold with its `host` option: track, page,
// identify and flush are stored once each with the sender's identity, time and properties; a
// server source is not a bot although the SDK's User-Agent is a library's; a 503 answered after
// the store took the batch is retried by the SDK and still stored once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Analytics } from '@segment/analytics-node';
import { DESKTOP_UA } from '../harness.mjs';
import {
  SERVER_KEY, startSegmentServer, storedEvent, journeyOf, metric, waitAggregated,
} from './util.mjs';

function client(host, extra = {}) {
  return new Analytics({ writeKey: SERVER_KEY, host, flushAt: 20, flushInterval: 60000, maxRetries: 3, ...extra });
}

test('analytics-node: track, page, identify, flush are stored once with identity, time and props', async () => {
  const server = await startSegmentServer();
  try {
    const analytics = client(server.url);
    const t0 = Date.now() - 10 * 60 * 1000;  // a backend reporting events from ten minutes ago
    const userId = `user-${process.pid}`;
    analytics.track({
      userId,
      event: 'Product Added',
      messageId: 'node-track-1',
      timestamp: new Date(t0),
      properties: { sku: 'G-32', price: 18.99, products: [{ product_id: 'p1', quantity: 2 }], shipping: { method: 'ground' } },
      context: { ip: '198.51.100.23', userAgent: DESKTOP_UA, page: { url: 'https://shop.example/p/32' } },
    });
    analytics.page({ userId, name: 'Checkout', messageId: 'node-page-1', timestamp: new Date(t0 + 1000),
      properties: { url: 'https://shop.example/checkout', title: 'Checkout' } });
    analytics.identify({ userId, messageId: 'node-identify-1', timestamp: new Date(t0 + 2000),
      traits: { plan: 'pro', email: 'buyer@example.com', address: { city: 'Lyon' } } });
    analytics.track({ userId, event: 'Order Completed', messageId: 'node-track-2', timestamp: new Date(t0 + 3000),
      properties: { order_id: 'o-77', revenue: 37.98 } });
    await analytics.closeAndFlush({ timeout: 15000 });

    const track = await storedEvent(server, 'node-track-1');
    assert.ok(track, 'the track call is stored');
    assert.equal(track.event, 'Product Added');
    assert.equal(track.user_id, userId);
    assert.equal(track.source, 'backend');
    assert.equal(track.event_time, t0);  // a server library's explicit timestamp is kept
    assert.equal(track.ip, '198.51.100.0');  // context.ip, truncated
    assert.equal(track.user_agent, DESKTOP_UA);  // context.userAgent, not the SDK's
    assert.equal(track.bot, false);
    assert.equal(track.url, 'https://shop.example/p/32');
    assert.deepEqual(track.props, {
      sku: 'G-32', price: 18.99, products: '[{"product_id":"p1","quantity":2}]', 'shipping.method': 'ground',
    });

    const journey = await journeyOf(server, track);
    assert.deepEqual(journey.map((e) => [e.event, e.event_id, e.event_time]), [
      ['Product Added', 'node-track-1', t0],
      ['page_view', 'node-page-1', t0 + 1000],
      ['identify', 'node-identify-1', t0 + 2000],
      ['Order Completed', 'node-track-2', t0 + 3000],
    ]);
    const [, page, identify, order] = journey;
    assert.equal(page.url, 'https://shop.example/checkout');
    assert.equal(page.title, 'Checkout');
    assert.equal(page.props.name, 'Checkout');
    assert.equal(identify.props['address.city'], 'Lyon');
    assert.equal(identify.props.plan, 'pro');
    // No end-user User-Agent on these: a backend's events, never bots by the SDK's own.
    for (const e of [page, identify, order]) {
      assert.equal(e.bot, false);
      assert.equal(e.source, 'backend');
    }

    // Server-side events count in the analytics like browser ones.
    await waitAggregated(server);
    assert.equal(await metric(server, 'foothold_conversion_events_total{name="product_added",kind="micro"}'), 1);
    assert.equal(await metric(server, 'foothold_conversion_events_total{name="purchase",kind="macro"}'), 1);
    assert.equal(await metric(server, 'foothold_events_total{outcome="accepted"}'), 4);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('analytics-node: an unknown write key is refused with 401 and not retried', async () => {
  const server = await startSegmentServer();
  try {
    const analytics = new Analytics({ writeKey: 'sk_wrong', host: server.url, flushAt: 1, maxRetries: 3 });
    const errors = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ userId: 'u', event: 'Signed Up', messageId: 'node-401' });
    await analytics.closeAndFlush({ timeout: 10000 });
    assert.equal(errors.length, 1);
    assert.match(String(errors[0].reason), /401/);
    assert.equal(await storedEvent(server, 'node-401'), null);
    assert.equal(await metric(server, 'foothold_rejections_total{code="write_key_invalid"}'), 1);
    assert.equal(await metric(server, 'foothold_http_requests_total{route="segment",code="401"}'), 1);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('analytics-node: a 503 after the store took the batch is retried and stored once', async () => {
  const server = await startSegmentServer();
  // A load balancer in front of foothold that loses the first answer: the batch reaches the
  // store, the SDK sees a 503 with Retry-After and sends the same batch again.
  const seen = [];
  const lb = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const upstream = await fetch(`${server.url}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))),
        body: Buffer.concat(chunks),
      });
      const text = await upstream.text();
      seen.push({ retry: req.headers['x-retry-count'], status: upstream.status, body: JSON.parse(text) });
      if (seen.length === 1) {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        res.end('{"error":{"code":"upstream_timeout","message":"lost answer"}}');
      } else {
        res.writeHead(upstream.status, { 'Content-Type': 'application/json' });
        res.end(text);
      }
    });
  });
  await new Promise((r) => lb.listen(0, '127.0.0.1', r));
  try {
    const analytics = client(`http://127.0.0.1:${lb.address().port}`);
    const errors = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ userId: 'retry-user', event: 'Product Added', messageId: 'node-retry-1', properties: { sku: 'r' } });
    analytics.track({ userId: 'retry-user', event: 'Order Completed', messageId: 'node-retry-2' });
    await analytics.closeAndFlush({ timeout: 20000 });
    assert.deepEqual(errors, []);
    assert.equal(seen.length, 2);
    assert.equal(seen[0].retry, undefined);
    assert.equal(seen[1].retry, '1');  // the SDK numbers its retries
    assert.deepEqual(seen[0].body, { success: true, accepted: 2, duplicates: 0, rejected: [] });
    assert.deepEqual(seen[1].body, { success: true, accepted: 0, duplicates: 2, rejected: [] });
    const first = await storedEvent(server, 'node-retry-1');
    const journey = await journeyOf(server, first);
    assert.deepEqual(journey.map((e) => e.event_id), ['node-retry-1', 'node-retry-2']);
    await waitAggregated(server);
    assert.equal(await metric(server, 'foothold_conversion_events_total{name="product_added",kind="micro"}'), 1);
  } finally {
    lb.close();
    assert.equal((await server.stop()).code, 0);
  }
});
