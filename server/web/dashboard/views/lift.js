// Lift: which micro-conversions predict the target. A forest plot of relative risk with 95%
// intervals on a log axis, q-values and support flags, sorted as the server sorts them (rr first).
import { getJson, statsPath, h, table, message, figInt, figPct, figNum, figP, fmtTime, freshness, ApiError } from '../lib.js';
import { responsive, forestPlot, COLORS } from '../charts.js';

export async function targetPicker(root, ctx, defs) {
  const targets = defs.conversions.filter((c) => c.kind === 'macro').map((c) => c.name);
  const target = ctx.state.target || targets[0] || '';
  root.append(h('div', { class: 'row' }, h('label', {}, 'Target ',
    h('select', { onchange: (ev) => ctx.setState({ target: ev.target.value }) },
      targets.map((n) => h('option', { value: n, selected: n === target }, n)),
      targets.includes(target) ? null : h('option', { value: target, selected: true }, target)))));
  return { target, targets };
}

export async function render(root, ctx) {
  const { range, state } = ctx;
  const defs = await getJson(statsPath('definitions'));
  root.append(h('h2', {}, 'Lift: which micro-conversions predict the target'));
  const { target, targets } = await targetPicker(root, ctx, defs);
  let L;
  try {
    L = await getJson(statsPath('lift', { target, from: range.from, to: range.to, where: state.where }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      root.append(message('error', `No lift target named “${target}”`, h('p', {}, `The server says: ${e.message}.`),
        h('p', {}, `Macro-conversions defined in the config: ${targets.join(', ') || 'none'}.`)));
      return;
    }
    throw e;
  }
  ctx.noteAggregator(L.aggregator);
  root.append(h('p', { class: 'note' }, `${fmtTime(L.from_ms)} → ${fmtTime(L.to_ms)}, ${L.basis}: `,
    figInt('sessions', L.sessions), ' sessions, ', figInt('sessions_converted', L.sessions_converted), ' converted (',
    figPct('conversion_rate', L.conversion_rate), ').'));
  root.append(message('warn', 'Association, not cause',
    h('p', {}, 'Sessions that did X converted rr times as often as sessions that did not. X may only mark visitors who were going to convert anyway; test a change with an experiment before crediting it.')));
  if (L.sessions === 0) {
    root.append(message('info', 'No closed sessions in this range yet',
      h('p', {}, 'Lift counts sessions once they are closed (no event for session.timeout). Pick a longer range or wait.')),
    freshness(L.aggregator));
    return;
  }
  if (!L.enough_data) root.append(message('warn', 'Not enough data for trustworthy estimates', L.notes.map((n) => h('p', {}, n))));
  const rows = L.micro_conversions;
  if (rows.some((r) => Number.isFinite(r.rr))) {
    root.append(h('div', { class: 'card' }, h('h3', {}, `Relative risk of ${L.target}, with 95% intervals`),
      responsive((w) => forestPlot(rows, w), ctx),
      h('div', { class: 'legend' },
        h('span', {}, h('span', { class: 'swatch', style: `background:${COLORS.blue}` }), 'more likely to convert (q < 0.05)'),
        h('span', {}, h('span', { class: 'swatch', style: `background:${COLORS.vermillion}` }), 'less likely (q < 0.05)'),
        h('span', {}, h('span', { class: 'swatch', style: `background:${COLORS.grey}` }), 'not significant'),
        h('span', {}, '■ filled: enough support · □ hollow: low support'))));
  }
  // Notes are sentences: they go in a list under the table, where they wrap at any width, and the
  // row carries a numbered marker pointing at its note (a wide table scrolls; a sentence in it clips).
  const noted = rows.filter((r) => r.note);
  const mark = (r) => noted.indexOf(r) + 1;
  root.append(h('div', { class: 'card' }, h('h3', {}, 'Table'),
    table(['micro-conversion', 'sessions with it', 'rate with', 'rate without', 'relative risk', '95% interval', 'odds ratio', 'p', 'q (BH)', 'support'],
      rows.map((r) => [
        h('td', {}, r.name, r.note ? h('sup', { class: 'note-mark' }, h('a', { href: `#`, 'aria-label': `note ${mark(r)}`, onclick: (ev) => { ev.preventDefault(); document.getElementById(`lift-note-${mark(r)}`)?.scrollIntoView(); } }, mark(r))) : null),
        figInt(`${r.name}.with`, r.a + r.b),
        figPct(`${r.name}.cr_with`, r.cr_with),
        figPct(`${r.name}.cr_without`, r.cr_without),
        figNum(`${r.name}.rr`, r.rr),
        Array.isArray(r.rr_ci95) ? h('span', {}, '[', figNum(`${r.name}.rr_lo`, r.rr_ci95[0]), ', ', figNum(`${r.name}.rr_hi`, r.rr_ci95[1]), ']') : '—',
        figNum(`${r.name}.odds_ratio`, r.odds_ratio),
        h('span', { title: r.test === 'fisher_exact' ? "Fisher's exact test" : 'chi-square test' }, figP(`${r.name}.p_value`, r.p_value)),
        figP(`${r.name}.q_value`, r.q_value),
        r.support_ok ? h('span', { class: 'tag ok', 'data-k': `${r.name}.support_ok`, 'data-value': 'true' }, 'ok')
          : h('span', { class: 'tag warn', 'data-k': `${r.name}.support_ok`, 'data-value': 'false' }, 'low'),
      ])),
    noted.length ? h('ol', { class: 'notes' }, noted.map((r) => h('li', { id: `lift-note-${mark(r)}`, 'data-note': r.name }, h('strong', {}, r.name), ': ', r.note))) : null,
    h('p', { class: 'note' }, 'q = Benjamini–Hochberg adjusted p across the micro-conversions; support needs a + b ≥ min(25, 2% of sessions).')),
  freshness(L.aggregator));
}
