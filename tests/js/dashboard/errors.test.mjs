// The dashboard on bad input: a wrong token, an unknown funnel or experiment, an empty store, an
// unknown session, a range too large for the chart and an aggregator that has failed each show a clear message, never a blank chart.
// The failed aggregator is real: a corrupt record is written into the stopped store with RocksDB's
// ldb (Debian rocksdb-tools) and the server is started on it again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchChromium, repoRoot, DESKTOP_UA } from '../harness.mjs';
import { TOKEN, api, SHOTS } from './util.mjs';

const dataDir = mkdtempSync(join(tmpdir(), 'foothold-dash-'));
const start = () => startServer({
  dataDir,
  args: ['--config', join(repoRoot, 'config', 'foothold.toml'), '--admin-listen', '127.0.0.1:0'],
  env: { FOOTHOLD_SESSION__TIMEOUT: '2s', FOOTHOLD_ADMIN__TOKEN: TOKEN, FOOTHOLD_SHUTDOWN__DRAIN_DELAY: '0s' },
});
let server, browser, page;
const errors = [];

before(async () => {
  server = await start();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, userAgent: DESKTOP_UA });
  // Failed requests are what this file provokes (chromium logs them as console errors); anything
  // else on the console, or an uncaught exception, is a bug in the page.
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (400|401|403|404)/.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function show(hash, view) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(`body[data-ready="${view}"]`, { timeout: 15000 });
}
const viewText = () => page.textContent('#view');
const charts = () => page.locator('#view svg, #view canvas').count();

test('a wrong token is refused with a message and the right one is kept', async () => {
  await page.goto(`${server.adminUrl}/dashboard`);
  await page.waitForSelector('body[data-ready="token"]');
  assert.match(await page.textContent('#token-reason'), /needs the admin token/);
  await page.fill('#token-input', 'not-the-token');
  await page.click('#token-form button');
  await page.waitForFunction(() => /refused/.test(document.getElementById('token-reason').textContent));
  assert.match(await page.textContent('#token-reason'), /The token was refused \(403 forbidden\): the bearer token is not valid/);
  assert.ok(await page.isVisible('#token-form'));
  await page.screenshot({ path: join(SHOTS, 'dashboard-token-1280.png') });
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button');
  await page.waitForSelector('body[data-ready="overview"]');
  assert.ok(await page.isHidden('#token-form'));
});

test('an empty store: every view says there is no data yet', async () => {
  await show('view=overview', 'overview');
  assert.match(await viewText(), /No sessions in this range yet/);
  await page.screenshot({ path: join(SHOTS, 'dashboard-empty-1280.png') });
  await show('view=funnel', 'funnel');
  assert.match(await viewText(), /No closed session entered this funnel in the range/);
  await show('view=lift', 'lift');
  assert.match(await viewText(), /No closed sessions in this range yet/);
  await show('view=experiments', 'experiments');
  assert.match(await viewText(), /No closed session was exposed to this experiment/);
  for (const v of ['overview', 'funnel', 'lift', 'experiments']) {
    await show(`view=${v}`, v);
    assert.equal(await charts(), 0, `${v}: a chart drawn with no data`);
  }
  await show('view=live', 'live');
  assert.match(await viewText(), /No request or event has been rejected since the server started/);
  await show('view=journey', 'journey');
  assert.match(await viewText(), /Enter a session id/);
});

test('an unknown funnel, experiment, lift target or session names the problem', async () => {
  await show('view=funnel&funnel=nope', 'funnel');
  assert.match(await viewText(), /No funnel named “nope”.*no funnel named 'nope'.*Funnels defined in the config: checkout/s);
  await page.screenshot({ path: join(SHOTS, 'dashboard-unknown-funnel-1280.png') });
  await show('view=experiments&experiment=nope', 'experiments');
  assert.match(await viewText(), /No experiment named “nope”.*Experiments defined in the config: video_autoplay/s);
  await show('view=lift&target=nope', 'lift');
  assert.match(await viewText(), /No lift target named “nope”.*Macro-conversions defined in the config: purchase/s);
  await show('view=journey&session=no-such-session', 'journey');
  assert.match(await viewText(), /No session “no-such-session”/);
  for (const v of ['funnel', 'experiments', 'lift']) {
    await show(`view=${v}&funnel=nope&experiment=nope&target=nope`, v);
    assert.equal(await charts(), 0, `${v}: a chart drawn for an unknown name`);
  }
});

test('an aggregator that has failed is shown on every report and in the live view', async () => {
  const post = await fetch(`${server.url}/v1/collect`, {
    method: 'POST', headers: { 'Content-Type': 'text/plain', 'User-Agent': DESKTOP_UA },
    body: JSON.stringify([{ event: 'page_view', session_id: 'f-1' }, { event: 'purchase', session_id: 'f-1' }]),
  });
  assert.equal(post.status, 200);
  const metrics = (await api(server, '/metrics')).text;
  const nextSeq = BigInt(/foothold_log_next_seq (\d+)/.exec(metrics)[1]);
  assert.equal((await server.stop()).code, 0);
  // A record the codec cannot read at the next seq: the writer resumes after it, the aggregator
  // stops on it (counters stay exact up to its checkpoint) and says why.
  const key = `0x${nextSeq.toString(16).padStart(16, '0')}`;
  const ldb = spawnSync('ldb', [`--db=${dataDir}`, '--column_family=log', '--key_hex', '--value_hex', 'put', key, '0x00FF'], { encoding: 'utf8' });
  assert.equal(ldb.error, undefined, 'ldb (Debian rocksdb-tools) is needed: scripts/setup.sh test installs it');
  assert.equal(ldb.status, 0, ldb.stderr + ldb.stdout);
  server = await start();
  const sum = (await api(server, '/v1/stats/summary')).json;
  assert.equal(sum.aggregator.failed, true);

  await page.goto(`${server.adminUrl}/dashboard#view=overview`);  // new port: a new origin, so the token is asked again
  await page.waitForSelector('body[data-ready="token"]');
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button');
  await page.waitForSelector('body[data-ready="overview"]');
  assert.ok(await page.isVisible('#banner'));
  assert.match(await page.textContent('#banner'), /The aggregator has failed and stopped counting: .*record.*frozen at log checkpoint/);
  assert.equal(await page.getAttribute('body', 'data-aggregator-failed'), '1');
  await page.screenshot({ path: join(SHOTS, 'dashboard-aggregator-failed-1280.png'), fullPage: true });
  for (const v of ['funnel', 'lift', 'experiments']) {
    await show(`view=${v}`, v);
    assert.match(await page.textContent('#banner'), /The aggregator has failed/, v);
  }
  await show('view=live', 'live');
  assert.match(await viewText(), /The aggregator has failed/);
  // Too many buckets for the chart: the table stays, the chart's place says why.
  await show('view=overview&range=30d&bucket=minute', 'overview');
  assert.match(await viewText(), /No chart for purchase: range_too_large.*Pick a larger bucket/s);
  assert.ok(await page.locator('[data-k="purchase.sessions"]').count() === 1);
  assert.equal(await page.locator('#view canvas').count(), 0);
  assert.deepEqual(errors, []);
});
