// Charts. Time series go to the vendored uPlot (vendor/uplot/); pictures that are not time series —
// the funnel bars, the forest plot, rates with intervals — are a few dozen lines of SVG each.
// Every chart is drawn at its container's width (and again on resize), with labelled axes and units.
import { h } from './lib.js';

export const COLORS = { blue: '#0072b2', orange: '#e69f00', green: '#009e73', vermillion: '#d55e00', sky: '#56b4e9', pink: '#cc79a7', grey: '#7a838c' };
const NS = 'http://www.w3.org/2000/svg';

export function s(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

// A container that calls draw(width) now and whenever its width changes.
export function responsive(draw, ctx, { minWidth = 280 } = {}) {
  const box = h('div', { class: 'chart' });
  let last = 0;
  const redraw = () => {
    if (!box.isConnected) return;
    const w = Math.max(minWidth, Math.floor(box.clientWidth || 600));
    if (w === last) return;
    last = w;
    box.replaceChildren(draw(w));
  };
  const ro = new ResizeObserver(redraw);
  ro.observe(box);
  ctx.onCleanup(() => ro.disconnect());
  queueMicrotask(redraw);
  return box;
}

const fmtTick = (v) => (v >= 10 ? v.toFixed(0) : v >= 1 ? String(+v.toFixed(2)) : String(+v.toPrecision(2)));

// Funnel: one bar per step, width ∝ sessions, the drop between steps written under each bar and the
// biggest leak (largest drop-off rate) drawn in vermillion and labelled.
export function funnelBars(steps, leak, width) {
  const narrow = width < 560;
  const left = 8, right = 12, rowH = 64, top = 8, axisH = 40;
  const plotW = width - left - right;
  const max = Math.max(1, steps[0]?.sessions || 0, ...steps.map((x) => x.sessions));
  const height = top + steps.length * rowH + axisH;
  const svg = s('svg', { width, height, role: 'img', 'aria-label': 'Funnel: sessions reaching each step' });
  for (let i = 0; i <= 4; i++) {
    const x = left + (plotW * i) / 4;
    svg.append(s('line', { class: 'grid', x1: x, x2: x, y1: top, y2: height - axisH + 4 }));
    svg.append(s('text', { x, y: height - axisH + 18, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', class: 'axis' },
      s('tspan', { fill: '#5c6670' }, String(Math.round((max * i) / 4).toLocaleString('en-US')))));
  }
  svg.append(s('text', { x: left + plotW / 2, y: height - 6, 'text-anchor': 'middle', fill: '#5c6670' }, 'sessions reaching the step (closed sessions)'));
  steps.forEach((st, i) => {
    const y = top + i * rowH;
    const w = Math.max(2, (plotW * st.sessions) / max);
    const isLeak = i === leak;
    svg.append(s('text', { x: left, y: y + 13, 'font-weight': 600 }, `${st.step}. ${st.name}`));
    svg.append(s('rect', { x: left, y: y + 18, width: w, height: 20, rx: 3, fill: isLeak ? COLORS.vermillion : COLORS.blue }));
    const label = `${st.sessions.toLocaleString('en-US')} · ${(100 * (st.conversion_from_start ?? 0)).toFixed(1)}% of entered`;
    const inside = w > label.length * 7 + 12;
    svg.append(s('text', { x: inside ? left + 6 : left + w + 6, y: y + 33, fill: inside ? '#fff' : '#1b1f24' }, label));
    if (i > 0) {
      const pct = `${(100 * (st.drop_off_rate ?? 0)).toFixed(1)}%${narrow ? '' : ' of the previous step'}`;
      const drop = `▼ ${st.drop_off.toLocaleString('en-US')} dropped (${pct})${isLeak ? ' — biggest leak' : ''}`;
      svg.append(s('text', { x: left, y: y + 53, fill: isLeak ? '#a8420a' : '#5c6670', 'font-weight': isLeak ? 700 : 400 }, drop));
    }
  });
  return svg;
}

function logTicks(lo, hi, plotW) {
  const cands = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 8, 10, 20, 50, 100];
  let ticks = cands.filter((t) => t >= lo && t <= hi);
  const minGap = 44;
  const px = (t) => (Math.log(t) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) * plotW;
  const out = [];
  for (const t of ticks.sort((a, b) => Math.abs(Math.log(a)) - Math.abs(Math.log(b)))) {
    if (out.every((o) => Math.abs(px(o) - px(t)) >= minGap)) out.push(t);
  }
  return out.sort((a, b) => a - b);
}

// Forest plot: relative risk with its 95% interval per row on a log axis, a dashed line at 1 (no
// association). Filled squares have enough support, hollow ones do not; colour repeats what the
// q-value says (blue: higher, vermillion: lower, grey: not significant at q < 0.05).
export function forestPlot(rows, width) {
  const narrow = width < 560;
  const labelW = narrow ? 118 : 170, right = 16, top = 10, rowH = 28, axisH = 44;
  const plotW = width - labelW - right;
  const defined = rows.filter((r) => Number.isFinite(r.rr) && Array.isArray(r.rr_ci95));
  let lo = Math.min(1, ...defined.map((r) => r.rr_ci95[0]), ...defined.map((r) => r.rr));
  let hi = Math.max(1, ...defined.map((r) => r.rr_ci95[1]), ...defined.map((r) => r.rr));
  lo = Math.max(lo / 1.15, 0.01);
  hi = Math.min(hi * 1.15, 100);
  const x = (v) => labelW + (Math.log(Math.min(hi, Math.max(lo, v))) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) * plotW;
  const height = top + rows.length * rowH + axisH;
  const svg = s('svg', { width, height, role: 'img', 'aria-label': 'Forest plot of relative risk with 95% intervals' });
  const plotBottom = top + rows.length * rowH;
  for (const t of logTicks(lo, hi, plotW)) {
    svg.append(s('line', { class: t === 1 ? 'ref' : 'grid', x1: x(t), x2: x(t), y1: top, y2: plotBottom }));
    svg.append(s('text', { x: x(t), y: plotBottom + 16, 'text-anchor': 'middle', fill: '#5c6670' }, fmtTick(t)));
  }
  svg.append(s('text', { x: narrow ? width / 2 : labelW + plotW / 2, y: height - 6, 'text-anchor': 'middle', fill: '#5c6670' },
    narrow ? 'relative risk (log scale; 1 = none)' : 'relative risk, log scale (1 = no association)'));
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    const name = narrow && r.name.length > 16 ? `${r.name.slice(0, 15)}…` : r.name;
    svg.append(s('text', { x: 4, y: cy + 4 }, name));
    if (!Number.isFinite(r.rr) || !Array.isArray(r.rr_ci95)) {
      const why = r.a > 0 && r.c === 0 ? (narrow ? '∞ (a prerequisite)' : '∞: every converter did this first (a prerequisite)')
        : r.a + r.b === 0 ? (narrow ? 'nobody did this' : 'nobody did this in the range')
          : r.a === 0 ? (narrow ? 'rr 0' : 'rr 0: nobody who did this converted') : 'no estimate';
      svg.append(s('text', { x: labelW + 4, y: cy + 4, fill: '#5c6670' }, why));
      return;
    }
    const sig = Number.isFinite(r.q_value) && r.q_value < 0.05;
    const color = !sig ? COLORS.grey : r.rr > 1 ? COLORS.blue : COLORS.vermillion;
    const x1 = x(r.rr_ci95[0]), x2 = x(r.rr_ci95[1]);
    svg.append(s('line', { x1, x2, y1: cy, y2: cy, stroke: color, 'stroke-width': 2 }));
    svg.append(s('line', { x1, x2: x1, y1: cy - 5, y2: cy + 5, stroke: color, 'stroke-width': 2 }));
    svg.append(s('line', { x1: x2, x2, y1: cy - 5, y2: cy + 5, stroke: color, 'stroke-width': 2 }));
    svg.append(s('rect', { x: x(r.rr) - 5, y: cy - 5, width: 10, height: 10, fill: r.support_ok ? color : '#fff', stroke: color, 'stroke-width': 2 },
      s('title', {}, `${r.name}: rr ${r.rr.toFixed(2)} [${r.rr_ci95[0].toFixed(2)}, ${r.rr_ci95[1].toFixed(2)}], q ${r.q_value}`)));
  });
  return svg;
}

