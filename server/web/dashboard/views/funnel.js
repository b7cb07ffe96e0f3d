// Funnel: bars per step with conversion from the start and from the previous step, drop-off, the
// biggest leak highlighted, median and p90 time to convert (from step 1).
import { getJson, statsPath, h, table, message, figInt, figPct, figDur, fmtTime, freshness, ApiError } from '../lib.js';
import { responsive, funnelBars } from '../charts.js';

// The step after which the largest share of the previous step's sessions is lost.
export function biggestLeak(steps) {
  let best = -1, rate = -1;
  for (let i = 1; i < steps.length; i++) {
    const r = steps[i].drop_off_rate;
    if (Number.isFinite(r) && r > rate) { rate = r; best = i; }
  }
  return best;
}

export async function render(root, ctx) {
  const { range, state } = ctx;
  const defs = await getJson(statsPath('definitions'));
  const names = defs.funnels.map((f) => f.name);
  root.append(h('h2', {}, 'Funnel'));
  if (names.length === 0) {
    root.append(message('info', 'No funnels are defined', h('p', {}, 'Add a [[funnel]] to the config file (name, steps, window, mode) and restart the server.')));
    return;
  }
  const name = state.funnel || names[0];
  root.append(h('div', { class: 'row' }, h('label', {}, 'Funnel ',
    h('select', { onchange: (ev) => ctx.setState({ funnel: ev.target.value }) },
      names.map((n) => h('option', { value: n, selected: n === name }, n)),
      names.includes(name) ? null : h('option', { value: name, selected: true }, name)))));
  let f;
  try {
    f = await getJson(statsPath(`funnels/${encodeURIComponent(name)}`, { from: range.from, to: range.to, where: state.where }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      root.append(message('error', `No funnel named “${name}”`, h('p', {}, `The server says: ${e.message}.`),
        h('p', {}, `Funnels defined in the config: ${names.join(', ')}.`)));
      return;
    }
    throw e;
  }
  ctx.noteAggregator(f.aggregator);
  root.append(h('p', { class: 'note' }, `${f.mode} funnel, window ${Math.round(f.window_ms / 60000)} min from step 1; `
    + `${fmtTime(f.from_ms)} → ${fmtTime(f.to_ms)}, ${f.basis}.`));
  if (f.sessions_entered === 0) {
    root.append(message('info', 'No closed session entered this funnel in the range',
      h('p', {}, 'Funnels count sessions once they are closed (no event for session.timeout). Pick a longer range, or wait for open sessions to close.')),
    freshness(f.aggregator));
    return;
  }
  const leak = biggestLeak(f.steps);
  const leakStep = f.steps[leak];
  root.append(h('div', { class: 'card' },
    h("h3", {}, `Sessions through “${f.funnel}”: `, figInt("entered", f.sessions_entered), " entered"),
    leakStep ? h('p', {}, h('span', { class: 'tag bad' }, 'biggest leak'), ' ',
      h('span', { 'data-k': 'leak', 'data-value': leakStep.name }, `${f.steps[leak - 1].name} → ${leakStep.name}`),
      `: ${(leakStep.drop_off_rate * 100).toFixed(1)}% of sessions stop here (${leakStep.drop_off.toLocaleString('en-US')}).`) : null,
    responsive((w) => funnelBars(f.steps, leak, w), ctx)));
  const rows = f.steps.map((st) => [
    h('td', {}, `${st.step}. ${st.name}`),
    figInt(`${st.name}.sessions`, st.sessions),
    figPct(`${st.name}.conversion_from_start`, st.conversion_from_start, 1),
    st.step === 1 ? '—' : figPct(`${st.name}.conversion_from_previous`, st.conversion_from_previous, 1),
    st.step === 1 ? '—' : figInt(`${st.name}.drop_off`, st.drop_off),
    st.step === 1 ? '—' : figPct(`${st.name}.drop_off_rate`, st.drop_off_rate, 1),
    st.time_to_convert_ms ? figDur(`${st.name}.median`, st.time_to_convert_ms.median) : '—',
    st.time_to_convert_ms ? figDur(`${st.name}.p90`, st.time_to_convert_ms.p90) : '—',
  ]);
  root.append(h('div', { class: 'card' }, h('h3', {}, 'Steps'),
    table(['step', 'sessions', 'from start', 'from previous', 'drop-off', 'drop-off rate', 'median time to convert', 'p90 time to convert'], rows,
      { rowAttrs: (i) => (i === leak ? { class: 'leak', 'data-leak': '1' } : {}) }),
    f.notes.map((n) => h('p', { class: 'note' }, n))),
  freshness(f.aggregator));
}
