// Journey: one session's stored events in order (GET /v1/sessions/{id}).
import { getJson, h, table, message, figInt, fmtDuration, ApiError } from '../lib.js';

const pathOf = (u) => { try { const x = new URL(u); return x.pathname + x.search; } catch { return u || ''; } };
const iso = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export async function render(root, ctx) {
  const id = ctx.state.session || '';
  const input = h('input', { type: 'search', name: 'session', value: id, placeholder: 'session id, e.g. lg-1-42', 'aria-label': 'Session id' });
  root.append(h('h2', {}, 'Journey'),
    h('form', { class: 'journey-form', onsubmit: (ev) => { ev.preventDefault(); ctx.setState({ session: input.value.trim() }); } },
      input, h('button', { type: 'submit' }, 'Show journey')));
  if (!id) {
    root.append(message('info', 'Pick a session', h('p', {}, 'Enter a session id to see its events in order (event time, then arrival).')));
    return;
  }
  let j;
  try {
    j = await getJson(`/v1/sessions/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) {
      root.append(message('error', e.status === 404 ? `No session “${id}”` : 'Not a valid session id',
        h('p', {}, e.status === 404 ? 'The store has no events for it: a typo, or retention removed them.' : `The server says: ${e.message}.`)));
      return;
    }
    throw e;
  }
  const ev = j.events;
  const t0 = ev.length ? ev[0].event_time : 0;
  const last = ev.length ? ev[ev.length - 1].event_time : 0;
  const first = ev[0] || {};
  root.append(h('div', { class: 'card' },
    h('div', { class: 'row' }, h('strong', {}, j.session_id), h('span', {}, figInt('events', ev.length), ' events'),
      h('span', {}, 'lasted ', fmtDuration(last - t0)), first.bot ? h('span', { class: 'tag warn' }, 'bot: not counted') : null),
    first.user_agent ? h('p', { class: 'note' }, first.user_agent) : null,
    table(['+time', ['event', 'left'], ['page', 'text'], 'engaged', ['details', 'text']], ev.map((e, i) => [
      h('span', { title: `${iso(e.event_time)} UTC` }, `+${fmtDuration(e.event_time - t0)}`),
      h('td', { class: 'left' }, h('span', { 'data-k': `event.${i}`, 'data-value': e.event }, e.event)),
      h('td', { class: 'text' }, pathOf(e.url)),
      e.engaged_ms ? fmtDuration(e.engaged_ms) : '',
      h('td', { class: 'text note' }, [
        e.experiments && Object.keys(e.experiments).length ? `experiments: ${Object.entries(e.experiments).map(([k, v]) => `${k}=${v}`).join(', ')}` : '',
        e.props && Object.keys(e.props).length ? ` props: ${Object.entries(e.props).map(([k, v]) => `${k}=${v}`).join(', ')}` : '',
      ].join('').trim()),
    ]))));
}
