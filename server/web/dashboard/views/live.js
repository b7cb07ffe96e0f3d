// Live: ingest rate, rejections by code and aggregator lag, read from /metrics (Prometheus text)
// every two seconds while the view is open. Rates are differences of counters between scrapes.
import { getText, h, table, message, fig, figInt, fmtNum } from '../lib.js';
import { timeChart, COLORS } from '../charts.js';

const EVERY_MS = 2000;
const KEEP = 150;  // samples on the chart: 5 minutes

// Parses the Prometheus text exposition into [{name, labels, value}].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}
const one = (ms, name, labels = {}) => {
  const x = ms.find((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  return x ? x.value : null;
};

export async function render(root, ctx) {
  root.append(h('h2', {}, 'Live'), h('p', { class: 'note' }, `From /metrics every ${EVERY_MS / 1000} s while this view is open.`));
  const kpis = h('div', { class: 'kpis' });
  const rejections = h('div', { class: 'card' });
  const xs = [], accepted = [], rejected = [];
  const chart = timeChart(ctx, { xs, yLabel: 'events per second', xWindowMs: KEEP * EVERY_MS, series: [
    { label: 'accepted events/s', values: accepted, color: COLORS.blue },
    { label: 'rejected events/s', values: rejected, color: COLORS.vermillion, dash: [6, 4] },
  ] });
  const status = h('div');
  root.append(status, kpis, h('div', { class: 'card' }, h('h3', {}, 'Ingest rate'), chart,
    h('p', { class: 'note' }, 'One point per scrape from the second on: the difference of foothold_events_total over the interval.')), rejections);
  let prev = null;
  let firstByCode = null;  // rejections per code at the first scrape: the table's "since opened" column
  const sample = async () => {
    const ms = parseMetrics(await getText('/metrics'));
    const t = Date.now();
    const acc = one(ms, 'foothold_events_total', { outcome: 'accepted' });
    const rej = one(ms, 'foothold_events_total', { outcome: 'rejected' });
    const rate = prev ? ((acc - prev.acc) * 1000) / (t - prev.t) : null;
    const rejRate = prev ? ((rej - prev.rej) * 1000) / (t - prev.t) : null;
    if (prev) {
      xs.push(t); accepted.push(rate); rejected.push(rejRate);
      if (xs.length > KEEP) { xs.shift(); accepted.shift(); rejected.shift(); }
      chart.update(xs, [accepted, rejected]);
      root.dataset.samples = xs.length;
    }
    prev = { t, acc, rej };
    const lag = one(ms, 'foothold_aggregator_lag_seconds');
    const failed = one(ms, 'foothold_aggregator_failed') === 1;
    const healthy = one(ms, 'foothold_store_healthy');
    status.replaceChildren(...[
      failed ? message('error', 'The aggregator has failed', h('p', {}, 'It stopped counting: reports are frozen at its last checkpoint while events are still stored. See the server log.')) : null,
      healthy === 0 ? message('error', 'The store is not accepting writes', h('p', {}, 'Collect answers 503 until the server is restarted; see the server log.')) : null,
    ].filter(Boolean));
    if (failed) document.body.dataset.aggregatorFailed = '1';
    kpis.replaceChildren(
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Ingest'), h('div', { class: 'value' },
        rate === null ? h('span', { 'data-k': 'rate', 'data-value': 'null' }, 'measuring…') : fig('rate', rate, `${fmtNum(rate, 1)}/s`, 'num')), h('span', { class: 'note' }, 'accepted events per second')),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Accepted (since start)'), h('div', { class: 'value' }, figInt('accepted', acc))),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Rejected (since start)'), h('div', { class: 'value' }, figInt('rejected', rej))),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Aggregator lag'), h('div', { class: 'value' },
        failed ? h('span', { class: 'tag bad' }, 'failed') : fig('lag', lag, `${fmtNum(lag, 2)} s`, 'num')),
        h('span', { class: 'note' }, figInt('pending', one(ms, 'foothold_aggregator_pending_events')), ' events pending')),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Open sessions'), h('div', { class: 'value' }, figInt('open_sessions', one(ms, 'foothold_aggregator_open_sessions')))));
    const byCode = ms.filter((m) => m.name === 'foothold_rejections_total').sort((a, b) => b.value - a.value);
    if (!firstByCode) firstByCode = new Map(byCode.map((m) => [m.labels.code, m.value]));
    rejections.replaceChildren(h('h3', {}, 'Rejections by code (since start)'),
      byCode.length === 0 ? h('p', { class: 'note', 'data-k': 'no_rejections' }, 'No request or event has been rejected since the server started.')
        : table(['code', 'rejected since start', 'since this view opened'], byCode.map((m) => [h('code', {}, m.labels.code),
          figInt(`rejections.${m.labels.code}`, m.value), figInt(`rejections_recent.${m.labels.code}`, m.value - (firstByCode.get(m.labels.code) || 0))])),
      h('p', { class: 'note' }, 'Codes are listed in the README (Error codes).'));
  };
  await sample();
  const timer = setInterval(() => { sample().catch((e) => status.replaceChildren(message('error', 'Cannot read /metrics', h('p', {}, e.message)))); }, EVERY_MS);
  ctx.onCleanup(() => clearInterval(timer));
}
