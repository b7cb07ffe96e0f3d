// Overview: per conversion, events, sessions and rate over the picked range, each against the
// previous period of the same length; one conversion's sessions per bucket over both periods.
import { getJson, statsPath, h, table, message, figInt, figPct, delta, fmtTime, freshness, ApiError } from '../lib.js';
import { timeChart, COLORS } from '../charts.js';

const BUCKET_MS = { minute: 60e3, hour: 3600e3, day: 86400e3 };

export async function render(root, ctx) {
  const { range, state } = ctx;
  const [cur, prev] = await Promise.all([
    getJson(statsPath('summary', { from: range.from, to: range.to })),
    getJson(statsPath('summary', { from: range.prevFrom, to: range.prevTo })),
  ]);
  ctx.noteAggregator(cur.aggregator);
  root.append(h('h2', {}, 'Overview'),
    h('p', { class: 'note' }, `${fmtTime(cur.from_ms)} → ${fmtTime(cur.to_ms)}, against ${fmtTime(prev.from_ms)} → ${fmtTime(prev.to_ms)}.`));
  if (cur.sessions === 0) {
    root.append(message('info', 'No sessions in this range yet',
      h('p', {}, prev.sessions > 0
        ? `The previous period had ${prev.sessions.toLocaleString('en-US')} sessions; pick a longer range to see them.`
        : 'Nothing has been counted here. Send events to /v1/collect (or run scripts/loadgen.py); they appear once the aggregator has read them.'),
      cur.aggregator && cur.aggregator.pending_events > 0 ? h('p', {}, `${cur.aggregator.pending_events} events are waiting for the aggregator.`) : null),
    freshness(cur.aggregator));
    return;
  }
  root.append(h('div', { class: 'kpis' },
    h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Events'), h('div', { class: 'value' }, figInt('total.events', cur.events)), delta(cur.events, prev.events)),
    h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Sessions'), h('div', { class: 'value' }, figInt('total.sessions', cur.sessions)), delta(cur.sessions, prev.sessions))));

  const prevBy = new Map(prev.conversions.map((c) => [c.name, c]));
  const conv = state.conv && cur.conversions.some((c) => c.name === state.conv) ? state.conv
    : (cur.conversions.find((c) => c.kind === 'macro') || cur.conversions[0])?.name;
  const rows = cur.conversions.map((c) => {
    const p = prevBy.get(c.name);
    return [
      h('td', {}, h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); ctx.setState({ conv: c.name }); } }, c.name), ' ',
        h('span', { class: 'tag kind' }, c.kind)),
      h('td', {}, figInt(`${c.name}.events`, c.events), h('br'), delta(c.events, p?.events)),
      h('td', {}, figInt(`${c.name}.sessions`, c.sessions), h('br'), delta(c.sessions, p?.sessions)),
      h('td', {}, figPct(`${c.name}.rate`, c.rate), h('br'), delta(c.rate, p?.rate ?? null, { points: true })),
    ];
  });
  root.append(h('div', { class: 'card' }, h('h3', {}, 'Conversions'),
    table(['conversion', 'events', 'sessions with it', 'rate (of sessions)'], rows),
    h('p', { class: 'note' }, 'Under each figure: its change against the previous period of the same length (▲ up, ▼ down; pp = percentage points). Rate = sessions with the conversion / sessions started in the range.')));

  if (conv) {
    const bucket = BUCKET_MS[state.bucket];
    let a, b;
    try {
      [a, b] = await Promise.all([
        getJson(statsPath('timeseries', { name: conv, bucket: state.bucket, from: range.from, to: range.to })),
        getJson(statsPath('timeseries', { name: conv, bucket: state.bucket, from: range.prevFrom, to: range.prevTo })),
      ]);
    } catch (e) {
      if (!(e instanceof ApiError) || e.auth || e.status === 0) throw e;
      // Too many buckets (range_too_large) or an unknown name: the table above stays useful.
      root.append(message('warn', `No chart for ${conv}: ${e.code}`, h('p', {}, `The server says: ${e.message}.`),
        e.code === 'range_too_large' ? h('p', {}, 'Pick a larger bucket or a shorter range.') : null), freshness(cur.aggregator));
      return;
    }
    const xs = a.points.map((p) => p.t_ms);
    const byT = new Map(b.points.map((p) => [p.t_ms + range.span, p.sessions]));
    const prevVals = xs.map((t) => byT.get(t) ?? null);
    root.append(h('div', { class: 'card', 'data-series': conv },
      h('h3', {}, `${conv}: sessions per ${state.bucket}`),
      timeChart(ctx, {
        xs,
        yLabel: `sessions per ${state.bucket}`,
        series: [
          { label: `${conv} (this period)`, values: a.points.map((p) => p.sessions), color: COLORS.blue },
          { label: `previous period (shifted ${Math.round(range.span / bucket)} ${state.bucket}s)`, values: prevVals, color: COLORS.orange, dash: [6, 4] },
        ],
      }),
      h('p', { class: 'note' }, 'Click a conversion in the table to chart it; the bucket picker sets the resolution.')));
  }
  root.append(freshness(cur.aggregator));
}
