// The Journey view pages through a session longer than one page: the real server answers
// GET /v1/sessions/{id}?limit=&cursor= and "Load more" follows next_cursor until it is null,
// appending rows in the server's order and saying how many are shown and whether more remain.
// The page size is the hash's `limit`, so a 7-event session spans three pages of 3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchChromium, readSession, repoRoot, DESKTOP_UA } from '../harness.mjs';
import { TOKEN, WIDTHS, figures, SHOTS } from './util.mjs';

const SID = 'journey-paging-1';
let server, browser;

before(async () => {
  server = await startServer({
    args: ['--config', join(repoRoot, 'config', 'foothold.toml'), '--admin-listen', '127.0.0.1:0'],
    env: { FOOTHOLD_ADMIN__TOKEN: TOKEN, FOOTHOLD_SHUTDOWN__DRAIN_DELAY: '0s' },
  });
  const at = Date.now() - 60e3;
  const names = ['page_view', 'site_search', 'page_view', 'video_play', 'add_to_cart', 'begin_checkout', 'purchase'];
  const r = await fetch(`${server.url}/v1/collect`, {
    method: 'POST', headers: { 'Content-Type': 'text/plain', 'User-Agent': DESKTOP_UA },
    body: JSON.stringify(names.map((event, i) => ({ event, session_id: SID, ts: at + i * 1000, url: `https://shop.example/p/${i}` }))),
  });
  assert.equal(r.status, 200, await r.text());
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

const shownEvents = (page) => page.$$eval('.view-journey tbody tr [data-k^="event."]', (els) => els.map((e) => e.dataset.value));

for (const { name: width, viewport } of WIDTHS) {
  test(`"Load more" follows next_cursor to the last page at ${width} px`, async () => {
    const all = await readSession(server, SID, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(all.events.length, 7);
    const page = await browser.newPage({ viewport, userAgent: DESKTOP_UA });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    try {
      await page.addInitScript((tok) => sessionStorage.setItem('foothold.admin_token', tok), TOKEN);
      await page.goto(`${server.adminUrl}/dashboard#view=journey&session=${SID}&limit=3`);
      await page.waitForSelector('body[data-ready="journey"]', { timeout: 15000 });
      const more = page.locator('.view-journey button.load-more');
      const status = page.locator('.view-journey [role="status"][data-more]');
      for (const shown of [3, 6]) {
        assert.deepEqual(await shownEvents(page), all.events.slice(0, shown).map((e) => e.event));
        assert.equal((await figures(page)).events.value, String(shown));
        assert.equal(await status.getAttribute('data-more'), 'true');
        assert.match(await status.textContent(), new RegExp(`Showing the first ${shown} events; the session has more`));
        assert.ok(await more.isVisible());
        if (shown === 3) await page.screenshot({ path: join(SHOTS, `dashboard-journey-paged-${width}.png`), fullPage: true });
        await more.click();
        await page.waitForFunction((n) => document.querySelectorAll('.view-journey tbody tr').length > n, shown, { timeout: 15000 });
      }
      assert.deepEqual(await shownEvents(page), all.events.map((e) => e.event));
      assert.equal((await figures(page)).events.value, '7');
      assert.equal(await status.getAttribute('data-more'), 'false');
      assert.match(await status.textContent(), /Showing all 7 events/);
      assert.ok(await more.isHidden(), 'no "Load more" after the last page');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
}

test('a page size the server refuses names the problem', async () => {
  const page = await browser.newPage({ viewport: WIDTHS[0].viewport, userAgent: DESKTOP_UA });
  try {
    await page.addInitScript((tok) => sessionStorage.setItem('foothold.admin_token', tok), TOKEN);
    await page.goto(`${server.adminUrl}/dashboard#view=journey&session=${SID}&limit=0`);
    await page.waitForSelector('body[data-ready="journey"]', { timeout: 15000 });
    assert.match(await page.textContent('#view'), /Not a valid session id or page size/);
  } finally {
    await page.close();
  }
});
