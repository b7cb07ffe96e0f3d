/*! foothold.js, the first-party tracker of foothold (README.md "Browser tracker") */
!function(w, d) {
  var n = navigator, L = location, sc = d.currentScript || {}, mem = {}, K = ['fh_a', 'fh_s', 'fh_u', 'fh_x', 'fh_q'],
    now = function() { return Date.now() },
    S = function(f) { return function() { try { return f.apply(this, arguments) } catch (e) {} } },
    A = function(k) { return sc.getAttribute && sc.getAttribute('data-' + k) },
    B = function(k) { return A(k) != null },
    on = function(t, k, f) { t.addEventListener(k, S(f), { capture: !0, passive: !0 }) },
    st = B('cookieless') ? 'sessionStorage' : 'localStorage',
    get = function(k) { try { return w[st].getItem(k) } catch (e) { return mem[k] } },
    set = function(k, v) { mem[k] = v; if (!off) try { w[st].setItem(k, v) } catch (e) {} },
    J = function(k) { try { return JSON.parse(get(k)) } catch (e) {} },
    P = function(k, v) { set(k, JSON.stringify(v)) },
    id = function() { return now().toString(36) + Math.random().toString(36).slice(2, 12) },
    api, sp, aid, uid, X, Q, last, tm, busy = [], fails = 0, until = 0, eng = 0, acc0, act, was,
    dnt = B('respect-dnt') && (n.globalPrivacyControl || n.doNotTrack == '1' || w.doNotTrack == '1'),
    off = dnt || B('require-consent'), T = 18e5, CAP = 3e4;
  function init() {
    aid = get('fh_a') || id(); set('fh_a', aid);
    uid = get('fh_u'); X = J('fh_x') || {}; Q = J('fh_q') || [];
  }
  try {
    api = new URL(A('api') || '/v1/collect', sc.src || L.href).href;
    sp = A('search-param') || 'q';
    init();
  } catch (e) { return }

  // Sessions rotate after 30 min without events, the server's rule.
  function sess() {
    var t = now(), s = J('fh_s') || {};
    if (!s.i || t - s.t > T) s = { i: id() };
    s.t = t; P('fh_s', s);
    return s.i;
  }
  function track(name, props, extra) {
    if (off) return;
    var e = { event: '' + name, event_id: id(), ts: now(), session_id: sess(), anonymous_id: aid, url: L.href, title: d.title }, k;
    if (uid) e.user_id = uid;
    for (k in props) { e.props = JSON.parse(JSON.stringify(props)); break }  // a copy; throws here, not later
    for (k in X) { e.experiments = X; break }
    for (k in extra) if (extra[k] != null && extra[k] !== '') e[k] = extra[k];
    Q.push(e);
    if (Q.length > 200) Q.splice(0, Q.length - 200);
    P('fh_q', Q);
    Q.length >= 10 ? flush() : tm || (tm = setTimeout(S(flush), 1e3));
  }

  function drop(b) { Q = Q.filter(function(e) { return b.indexOf(e) < 0 }); P('fh_q', Q) }
  function retry(ra) {
    fails++;
    until = now() + Math.max(1e3 * (+ra || 0), Math.min(6e4, 500 << fails));
    tm = setTimeout(S(flush), until - now());
  }
  function pix(e) {
    var m = { e: e.event, sid: e.session_id, aid: e.anonymous_id, uid: e.user_id, eid: e.event_id, ts: e.ts, u: e.url, r: e.referrer, em: e.engaged_ms }, q = [], k;
    for (k in e.props) m['p.' + k] = e.props[k];
    for (k in e.experiments) m['x.' + k] = e.experiments[k];
    for (k in m) if (m[k] != null) q.push(k + '=' + encodeURIComponent(m[k]));
    new Image().src = api + '?' + q.join('&');
  }
  function flush(u) {
    clearTimeout(tm); tm = 0;
    var b = Q.filter(function(e) { return busy.indexOf(e) < 0 }).slice(0, 50), url, body;
    if (off || !b.length || n.onLine === false) return;
    if (!u && (busy.length || now() < until)) return busy.length || (tm = setTimeout(S(flush), until - now()));
    url = api + (api.indexOf('?') < 0 ? '?' : '&') + 'sid=' + encodeURIComponent(b[0].session_id);
    body = JSON.stringify({ sent_at: now(), batch: b });
    if (u || !w.fetch) {
      if (!(n.sendBeacon && n.sendBeacon(url, body))) b.forEach(pix);
      fails || drop(b);  // after failures they stay queued (event_id dedupes)
      return;
    }
    busy = b;
    fetch(url, { method: 'POST', body: body, keepalive: body.length < 6e4 }).then(S(function(r) {
      busy = [];
      if (r.status == 429 || r.status >= 500) return retry(r.headers.get('Retry-After'));
      fails = until = 0; drop(b); flush();
    }), S(function() { busy = []; retry() }));
  }

  function engaged() { return d.visibilityState == 'visible' && d.hasFocus() }
  function accrue() {
    var t = now();
    if (was) eng += Math.max(0, Math.min(t, act + CAP) - acc0);
    acc0 = t; was = engaged();
  }
  function beat() {
    accrue();
    if (last && eng >= 500) track('engagement', 0, { engaged_ms: Math.round(eng), url: last });
    eng = 0;
  }
  function page(force) {
    var u = L.href.split('#')[0], q = new URLSearchParams(L.search), p = {}, prev = last;
    if (off || u == last && !force) return;
    beat();
    q.forEach(function(v, k) { if (/^utm_/.test(k)) p[k] = v });
    last = u;
    track('page_view', p, { referrer: prev || d.referrer });
    if (q.get(sp)) track('site_search', { query: q.get(sp) });
  }
  function props(el) {
    var p = {}, a = el.attributes, i = 0, m;
    for (; i < a.length; i++) if (m = /^data-foothold-prop-(.+)/.exec(a[i].name)) p[m[1]] = a[i].value;
    return p;
  }

  try {
    act = acc0 = now(); was = engaged();
    ['pushState', 'replaceState'].forEach(function(k) {
      var o = history[k];
      history[k] = function() { var r = o.apply(this, arguments); setTimeout(S(page)); return r };  // after the app sets the title
    });
    on(w, 'popstate', function() { page() });
    ['mousemove', 'mousedown', 'keydown', 'scroll', 'touchstart', 'focus'].forEach(function(k) {
      on(w, k, function() { accrue(); act = now() });
    });
    on(w, 'blur', accrue);
    on(d, 'visibilitychange', function() {
      if (d.visibilityState == 'visible') { accrue(); act = now() } else { beat(); flush(1) }
    });
    on(w, 'pagehide', function() { beat(); flush(1) });
    on(w, 'online', function() { fails = until = 0; flush() });
    on(d, 'click', function(e) {
      var el = e.target.closest && e.target.closest('[data-foothold],a[href]'), nm, x;
      if (!el) return;
      if (nm = el.getAttribute('data-foothold')) return el.tagName == 'FORM' || track(nm, props(el));
      if (x = /\.(pdf|zip|docx?|xlsx?|pptx?|csv|dmg|exe|mp3|mp4|gz|7z)$/i.exec(el.pathname))
        track(x[1].toLowerCase() == 'pdf' ? 'pdf_download' : 'file_download', { url: el.href });
      else if (el.host && el.host != L.host) track('outbound_click', { url: el.href });
    });
    on(d, 'submit', function(e) {
      var f = e.target, nm = f.getAttribute('data-foothold');
      if (nm) track(nm, props(f));
    });
    on(d, 'play', function(e) { if (e.target.tagName == 'VIDEO') track('video_play', props(e.target)) });
    setInterval(S(beat), 15e3);
    var pre = w.foothold && w.foothold.q || [], F = w.foothold = {
      track: S(function(name, p) { name && track(name, p) }),
      page: S(function() { page(1) }),
      identify: S(function(u) { uid = u ? '' + u : ''; set('fh_u', uid) }),
      expose: S(function(x, v) { X[x] = '' + v; P('fh_x', X); track('experiment_exposure', { experiment: x, variant: '' + v }) }),
      // Withdrawn: storage, queue and ids are forgotten and nothing is sent; given: a fresh visitor.
      consent: S(function(c) {
        if (dnt || !c == off) return;
        if (off = !c) { try { K.forEach(function(k) { w[st].removeItem(k) }) } catch (e) {} mem = {}; Q = []; busy = [] }
        init(); page(1);
      })
    };
    pre.forEach(function(a) { F[a[0]] && F[a[0]].apply(0, a[1]) });
    page();
    flush();
  } catch (e) {}
}(window, document);