// Rates with 95% intervals on a linear axis in percent (experiments: one row per variant).
export function intervalPlot(rows, width, { axisLabel, axisLabelShort = axisLabel }) {
  const narrow = width < 560;
  const labelW = narrow ? 100 : 140, right = 20, top = 10, rowH = 30, axisH = 44;
  const plotW = width - labelW - right;
  const his = rows.filter((r) => Array.isArray(r.ci)).map((r) => r.ci[1]);
  const maxV = Math.max(0.0001, ...his, ...rows.map((r) => r.value || 0)) * 1.1;
  const x = (v) => labelW + (v / maxV) * plotW;
  const height = top + rows.length * rowH + axisH;
  const svg = s('svg', { width, height, role: 'img', 'aria-label': axisLabel });
  const plotBottom = top + rows.length * rowH;
  const step = niceStep(maxV * 100 / 5);
  for (let t = 0; t <= maxV * 100 + 1e-9; t += step) {
    svg.append(s('line', { class: 'grid', x1: x(t / 100), x2: x(t / 100), y1: top, y2: plotBottom }));
    svg.append(s('text', { x: x(t / 100), y: plotBottom + 16, 'text-anchor': 'middle', fill: '#5c6670' }, `${+t.toFixed(3)}%`));
  }
  svg.append(s('text', { x: narrow ? width / 2 : labelW + plotW / 2, y: height - 6, 'text-anchor': 'middle', fill: '#5c6670' }, narrow ? axisLabelShort : axisLabel));
  const markers = [COLORS.blue, COLORS.orange, COLORS.green, COLORS.pink, COLORS.sky];
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2;
    svg.append(s('text', { x: 4, y: cy + 4 }, r.label));
    if (!Number.isFinite(r.value)) {
      svg.append(s('text', { x: labelW + 4, y: cy + 4, fill: '#5c6670' }, 'no exposed sessions'));
      return;
    }
    const color = markers[i % markers.length];
    if (Array.isArray(r.ci)) svg.append(s('line', { x1: x(r.ci[0]), x2: x(r.ci[1]), y1: cy, y2: cy, stroke: color, 'stroke-width': 3 }));
    svg.append(i === 0
      ? s('circle', { cx: x(r.value), cy, r: 6, fill: color })
      : s('path', { d: `M${x(r.value)},${cy - 7}L${x(r.value) + 7},${cy + 6}L${x(r.value) - 7},${cy + 6}Z`, fill: color }));
  });
  return svg;
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

