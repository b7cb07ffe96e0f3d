// The JS harness itself: the real binary starts on port 0, stores a beacon and reads it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, readSession, DESKTOP_UA } from './harness.mjs';

test('harness starts the real binary and reads a stored event back', async () => {
  const server = await startServer();
  try {
    const r = await fetch(`${server.url}/v1/collect`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'User-Agent': DESKTOP_UA },
      body: JSON.stringify({ event: 'page_view', session_id: 'js-harness-1', url: 'https://shop.example/' }),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { accepted: 1, duplicates: 0, rejected: [] });
    const s = await readSession(server, 'js-harness-1');
    assert.equal(s.events.length, 1);
    assert.equal(s.events[0].event, 'page_view');
    assert.equal(s.events[0].bot, false);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});
