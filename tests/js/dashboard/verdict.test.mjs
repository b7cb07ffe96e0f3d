// The experiments view's plain verdict on data planted through the real server: on one UTC day the
// exposures are split 60/40 (a sample ratio mismatch: "do not trust"), on another the variant
// converts three times as often ("variant wins"). Each day is read through a shared link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, launchChromium, waitUntil, repoRoot, DESKTOP_UA } from '../harness.mjs';
import { TOKEN, api, figures, assertShows, SHOTS } from './util.mjs';

const HOUR = 3600e3;
let server, browser;
const now = Date.now();
const days = {
  srm: { at: now - 50 * HOUR, arms: { control: [600, 30], autoplay: [400, 20] } },  // [exposed, converted]
  wins: { at: now - 10 * 60e3, arms: { control: [1000, 30], autoplay: [1000, 90] } },
};

async function plant(name, { at, arms }) {
  const events = [];
  for (const [variant, [exposed, converted]] of Object.entries(arms)) {
    for (let i = 0; i < exposed; i++) {
      const sid = `${name}-${variant}-${i}`;
      events.push({ event: 'page_view', session_id: sid, ts: at + i, experiments: { video_autoplay: variant } });
      if (i < converted) events.push({ event: 'purchase', session_id: sid, ts: at + i + 60e3 });
    }
  }
  for (let i = 0; i < events.length; i += 400) {
    const r = await fetch(`${server.url}/v1/collect`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': DESKTOP_UA }, body: JSON.stringify(events.slice(i, i + 400)),
    });
    assert.equal(r.status, 200, await r.text());
  }
}

// The report's range for a planted day: a minute around it, which the report rounds out to its UTC day.
const rangeOf = (d) => ({ from: d.at - 60e3, to: d.at + 120e3 });

before(async () => {
  server = await startServer({
    args: ['--config', join(repoRoot, 'config', 'foothold.toml'), '--admin-listen', '127.0.0.1:0'],
    env: { FOOTHOLD_SESSION__TIMEOUT: '2s', FOOTHOLD_ADMIN__TOKEN: TOKEN, FOOTHOLD_SHUTDOWN__DRAIN_DELAY: '0s' },
  });
  for (const [name, d] of Object.entries(days)) await plant(name, d);
  // Closed by the server's clock ticks once the 2 s timeout passes.
  await waitUntil(async () => {
    for (const d of Object.values(days)) {
      const { from, to } = rangeOf(d);
      const x = (await api(server, `/v1/stats/experiments/video_autoplay?from=${from}&to=${to}`)).json;
      const want = Object.values(d.arms).reduce((n, [e]) => n + e, 0);
      if (x.variants.reduce((n, v) => n + v.exposed, 0) !== want) return false;
    }
    return true;
  }, { timeoutMs: 30000, what: 'the planted sessions to close' });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

for (const [name, expected] of [['srm', /^Sample ratio mismatch: do not trust/], ['wins', /^Variant “autoplay” wins$/]]) {
  test(`the verdict on the ${name} day`, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript((tok) => sessionStorage.setItem('foothold.admin_token', tok), TOKEN);
    const { from, to } = rangeOf(days[name]);
    await page.goto(`${server.adminUrl}/dashboard#view=experiments&experiment=video_autoplay&from=${from}&to=${to}`);
    await page.waitForSelector('body[data-ready="experiments"]');
    const x = (await api(server, `/v1/stats/experiments/video_autoplay?from=${from}&to=${to}`)).json;
    const f = await figures(page);
    assert.match(f.verdict.value, expected);
    for (const [variant, [exposed, converted]] of Object.entries(days[name].arms)) {
      assertShows(f, `${variant}.exposed`, exposed);
      assertShows(f, `${variant}.converted`, converted);
    }
    assertShows(f, 'srm_p', x.sample_ratio_mismatch_p_value);
    assertShows(f, 'autoplay.always_valid_p_value', x.comparisons[0].always_valid_p_value);
    if (name === 'srm') {
      assert.ok(x.sample_ratio_mismatch_p_value < 0.001);
      assert.match(await page.textContent('#view'), /Exposures are not split as configured/);
    } else {
      assert.ok(x.comparisons[0].always_valid_p_value < 0.05 && x.comparisons[0].difference > 0);
    }
    await page.screenshot({ path: join(SHOTS, `dashboard-experiments-${name}-1280.png`), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
}