// A uPlot time series. series: [{label, values, color, dash}], xs in ms. Axes in UTC.
// xWindowMs: show the last xWindowMs before the newest point (a live chart) instead of the data's span.
export function timeChart(ctx, { xs, series, yLabel, height = 260, xWindowMs = 0 }) {
  const box = h('div', { class: 'chart' });
  let plot = null;
  const make = (w) => {
    if (plot) plot.destroy();
    const opts = {
      width: w, height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      scales: {
        x: xWindowMs ? { time: true, range: (u, min, max) => [max - xWindowMs / 1e3, max] } : { time: true },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { label: 'time (UTC)', labelSize: 20, stroke: '#5c6670', grid: { stroke: '#e6e9ec' } },
        { label: yLabel, labelSize: 20, stroke: '#5c6670', grid: { stroke: '#e6e9ec' }, size: 56 },
      ],
      series: [{ label: 'time' }, ...series.map((x) => ({ label: x.label, stroke: x.color, width: 2, dash: x.dash, points: { show: !!xWindowMs, size: 5 } }))],
      legend: { live: false },
    };
    plot = new uPlot(opts, [xs.map((v) => v / 1e3), ...series.map((x) => x.values)], box);
  };
  let last = 0;
  const ro = new ResizeObserver(() => {
    const w = Math.max(260, Math.floor(box.clientWidth));
    if (w !== last) { last = w; make(w); }
  });
  ro.observe(box);
  ctx.onCleanup(() => { ro.disconnect(); if (plot) plot.destroy(); });
  box.update = (newXs, values) => { if (plot) plot.setData([newXs.map((v) => v / 1e3), ...values]); };
  return box;
}
