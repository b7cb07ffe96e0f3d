// The dashboard shell: the state lives in the URL hash (#view=lift&range=7d&target=purchase), so a
// link reproduces what one sees; pickers and links only change the hash and every change renders
// the view again. Views are modules under views/ exporting render(root, ctx).
import { ApiError, getJson, getToken, setToken, statsPath, h, message } from './lib.js';

const VIEWS = ['overview', 'funnel', 'lift', 'opportunities', 'experiments', 'live', 'journey'];
const RANGES = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3, '30d': 30 * 24 * 3600e3 };
const MINUTE = 60e3;
// Views whose reports take where=<dimension>:<value> (README.md "Segments").
const SEGMENTED = ['funnel', 'lift', 'opportunities', 'experiments'];

export function readState() {
  const p = new URLSearchParams(location.hash.slice(1));
  const s = Object.fromEntries(p.entries());
  if (!VIEWS.includes(s.view)) s.view = 'overview';
  if (!s.from && !s.to && !RANGES[s.range]) s.range = '24h';
  if (!['minute', 'hour', 'day'].includes(s.bucket)) s.bucket = 'hour';
  return s;
}

// Merges `changes` into the hash state (null removes a key); pushes a history entry.
export function setState(changes) {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') p.delete(k);
    else p.set(k, v);
  }
  location.hash = p.toString();
}

function parseTime(v) {
  if (v === undefined) return NaN;
  return /^\d+$/.test(v) ? Number(v) : Date.parse(v);
}

// The picked range [from, to) in ms and the equally long period just before it. A relative range
// ends at the next whole minute, so the summary (whole minutes) covers exactly this span.
export function timeRange(s) {
  let from = parseTime(s.from), to = parseTime(s.to);
  if (Number.isFinite(from) || Number.isFinite(to)) {
    if (!Number.isFinite(to)) to = from + RANGES['24h'];
    if (!Number.isFinite(from)) from = to - RANGES['24h'];
  } else {
    to = Math.ceil(Date.now() / MINUTE) * MINUTE;
    from = to - RANGES[s.range];
  }
  const span = to - from;
  return { from, to, span, prevFrom: from - span, prevTo: from };
}

// The segment picker: one option per value of each [[dimension]] (from /v1/stats/definitions);
// the choice is `where` in the hash. A failed read leaves "all sessions" (the view reports errors).
async function fillSegments(state) {
  const sel = document.getElementById('segment');
  let dims = [];
  try {
    dims = (await getJson(statsPath('definitions'))).dimensions || [];
  } catch { /* the view shows why */ }
  const opts = [h('option', { value: '' }, 'all sessions')];
  for (const d of dims) {
    for (const v of d.values) opts.push(h('option', { value: `${d.name}:${v}` }, `${d.name} = ${v}`));
  }
  if (state.where && !opts.some((o) => o.value === state.where)) opts.push(h('option', { value: state.where }, state.where));
  sel.replaceChildren(...opts);
  sel.value = state.where || '';
  sel.parentElement.hidden = dims.length === 0 || !SEGMENTED.includes(state.view);
}

let cleanups = [];
let generation = 0;

function showBanner(text) {
  const b = document.getElementById('banner');
  if (!text) { b.hidden = true; b.textContent = ''; return; }
  b.hidden = false;
  b.textContent = text;
}

// Every report carries the aggregator block; a failed aggregator means frozen figures.
function noteAggregator(agg) {
  if (agg && agg.failed) {
    showBanner(`The aggregator has failed and stopped counting: ${agg.failure || 'no reason given'}. `
      + `The figures below are frozen at log checkpoint ${agg.checkpoint_seq}; newer events are stored but not counted. `
      + 'Check the server log; restart the server after fixing the store.');
    document.body.dataset.aggregatorFailed = '1';
  }
}

function askToken(reason) {
  const form = document.getElementById('token-form');
  document.getElementById('token-reason').textContent = reason;
  document.getElementById('view').replaceChildren();
  form.hidden = false;
  document.getElementById('token-input').focus();
  document.body.dataset.ready = 'token';
}

async function render() {
  const gen = ++generation;
  for (const c of cleanups) c();
  cleanups = [];
  const state = readState();
  showBanner('');
  delete document.body.dataset.ready;
  delete document.body.dataset.aggregatorFailed;
  document.getElementById('token-form').hidden = true;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === state.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    // Links keep the range and names, so switching views keeps the context.
    const p = new URLSearchParams(location.hash.slice(1));
    p.set('view', a.dataset.view);
    a.href = `#${p.toString()}`;
  }
  const rangeSel = document.getElementById('range');
  const custom = rangeSel.querySelector('option[value=custom]');
  custom.hidden = !(state.from || state.to);
  rangeSel.value = state.from || state.to ? 'custom' : state.range;
  if (state.from || state.to) {
    const r = timeRange(state);
    const short = (ms) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ');
    custom.textContent = `${short(r.from)} → ${short(r.to)} UTC`;
  }
  document.getElementById('bucket').value = state.bucket;
  // Live and Journey ignore the range; only the overview's chart has buckets.
  document.querySelector('.pickers').hidden = state.view === 'live' || state.view === 'journey';
  document.getElementById('bucket').parentElement.hidden = state.view !== 'overview';
  document.getElementById('segment').parentElement.hidden = true;  // until fillSegments knows
  const segmentsFilled = fillSegments(state);

  const root = h('div', { class: `view view-${state.view}` });
  document.getElementById('view').replaceChildren(root);
  const ctx = {
    state,
    range: timeRange(state),
    setState,
    noteAggregator,
    onCleanup: (f) => cleanups.push(f),
    stale: () => gen !== generation,
  };
  try {
    const mod = await import(`./views/${state.view}.js`);
    await mod.render(root, ctx);
    if (state.where && SEGMENTED.includes(state.view)) {
      const [dim, ...rest] = state.where.split(':');
      const note = h('p', { class: 'note segment-note', 'data-k': 'segment', 'data-value': state.where },
        `Segment: ${dim} = ${rest.join(':')} — closed sessions of this segment only.`);
      const title = root.querySelector('h2');
      if (title) title.after(note); else root.prepend(note);
    }
    await segmentsFilled;
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof ApiError && e.auth) {
      askToken(e.status === 401
        ? 'This server needs the admin token (admin.token) to read its reports.'
        : `The token was refused (${e.status} ${e.code}): ${e.message}. Enter the right one.`);
      return;
    }
    root.replaceChildren(message('error', e instanceof ApiError ? `The server answered ${e.status || 'nothing'} (${e.code})` : 'The view failed',
      h('p', {}, e.message), e.path ? h('p', { class: 'note' }, `Request: GET ${e.path}`) : null));
    if (!(e instanceof ApiError)) console.error(e);  // a bug in the page, not bad input
  }
  if (gen !== generation) return;
  document.body.dataset.ready = state.view;
  performance.mark(`foothold-rendered-${state.view}`);
}

document.getElementById('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken(document.getElementById('token-input').value.trim());
  document.getElementById('token-input').value = '';
  render();
});
document.getElementById('range').addEventListener('change', (ev) => {
  if (ev.target.value !== 'custom') setState({ range: ev.target.value, from: null, to: null });
});
document.getElementById('bucket').addEventListener('change', (ev) => setState({ bucket: ev.target.value }));
document.getElementById('segment').addEventListener('change', (ev) => setState({ where: ev.target.value || null }));
window.addEventListener('hashchange', render);
if (!getToken()) document.body.dataset.token = 'none';
render();
