// Helpers of the dashboard tests: read the figures a view shows (every number the dashboard prints
// is an element with data-k, its JSON value in data-value and its text for people) and compare the
// text a person reads with the API's JSON, within the rounding the page shows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../harness.mjs';

export const TOKEN = 'dashboard-test-token';

// Where screenshots go: tests/js/screenshots (the README's pictures) with
// FOOTHOLD_UPDATE_SCREENSHOTS=1, else a temp directory, so a test run leaves the tree clean.
export const SHOTS = process.env.FOOTHOLD_UPDATE_SCREENSHOTS === '1'
  ? join(repoRoot, 'tests', 'js', 'screenshots')
  : mkdtempSync(join(tmpdir(), 'foothold-dashboard-shots-'));
if (process.env.FOOTHOLD_UPDATE_SCREENSHOTS !== '1') process.on('exit', () => rmSync(SHOTS, { recursive: true, force: true }));
export const WIDTHS = [
  { name: '1280', viewport: { width: 1280, height: 800 } },
  { name: '390', viewport: { width: 390, height: 844 } },
];

export async function api(server, path) {
  const r = await fetch(`${server.adminUrl}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  const body = await r.text();
  return { status: r.status, json: body.startsWith('{') ? JSON.parse(body) : null, text: body };
}

// Runs scripts/loadgen.py against the server; resolves with its exit code and output.
export function loadgen(server, args) {
  return new Promise((resolve) => {
    const child = spawn('python3', [join(repoRoot, 'scripts', 'loadgen.py'), '--url', server.url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

// {key: {text, value, unit}} of every figure on the page.
export function figures(page) {
  return page.$$eval('[data-k]', (els) => Object.fromEntries(els.map((e) => [e.dataset.k, { text: e.textContent.trim(), value: e.dataset.value, unit: e.dataset.unit }])));
}

// The number a person reads in `text` (unit: int | pct | num | duration), in the JSON's units.
export function readShown(text, unit) {
  if (text === '—') return null;
  if (unit === 'int') return Number(text.replace(/,/g, ''));
  if (unit === 'pct') return Number(text.replace(/\s*(%|pp)$/, '')) / 100;
  if (unit === 'duration') {
    let m;
    if ((m = /^(\d+) ms$/.exec(text))) return +m[1];
    if ((m = /^([\d.]+) s$/.exec(text))) return +m[1] * 1000;
    if ((m = /^(\d+)m (\d+)s$/.exec(text))) return (+m[1] * 60 + +m[2]) * 1000;
    if ((m = /^(\d+)h (\d+)m$/.exec(text))) return (+m[1] * 3600 + +m[2] * 60) * 1000;
    throw new Error(`not a duration: ${text}`);
  }
  return Number(text.replace(/[^\d.eE+-]/g, ''));
}

// The rounding step of what is shown: the last printed digit (of the mantissa for 1.5e-23).
function step(text, unit) {
  const core = text.replace(/[,%\s/a-df-zA-DF-Z]/g, '');
  const [mant, exp] = core.split(/e/i);
  const decimals = (mant.split('.')[1] || '').length;
  let s = 10 ** -decimals * (exp ? 10 ** Number(exp) : 1);
  if (unit === 'pct') s /= 100;
  if (unit === 'duration') s = /ms$/.test(text) ? 1 : /\d s$/.test(text) ? 100 : /m \d+s$/.test(text) ? 1000 : 60000;
  return s;
}

// Asserts the figure `key` shows `expected` (a JSON number or null) to the precision it prints.
export function assertShows(figs, key, expected, what = key) {
  const f = figs[key];
  assert.ok(f, `the page shows no figure ${key} (${what})`);
  if (expected === null || expected === undefined) {
    assert.equal(f.text, '—', `${what}: null in the JSON, the page shows ${f.text}`);
    return;
  }
  const shown = readShown(f.text, f.unit);
  const tol = step(f.text, f.unit) * 0.5000001 + Math.abs(expected) * 1e-9;
  assert.ok(Math.abs(shown - expected) <= tol, `${what}: the page shows "${f.text}" (${shown}), the API says ${expected}`);
  assert.equal(Number(f.value), expected, `${what}: data-value ${f.value} is not the API's ${expected}`);
}
