// Helpers for the Segment SDK tests: a foothold started with [[source]] entries, stored events
// read back by event id (GET /v1/events/{id}) and by session, and the aggregator's counters.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, waitUntil, readSession } from '../harness.mjs';

export const SERVER_KEY = 'sk_test_backend';
export const BROWSER_KEY = 'pk_test_web';

const CONFIG = `
[[source]]
name = "backend"
write_key = "${SERVER_KEY}"
kind = "server"

[[source]]
name = "web"
write_key = "${BROWSER_KEY}"

[[micro_conversion]]
name = "product_added"
event = "Product Added"

[[macro_conversion]]
name = "purchase"
event = "Order Completed"
`;

// foothold with the sources above; stop() also removes the config directory.
export async function startSegmentServer() {
  const dir = mkdtempSync(join(tmpdir(), 'foothold-segment-'));
  const config = join(dir, 'foothold.toml');
  writeFileSync(config, CONFIG);
  // No drain delay: the tests stop many servers and nothing sits behind a load balancer.
  const server = await startServer({ args: ['--config', config], env: { FOOTHOLD_SHUTDOWN__DRAIN_DELAY: '0s' } });
  const stop = server.stop.bind(server);
  server.stop = async (signal) => {
    const r = await stop(signal);
    rmSync(dir, { recursive: true, force: true });
    return r;
  };
  return server;
}

// The stored event with this id, or null (404).
export async function storedEvent(server, eventId) {
  const r = await fetch(`${server.adminUrl}/v1/events/${encodeURIComponent(eventId)}`);
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`GET /v1/events/${eventId}: ${r.status} ${await r.text()}`);
  return (await r.json()).event;
}

// Waits until the event is stored; returns it.
export function waitStored(server, eventId, what = `event ${eventId}`) {
  return waitUntil(() => storedEvent(server, eventId), { timeoutMs: 20000, what });
}

// The journey the event belongs to (every event of that session).
export async function journeyOf(server, event) {
  const s = await readSession(server, event.session_id);
  return s ? s.events : [];
}

// One value of the metrics exposition ("" when absent).
export async function metric(server, line) {
  const body = await (await fetch(`${server.adminUrl}/metrics`)).text();
  const hit = body.split('\n').find((l) => l.startsWith(line + ' '));
  return hit ? Number(hit.slice(line.length + 1)) : undefined;
}

// Waits until the aggregator has read everything stored so far.
export async function waitAggregated(server) {
  const committed = await metric(server, 'foothold_writer_events_total');
  await waitUntil(async () => (await metric(server, 'foothold_aggregator_pending_events')) === 0 &&
    (await metric(server, 'foothold_aggregator_checkpoint_seq')) >= committed,
  { timeoutMs: 20000, what: 'the aggregator to catch up' });
}
