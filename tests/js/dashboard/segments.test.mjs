// The dashboard's segment picker (README.md "Segments") in Debian's chromium, against the real
// server with the shipped config (utm_source, device, visitor dimensions) loaded by
// scripts/loadgen.py --segments: the picker lists every dimension's values, choosing one puts
// where=<dimension>:<value> in the URL, the funnel, lift, opportunities and experiment views then
// show that segment's figures (the same as the API's where= answer), and views without segments
// hide the picker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchChromium, waitUntil, repoRoot, DESKTOP_UA } from '../harness.mjs';
import { TOKEN, api, loadgen, figures, assertShows, SHOTS } from './util.mjs';

const DAY = 86400e3;
let server, browser, page, range;
const errors = [];

before(async () => {
  server = await startServer({
    args: ['--config', join(repoRoot, 'config', 'foothold.toml'), '--admin-listen', '127.0.0.1:0'],
    env: { FOOTHOLD_SESSION__TIMEOUT: '2s', FOOTHOLD_ADMIN__TOKEN: TOKEN, FOOTHOLD_SHUTDOWN__DRAIN_DELAY: '0s' },
  });
  const lg = await loadgen(server, ['--sessions', '2000', '--seed', '7', '--segments', '--tick-after', '3']);
  assert.equal(lg.code, 0, lg.out);
  await waitUntil(async () => {
    const s = (await api(server, `/v1/stats/summary?by=device&from=${Date.now() - 2 * DAY}&to=${Date.now() + DAY}`)).json;
    return s && s.sessions >= 2000 && s.aggregator.open_sessions === 0 && s.aggregator.pending_events === 0;
  }, { timeoutMs: 30000, what: 'the aggregator to close the generated sessions' });
  const to = Math.ceil(Date.now() / 60e3) * 60e3;
  range = { from: to - DAY, to };
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.addInitScript((t) => sessionStorage.setItem('foothold.admin_token', t), TOKEN);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function show(hash, view) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(`body[data-ready="${view}"]`, { timeout: 15000 });
}

test('the segment picker lists every value and filters the funnel to one segment', async () => {
  const span = `from=${range.from}&to=${range.to}`;
  await page.goto(`${server.adminUrl}/dashboard#view=funnel&${span}`);
  await page.waitForSelector('body[data-ready="funnel"]');
  const defs = (await api(server, '/v1/stats/definitions')).json;
  const want = ['']; // "all sessions"
  for (const d of defs.dimensions) for (const v of d.values) want.push(`${d.name}:${v}`);
  assert.ok(want.includes('device:mobile') && want.includes('utm_source:paid'), JSON.stringify(defs.dimensions));
  const options = await page.$$eval('#segment option', (os) => os.map((o) => o.value));
  assert.deepEqual(options, want);
  assert.ok(await page.isVisible('#segment'));

  await page.selectOption('#segment', 'device:mobile');
  await page.waitForFunction(() => location.hash.includes('where=device%3Amobile'));
  await page.waitForSelector('body[data-ready="funnel"] [data-k="segment"]');
  const f = (await api(server, `/v1/stats/funnels/checkout?${span}&where=device:mobile`)).json;
  const all = (await api(server, `/v1/stats/funnels/checkout?${span}`)).json;
  assert.ok(f.sessions_entered > 0 && f.sessions_entered < all.sessions_entered);
  const figs = await figures(page);
  assert.equal(figs.segment.value, 'device:mobile');
  assertShows(figs, 'entered', f.sessions_entered);
  for (const st of f.steps) assertShows(figs, `${st.name}.sessions`, st.sessions);
  assert.equal(await page.inputValue('#segment'), 'device:mobile');
  await page.screenshot({ path: join(SHOTS, 'dashboard-segment-1280.png'), fullPage: true });
});

test('lift, opportunities and experiments read the chosen segment; the overview hides the picker', async () => {
  const span = `from=${range.from}&to=${range.to}`;
  await show(`view=lift&${span}&where=utm_source:paid`, 'lift');
  const l = (await api(server, `/v1/stats/lift?target=purchase&${span}&where=utm_source:paid`)).json;
  assertShows(await figures(page), 'sessions', l.sessions);
  await show(`view=opportunities&${span}&where=utm_source:paid`, 'opportunities');
  assert.match(await page.textContent('#view'), /Segment: utm_source = paid/);
  await show(`view=experiments&${span}&where=device:desktop`, 'experiments');
  assert.match(await page.textContent('#view'), /Segment: device = desktop/);
  await show(`view=overview&${span}&where=device:desktop`, 'overview');
  assert.ok(await page.isHidden('#segment'));
  assert.equal(await page.locator('[data-k="segment"]').count(), 0);
  assert.deepEqual(errors, []);
});
