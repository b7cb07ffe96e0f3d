// Shared helpers of the dashboard: the admin token, JSON/text reads of the stats API and /metrics
// with errors as values a view can show, number formatting, and a tiny DOM builder.
// The token lives in sessionStorage (this tab only) and goes out as Authorization: Bearer.

const TOKEN_KEY = 'foothold.admin_token';
export const getToken = () => sessionStorage.getItem(TOKEN_KEY) || '';
export const setToken = (t) => sessionStorage.setItem(TOKEN_KEY, t);

// An API answer that is not a 2xx JSON body: status 0 when the server did not answer.
export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
  get auth() { return this.status === 401 || this.status === 403; }
}

async function request(path) {
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(path, { headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'unreachable', `the server did not answer (${e.message})`, path);
  }
  const text = await r.text();
  if (r.ok) return text;
  let code = `http_${r.status}`, message = text.slice(0, 300) || r.statusText;
  try {
    const err = JSON.parse(text).error;
    if (err && err.code) ({ code, message } = err);
  } catch { /* not JSON: keep the raw text */ }
  throw new ApiError(r.status, code, message, path);
}

export async function getJson(path) {
  const text = await request(path);
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(200, 'json_invalid', 'the server answered something that is not JSON', path);
  }
}
export const getText = request;

// Builds /v1/stats/<report>?<params>, dropping empty values.
export function statsPath(report, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `/v1/stats/${report}${s ? `?${s}` : ''}`;
}

// ---- formatting: every figure goes through these so the page reads the same everywhere ----
const nf = new Intl.NumberFormat('en-US');
export const fmtInt = (v) => (v === null || v === undefined ? '—' : nf.format(v));
export function fmtPct(v, digits = 2) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}
export function fmtNum(v, digits = 2) {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}
export function fmtP(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  if (p < 0.001) return p.toExponential(1);
  return p.toFixed(3);
}
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}
export const fmtTime = (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
export const fmtCi = (ci, f) => (Array.isArray(ci) ? `[${f(ci[0])}, ${f(ci[1])}]` : '—');

// Relative change of `cur` against `prev` as a small ▲/▼ element ("no previous data" when prev is 0).
export function delta(cur, prev, { points = false } = {}) {
  if (prev === null || prev === undefined || cur === null || cur === undefined) return h('span', { class: 'delta muted' }, 'no previous');
  if (points) {
    const d = (cur - prev) * 100;
    return h('span', { class: `delta ${d > 0 ? 'up' : d < 0 ? 'down' : ''}`, title: 'percentage points against the previous period' },
      `${d >= 0 ? '+' : ''}${d.toFixed(2)} pp`);
  }
  if (prev === 0) return h('span', { class: 'delta muted' }, cur === 0 ? 'no change' : 'new');
  const d = (cur - prev) / prev;
  return h('span', { class: `delta ${d > 0 ? 'up' : d < 0 ? 'down' : ''}`, title: 'against the previous period' }, `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}%`);
}

// h('div', {class: 'x', onclick: f}, 'text', child, [more]) → an HTMLElement.
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  append(e, children);
  return e;
}
function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : String(c));
  }
}

// A figure the tests can find: text for people, the raw JSON value in data-value.
export function fig(key, value, text, unit) {
  return h('span', { 'data-k': key, 'data-value': value === null || value === undefined ? 'null' : String(value), 'data-unit': unit }, text);
}
export const figInt = (k, v) => fig(k, v, fmtInt(v), 'int');
export const figPct = (k, v, d = 2) => fig(k, v, fmtPct(v, d), 'pct');
export const figNum = (k, v, d = 2) => fig(k, v, fmtNum(v, d), 'num');
export const figP = (k, v) => fig(k, v, fmtP(v), 'num');
export const figDur = (k, v) => fig(k, v, fmtDuration(v), 'duration');
// A difference of two rates, in percentage points.
export const fmtPp = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)} pp`);
export const figPp = (k, v) => fig(k, v, fmtPp(v), 'pct');

export function table(headers, rows, { rowAttrs } = {}) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, headers.map((t) => (Array.isArray(t) ? h('th', { class: t[1] }, t[0]) : h('th', { scope: 'col' }, t))))),
    h('tbody', {}, rows.map((cells, i) => h('tr', rowAttrs ? rowAttrs(i) : {}, cells.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c))))))));
}

// A message box: kind is error | warn | info. Views show one instead of an empty chart.
export function message(kind, title, ...body) {
  return h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-message': kind }, h('strong', {}, title), ...body);
}

// The figures' freshness line every report carries.
export function freshness(agg) {
  if (!agg) return null;
  return h('p', { class: 'note' }, `Aggregator: checkpoint ${fmtInt(agg.checkpoint_seq)}, ${fmtInt(agg.pending_events)} events pending, `
    + `lag ${fmtDuration(agg.lag_ms)}, ${fmtInt(agg.open_sessions)} sessions still open (not yet in funnels, lift, experiments).`);
}
