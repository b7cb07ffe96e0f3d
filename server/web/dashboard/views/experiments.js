// Experiments: per variant rate with its Wilson interval, the difference against control with its
// interval, the always-valid p-value, the sample-ratio-mismatch check, and a plain verdict.
import { getJson, statsPath, h, table, message, figInt, figPct, figPp, figP, fmtPct, fmtPp, fmtTime, freshness, ApiError } from '../lib.js';
import { responsive, intervalPlot } from '../charts.js';

const SRM_ALPHA = 0.001;  // the server's threshold for the sample-ratio-mismatch note
const ALPHA = 0.05;

// One sentence a growth team can act on. The always-valid p-value is used because the dashboard is
// watched continuously; a one-look p-value would be wrong to peek at.
export function verdict(x) {
  if (Number.isFinite(x.sample_ratio_mismatch_p_value) && x.sample_ratio_mismatch_p_value < SRM_ALPHA) {
    return { kind: 'bad', text: 'Sample ratio mismatch: do not trust these results' };
  }
  if (!x.enough_data) return { kind: 'warn', text: 'Keep running: not enough data yet' };
  const sig = x.comparisons.filter((c) => Number.isFinite(c.always_valid_p_value) && c.always_valid_p_value < ALPHA);
  const winners = sig.filter((c) => c.difference > 0).sort((a, b) => b.difference - a.difference);
  if (winners.length) return { kind: 'ok', text: `Variant “${winners[0].variant}” wins` };
  if (sig.length && sig.length === x.comparisons.length) return { kind: 'ok', text: `Control “${x.control}” wins: every variant converts less` };
  return { kind: 'warn', text: 'Keep running: no clear difference yet' };
}

export async function render(root, ctx) {
  const { range, state } = ctx;
  const defs = await getJson(statsPath('definitions'));
  const names = defs.experiments.map((x) => x.name);
  root.append(h('h2', {}, 'Experiments'));
  if (names.length === 0) {
    root.append(message('info', 'No experiments are defined', h('p', {}, 'Add an [[experiment]] (name, target, variants) to the config file and restart the server.')));
    return;
  }
  const name = state.experiment || names[0];
  root.append(h('div', { class: 'row' }, h('label', {}, 'Experiment ',
    h('select', { onchange: (ev) => ctx.setState({ experiment: ev.target.value }) },
      names.map((n) => h('option', { value: n, selected: n === name }, n)),
      names.includes(name) ? null : h('option', { value: name, selected: true }, name)))));
  let x;
  try {
    x = await getJson(statsPath(`experiments/${encodeURIComponent(name)}`, { from: range.from, to: range.to, where: state.where }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      root.append(message('error', `No experiment named “${name}”`, h('p', {}, `The server says: ${e.message}.`),
        h('p', {}, `Experiments defined in the config: ${names.join(', ')}.`)));
      return;
    }
    throw e;
  }
  ctx.noteAggregator(x.aggregator);
  root.append(h('p', { class: 'note' }, `Target ${x.target}, control “${x.control}”; ${fmtTime(x.from_ms)} → ${fmtTime(x.to_ms)}, ${x.basis}.`));
  const exposed = x.variants.reduce((n, v) => n + v.exposed, 0);
  if (exposed === 0) {
    root.append(message('info', 'No closed session was exposed to this experiment in the range',
      h('p', {}, 'Sessions count once they are closed; an exposure is the experiments field of an event. Pick a longer range or wait.')),
    freshness(x.aggregator));
    return;
  }
  const v = verdict(x);
  root.append(h('div', { class: `verdict ${v.kind}`, 'data-k': 'verdict', 'data-value': v.text }, v.text));
  const srm = x.sample_ratio_mismatch_p_value;
  if (Number.isFinite(srm) && srm < SRM_ALPHA) {
    root.append(message('error', 'Sample ratio mismatch', h('p', {}, `Exposures are not split as configured (SRM p = ${srm.toExponential(1)}): the assignment or its logging is broken, so the comparison cannot be trusted.`)));
  }
  root.append(h('div', { class: 'card' }, h('h3', {}, `Conversion rate of ${x.target} per variant, with 95% intervals`),
    responsive((w) => intervalPlot(x.variants.map((vr) => ({ label: vr.variant, value: vr.rate, ci: vr.rate_ci95 })), w,
      { axisLabel: `sessions converting to ${x.target} (%), Wilson 95% interval`, axisLabelShort: `${x.target} rate (%), 95% interval` }), ctx),
    h('p', { class: 'note' }, '● control · ▲ variants'),
    table(['variant', 'exposed sessions', 'converted', 'rate', '95% interval'], x.variants.map((vr) => [
      vr.variant, figInt(`${vr.variant}.exposed`, vr.exposed), figInt(`${vr.variant}.converted`, vr.converted),
      figPct(`${vr.variant}.rate`, vr.rate), Array.isArray(vr.rate_ci95) ? `[${fmtPct(vr.rate_ci95[0])}, ${fmtPct(vr.rate_ci95[1])}]` : '—',
    ]))));
  root.append(h('div', { class: 'card' }, h('h3', {}, `Against control “${x.control}”`),
    table(['variant', 'difference (rate)', '95% interval', 'relative lift', 'p (one look)', 'always-valid p'], x.comparisons.map((c) => [
      c.variant, figPp(`${c.variant}.difference`, c.difference),
      Array.isArray(c.difference_ci95) ? `[${fmtPp(c.difference_ci95[0])}, ${fmtPp(c.difference_ci95[1])}]` : '—',
      figPct(`${c.variant}.relative_lift`, c.relative_lift, 1), figP(`${c.variant}.p_value`, c.p_value),
      figP(`${c.variant}.always_valid_p_value`, c.always_valid_p_value),
    ])),
    h('p', { class: 'note' }, 'Sample ratio mismatch p = ', figP('srm_p', srm), ' (alarm below 0.001). '
      + 'Differences are in percentage points (pp) of conversion rate. Read the always-valid p when looking repeatedly; the one-look p only holds for a single, pre-planned look.'),
    x.notes.map((n) => h('p', { class: 'note' }, n))),
  freshness(x.aggregator));
}
