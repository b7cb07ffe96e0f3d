// Opportunities: per micro-conversion its reach, relative risk, and the overall conversion rate if
// its reach rose to a given level, an association-based (optimistic) estimate. Served by
// GET /v1/stats/opportunities (README.md "Opportunities"); a server without it gets a note instead.
import { getJson, statsPath, h, table, message, fig, figPct, figNum, fmtTime, fmtPct, freshness, ApiError } from '../lib.js';
import { targetPicker } from './lift.js';

const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined) return o[k]; return undefined; };

export async function render(root, ctx) {
  const { range, state } = ctx;
  const defs = await getJson(statsPath('definitions'));
  root.append(h('h2', {}, 'Opportunities: which micro-conversion to grow'));
  const { target } = await targetPicker(root, ctx, defs);
  let O;
  try {
    O = await getJson(statsPath('opportunities', { target, from: range.from, to: range.to, where: state.where }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && /no such report/.test(e.message)) {
      root.append(message('info', 'Not available on this server yet',
        h('p', {}, 'This server has no GET /v1/stats/opportunities endpoint (it answered 404 not_found). '
          + 'Until it does, the Lift view answers the first half of the question: which micro-conversions go with buying, and how strongly.')));
      document.body.dataset.opportunities = 'missing';
      return;
    }
    if (e instanceof ApiError && e.status === 404) {
      root.append(message('error', `No opportunities for “${target}”`, h('p', {}, `The server says: ${e.message}.`)));
      return;
    }
    throw e;
  }
  ctx.noteAggregator(O.aggregator);
  const rows = pick(O, 'micro_conversions', 'opportunities', 'rows') || [];
  if (O.from_ms) root.append(h('p', { class: 'note' }, `${fmtTime(O.from_ms)} → ${fmtTime(O.to_ms)}; overall conversion rate `,
    figPct('conversion_rate', pick(O, 'conversion_rate', 'baseline_conversion_rate')), '.'));
  root.append(message('warn', 'An association-based estimate',
    h('p', {}, O.interpretation || 'Projected rates assume the association holds when reach grows; they are optimistic where the micro-conversion marks visitors who would buy anyway.')));
  if (O.reach_basis) root.append(h('p', { class: 'note', 'data-k': 'reach_basis', 'data-value': O.reach_basis }, `At reach: ${O.reach_basis}.`));
  if (rows.length === 0) {
    root.append(message('info', 'No micro-conversions to rank yet', h('p', {}, (O.notes || []).join(' ') || 'No closed sessions in this range.')));
    return;
  }
  root.append(h('div', { class: 'card' }, table(
    ['micro-conversion', 'reach now', 'relative risk [95%]', 'at reach', 'projected conversion rate [95%]', 'change [95%]'],
    rows.map((r) => {
      const ci = pick(r, 'rr_ci95');
      const pr = pick(r, 'projected_conversion_rate', 'projected_rate');
      const prci = pick(r, 'projected_conversion_rate_ci95', 'projected_rate_ci95');
      const base = pick(O, 'conversion_rate', 'baseline_conversion_rate');
      const change = r.change !== undefined ? r.change : (Number.isFinite(pr) && Number.isFinite(base) && base > 0 ? pr / base - 1 : null);
      const chci = pick(r, 'change_ci95');
      const signed = (v) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)}%`;
      return [
        r.note ? h('span', {}, r.name, h('small', { class: 'note', style: 'display:block;max-width:18em;white-space:normal' }, r.note)) : r.name,
        figPct(`${r.name}.reach`, pick(r, 'reach')),
        h('span', {}, figNum(`${r.name}.rr`, r.rr), Array.isArray(ci) ? ` [${ci[0].toFixed(2)}, ${ci[1].toFixed(2)}]` : ''),
        h('span', {}, figPct(`${r.name}.at_reach`, pick(r, 'at_reach', 'target_reach', 'projected_reach')),
          r.best_segment ? h('small', { class: 'note', style: 'display:block' }, `best: ${r.best_segment.dimension} = ${r.best_segment.value}`) : null),
        h('span', {}, figPct(`${r.name}.projected`, pr), Array.isArray(prci) ? ` [${fmtPct(prci[0])}, ${fmtPct(prci[1])}]` : ''),
        Number.isFinite(change) ? h('span', {}, fig(`${r.name}.change`, change, signed(change), 'pct'),
          Array.isArray(chci) ? ` [${signed(chci[0])}, ${signed(chci[1])}]` : '') : '—',
      ];
    }))), freshness(O.aggregator));
}
