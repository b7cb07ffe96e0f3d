// Journey: one session's stored events in order (GET /v1/sessions/{id}), a page at a time: the
// answer carries next_cursor (null on the last page) and "Load more" follows it, appending rows.
// The page size is the hash's `limit` (1–10 000, the server's default 1 000 when absent).
import { getJson, h, table, message, figInt, fmtDuration, ApiError } from '../lib.js';

const pathOf = (u) => { try { const x = new URL(u); return x.pathname + x.search; } catch { return u || ''; } };
const iso = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const listOf = (o) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(', ');

function sessionPath(id, limit, cursor) {
  const q = new URLSearchParams();
  if (limit) q.set('limit', limit);
  if (cursor) q.set('cursor', cursor);
  const qs = q.toString();
  return `/v1/sessions/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`;
}

function row(e, i, t0) {
  return [
    h('span', { title: `${iso(e.event_time)} UTC` }, `+${fmtDuration(e.event_time - t0)}`),
    h('td', { class: 'left' }, h('span', { 'data-k': `event.${i}`, 'data-value': e.event }, e.event)),
    h('td', { class: 'text' }, pathOf(e.url)),
    e.engaged_ms ? fmtDuration(e.engaged_ms) : '',
    h('td', { class: 'text note' }, [
      e.experiments && Object.keys(e.experiments).length ? `experiments: ${listOf(e.experiments)}` : '',
      e.props && Object.keys(e.props).length ? ` props: ${listOf(e.props)}` : '',
    ].join('').trim()),
  ];
}

export async function render(root, ctx) {
  const id = ctx.state.session || '';
  const limit = ctx.state.limit || '';
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
    j = await getJson(sessionPath(id, limit));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) {
      root.append(message('error', e.status === 404 ? `No session “${id}”` : 'Not a valid session id or page size',
        h('p', {}, e.status === 404 ? 'The store has no events for it: a typo, or retention removed them.' : `The server says: ${e.message}.`)));
      return;
    }
    throw e;
  }
  const ev = j.events;
  const t0 = ev.length ? ev[0].event_time : 0;
  const first = ev[0] || {};
  const tbl = table(['+time', ['event', 'left'], ['page', 'text'], 'engaged', ['details', 'text']], ev.map((e, i) => row(e, i, t0)));
  const tbody = tbl.querySelector('tbody');
  const summary = h('span', {});
  const lasted = h('span', {});
  const status = h('p', { class: 'note', role: 'status', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'load-more' }, 'Load more');
  let cursor = j.next_cursor;
  const update = () => {
    const n = ev.length;
    summary.replaceChildren(figInt('events', n), cursor ? ' events shown, more remain' : ' events');
    const span = fmtDuration((n ? ev[n - 1].event_time : 0) - t0);
    lasted.replaceChildren(cursor ? `${span} so far` : `lasted ${span}`);
    more.hidden = !cursor;
    status.dataset.more = cursor ? 'true' : 'false';
    status.replaceChildren(cursor ? `Showing the first ${n.toLocaleString('en-US')} events; the session has more.`
      : `Showing all ${n.toLocaleString('en-US')} events.`);
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const p = await getJson(sessionPath(id, limit, cursor));
      for (const e of p.events) {
        tbody.append(h('tr', {}, row(e, ev.length, t0).map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c)))));
        ev.push(e);
      }
      cursor = p.next_cursor;
      update();
    } catch (e) {
      status.replaceChildren(`Could not load more: ${e.message}.`);
    } finally {
      more.disabled = false;
    }
  });
  update();
  root.append(h('div', { class: 'card' },
    h('div', { class: 'row' }, h('strong', {}, j.session_id), summary, lasted,
      first.bot ? h('span', { class: 'tag warn' }, 'bot: not counted') : null),
    first.user_agent ? h('p', { class: 'note' }, first.user_agent) : null,
    tbl,
    h('div', { class: 'row journey-more' }, status, more)));
}
