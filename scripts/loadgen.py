#!/usr/bin/env python3
"""Foothold load generator: simulated shoppers with planted effects, posted
through the real server (POST /v1/collect), plus the ground truth computed from
exactly what was generated, to check the aggregator's counters, lift tables,
funnels and experiment results against (proto/README.md, README.md "Analytics").

Python 3.11 standard library only. Deterministic: the same --seed and --now-ms
give the same events byte for byte (posting order across connections varies,
the events do not; the truth's events_sha256 fingerprints them).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import queue
import random
import sys
import threading
import time
import urllib.parse

# --------------------------------------------------------------------------
# The shopper model. Every probability lives here.
#
# A session is, in event-time order:
#   1. page_view on the home page "/" (it carries the experiment exposure
#      {"video_autoplay": control|autoplay}, 50/50), one engagement heartbeat
#      there, and maybe newsletter_signup / account_created;
#   2. maybe site_search;
#   3. 1..4 distinct product pages /p/<id>: page_view, then `engagement`
#      heartbeats carrying engaged_ms, with the session's other micro
#      conversions (video_play, wishlist_add, pdf_download, social_share)
#      interleaved on a random one of them. In P_DWELL of the sessions one
#      product page accumulates >= 180 s of engaged time (product_dwell_3m);
#      every other page stays below DWELL_MS;
#   4. the checkout funnel: purchasers always do add_to_cart -> begin_checkout
#      -> purchase (strictly increasing times, well inside 30 minutes);
#      non-purchasers reach add_to_cart with P_CART_NONBUYER and then
#      begin_checkout with P_CHECKOUT_NONBUYER, and never purchase.
# Every micro conversion therefore happens before the purchase.
#
# Planted effects (purchase is decided from the session's own draws):
#   P(purchase) = P_PURCHASE_BASE * (VIDEO_RR if video_play else 1)
#                                 * (1 + AUTOPLAY_LIFT if variant == autoplay else 1)
# video_play is drawn independently of the variant, so both hold as stated:
# P(purchase | video) = 4.2 * P(purchase | no video) in each variant, and
# P(purchase | autoplay) = 1.2 * P(purchase | control) with or without video.
# P_PURCHASE_BASE is chosen so the overall purchase rate is PURCHASE_RATE_TARGET.
# All other micro conversions (and the dwell) are independent of purchase:
# their true relative risk is 1 (null controls for the lift report), except
# add_to_cart / begin_checkout, which every purchaser does (c = 0 cells).
# --------------------------------------------------------------------------
PURCHASE_RATE_TARGET = 0.04     # overall P(purchase), "p0"
VIDEO_RR = 4.2                  # P(purchase | video_play) / P(purchase | no video_play)
AUTOPLAY_LIFT = 0.20            # autoplay multiplies P(purchase) by 1 + this vs control
P_VIDEO = 0.30                  # session plays a product video (independent of the variant)
P_AUTOPLAY = 0.50               # share of sessions in variant "autoplay" (else "control")
P_PURCHASE_BASE = PURCHASE_RATE_TARGET / (
    (1 - P_VIDEO + P_VIDEO * VIDEO_RR) * (1 - P_AUTOPLAY + P_AUTOPLAY * (1 + AUTOPLAY_LIFT)))

# Planted segment effects, only with --segments (README.md "Segments"); without
# it none of these is drawn and the events are byte for byte those of before:
#   traffic: P_PAID of the sessions land on "/?utm_source=paid&utm_medium=cpc"
#     and buy PAID_RR times as often as the rest (no utm: utm_source "(none)");
#     P(purchase) = base * video * autoplay * (PAID_RR if paid), base rescaled
#     so the overall rate stays PURCHASE_RATE_TARGET;
#   device: P_MOBILE of the sessions are posted with a phone's User-Agent; a
#     mobile non-purchaser adds to cart with P_CART_NONBUYER_MOBILE and begins
#     checkout with P_CHECKOUT_NONBUYER_MOBILE: a leakier checkout step
#     (begin_checkout -> purchase) than desktop's, with the same purchase rate;
#   visitor: anonymous ids are foothold.js ids (creation time in base 36, then
#     random digits); P_RETURNING of the sessions come from an id created
#     1..30 days before the session, the rest from one created at its start.
P_PAID = 0.30
PAID_RR = 2.0
P_MOBILE = 0.40
P_CART_NONBUYER_MOBILE = 0.25
P_CHECKOUT_NONBUYER_MOBILE = 0.80
P_RETURNING = 0.35
MOBILE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1 foothold-loadgen/1")

P_DWELL = 0.25                  # one product page gets >= 180 s of engaged time
P_SITE_SEARCH = 0.15
P_NEWSLETTER = 0.04
P_ACCOUNT = 0.05
P_WISHLIST = 0.08
P_PDF = 0.03
P_SOCIAL = 0.02
P_CART_NONBUYER = 0.10          # a non-purchaser adds to cart
P_CHECKOUT_NONBUYER = 0.40      # ... and then begins checkout (given add_to_cart)

PRODUCT_PAGES = (1, 2, 3, 4)    # product pages viewed per session ...
PRODUCT_PAGE_WEIGHTS = (0.35, 0.30, 0.20, 0.15)  # ... with these probabilities
N_PRODUCTS = 500                # catalogue: /p/1 .. /p/500
DWELL_ENGAGED_S = (185, 320)    # engaged seconds on the dwell page (uniform)
OTHER_ENGAGED_S = (8, 150)      # engaged seconds on any other product page (< 180)
HOME_ENGAGED_S = (3, 30)
HEARTBEAT_S = (15, 45)          # engaged seconds reported by one heartbeat
MAX_SESSION_MS = 29 * 60_000    # by construction a session spans < ~26 min; asserted

HOST = "https://shop.example"
SEARCH_TERMS = ("shoes", "rain jacket", "tent", "headlamp", "backpack", "socks", "stove")

# The seed analytics definitions of config/foothold.toml that the truth mirrors.
SIMPLE_MICROS = ("newsletter_signup", "account_created", "wishlist_add", "video_play",
                 "pdf_download", "social_share", "site_search")
MICROS = ("newsletter_signup", "account_created", "wishlist_add", "video_play", "pdf_download",
          "social_share", "site_search", "product_dwell_3m", "add_to_cart", "begin_checkout")
MACROS = ("purchase",)
DWELL_NAME, DWELL_PREFIX, DWELL_MS = "product_dwell_3m", "/p/", 180_000
FUNNEL_NAME, FUNNEL_STEPS, FUNNEL_WINDOW_MS = "checkout", ("add_to_cart", "begin_checkout", "purchase"), 30 * 60_000
EXPERIMENT, EXPERIMENT_TARGET, VARIANTS = "video_autoplay", "purchase", ("control", "autoplay")

MAX_PAST_MS = 72 * 3_600_000    # server default time.max_past: older event times are clamped
MAX_FUTURE_MS = 60_000          # server default time.max_future
DEFAULT_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 foothold-loadgen/1"


def fail(msg: str) -> None:
    print(f"loadgen: error: {msg}", file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------
def base36(x: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while x:
        x, r = divmod(x, 36)
        out = digits[r] + out
    return out or "0"


def gen_session(seed: int, n: int, now_ms: int, span_ms: int, p_autoplay: float = P_AUTOPLAY,
                segments: bool = False) -> list[dict]:
    """The events of session n, in strictly increasing ts order. p_autoplay is the share of
    sessions assigned to "autoplay" (P(purchase | variant) does not depend on it). With
    segments, the planted segment effects (above); the first event then carries the
    session's segments under "_seg" (removed before posting)."""
    rng = random.Random(f"foothold-loadgen:{seed}:{n}")
    sid = f"lg-{seed}-{n}"
    anon = f"lg-{seed}-v{n}"
    variant = VARIANTS[1] if rng.random() < p_autoplay else VARIANTS[0]
    video = rng.random() < P_VIDEO
    p_buy = P_PURCHASE_BASE * (VIDEO_RR if video else 1.0) * (1.0 + AUTOPLAY_LIFT if variant == "autoplay" else 1.0)
    seg = None
    if segments:
        paid = rng.random() < P_PAID
        mobile = rng.random() < P_MOBILE
        returning = rng.random() < P_RETURNING
        # a new visitor's id is made by its first event (well inside any session.timeout >= 1 s)
        age_ms = rng.randint(86_400_000, 30 * 86_400_000) if returning else rng.randint(0, 500)
        seg = {"utm_source": "paid" if paid else "(none)", "device": "mobile" if mobile else "desktop",
               "visitor": "returning" if returning else "new", "id_age_ms": age_ms}
        p_buy = p_buy * (PAID_RR if paid else 1.0) / (1 - P_PAID + P_PAID * PAID_RR)
    p_cart = P_CART_NONBUYER_MOBILE if seg and seg["device"] == "mobile" else P_CART_NONBUYER
    p_checkout = P_CHECKOUT_NONBUYER_MOBILE if seg and seg["device"] == "mobile" else P_CHECKOUT_NONBUYER
    buys = rng.random() < p_buy
    dwell = rng.random() < P_DWELL
    search = rng.random() < P_SITE_SEARCH
    newsletter = rng.random() < P_NEWSLETTER
    account = rng.random() < P_ACCOUNT
    page_micros = [name for name, p in (("wishlist_add", P_WISHLIST), ("pdf_download", P_PDF),
                                        ("social_share", P_SOCIAL)) if rng.random() < p]
    if video:
        page_micros.append("video_play")
    if buys:
        funnel = 3
    elif rng.random() < p_cart:
        funnel = 2 if rng.random() < p_checkout else 1
    else:
        funnel = 0
    n_pages = rng.choices(PRODUCT_PAGES, PRODUCT_PAGE_WEIGHTS)[0]
    products = rng.sample(range(1, N_PRODUCTS + 1), n_pages)
    dwell_page = rng.randrange(n_pages) if dwell else -1

    # Relative times first (t = ms since the session start), made absolute below.
    events: list[dict] = []
    t = 0

    def emit(name: str, url: str, gap_ms: int, **extra) -> None:
        nonlocal t
        t += max(1, gap_ms)
        e = {"event": name, "session_id": sid, "anonymous_id": anon,
             "event_id": f"{sid}-{len(events)}", "ts": t, "url": url}
        e.update(extra)
        events.append(e)

    def heartbeats(url: str, total_s: int, interleave: list[str]) -> None:
        # engaged time in chunks; micro events at random positions among them
        chunks = []
        left = total_s * 1000
        while left > 0:
            c = min(left, rng.randint(HEARTBEAT_S[0] * 1000, HEARTBEAT_S[1] * 1000))
            chunks.append(c)
            left -= c
        actions: list = list(chunks)
        for name in interleave:
            actions.insert(rng.randint(0, len(actions)), name)
        for a in actions:
            if isinstance(a, int):
                emit("engagement", url, a + rng.randint(100, 3000), engaged_ms=a)
            else:
                emit(a, url, rng.randint(2000, 20000), props=micro_props(a, url))

    def micro_props(name: str, url: str) -> dict:
        if name == "video_play":
            return {"video_kind": "demo", "product": url.rsplit("/", 1)[1]}
        if name == "pdf_download":
            return {"file": "spec-sheet.pdf"}
        if name == "social_share":
            return {"network": rng.choice(("mail", "x", "pinterest"))}
        return {"product": url.rsplit("/", 1)[1]}

    # 1. home page, carrying the exposure
    home = HOST + "/"
    if seg and seg["utm_source"] == "paid":
        home = HOST + "/?utm_source=paid&utm_medium=cpc"
    first = {"experiments": {EXPERIMENT: variant}}
    if rng.random() < 0.5:
        first["referrer"] = rng.choice(("https://www.google.com/", "https://news.example/", "https://mail.example/"))
    emit("page_view", home, 0, title="Shop", **first)
    home_micros = [m for m, on in (("newsletter_signup", newsletter), ("account_created", account)) if on]
    heartbeats(home, rng.randint(*HOME_ENGAGED_S), home_micros)
    # 2. search
    if search:
        term = rng.choice(SEARCH_TERMS)
        emit("site_search", HOST + "/search?q=" + urllib.parse.quote(term), rng.randint(2000, 15000),
             props={"q": term})
    # 3. product pages
    micro_page = {name: rng.randrange(n_pages) for name in page_micros}
    for i, pid in enumerate(products):
        url = f"{HOST}/p/{pid}"
        emit("page_view", url, rng.randint(1000, 20000), title=f"Product {pid}")
        engaged = rng.randint(*DWELL_ENGAGED_S) if i == dwell_page else rng.randint(*OTHER_ENGAGED_S)
        heartbeats(url, engaged, [m for m in page_micros if micro_page[m] == i])
    # 4. checkout funnel
    if funnel >= 1:
        emit("add_to_cart", f"{HOST}/p/{products[-1]}", rng.randint(5000, 60000),
             props={"product": str(products[-1]), "qty": rng.randint(1, 3)})
    if funnel >= 2:
        emit("begin_checkout", HOST + "/checkout", rng.randint(20000, 180000))
    if funnel >= 3:
        emit("purchase", HOST + "/checkout/complete", rng.randint(30000, 240000),
             props={"value": round(rng.uniform(15, 400), 2), "currency": "EUR"})

    duration = t
    assert duration <= MAX_SESSION_MS, (sid, duration)
    # Start uniformly in [now - span, now - 1 min - duration]: the last event is >= 1 min old.
    start = now_ms - span_ms + rng.randint(0, span_ms - 60_000 - duration)
    for e in events:
        e["ts"] += start
    if seg is not None:
        anon = base36(start - seg.pop("id_age_ms")) + "".join(rng.choice("0123456789abcdefghijklmnopqrstuvwxyz")
                                                            for _ in range(10))
        for e in events:
            e["anonymous_id"] = anon
        events[0]["_seg"] = seg
    return events


# --------------------------------------------------------------------------
# Ground truth, recomputed from the generated events (not the parameters)
# --------------------------------------------------------------------------
def url_path(url: str) -> str:
    """The path of a url, as the server's rollup extracts it (scheme://host/path?q#f)."""
    if not url.startswith("/"):
        i = url.find("://")
        if i < 0:
            return ""
        j = url.find("/", i + 3)
        if j < 0:
            return "/"
        url = url[j:]
    elif url.startswith("//"):
        j = url.find("/", 2)
        if j < 0:
            return "/"
        url = url[j:]
    for c in "?#":
        k = url.find(c)
        if k >= 0:
            url = url[:k]
    return url


def session_hits(events: list[dict]) -> list[tuple[int, str]]:
    """(ts, conversion) for every conversion occurrence, in time order."""
    hits = []
    pages: dict[str, list] = {}  # path -> [engaged_ms, fired] of its current page view
    for e in events:  # already in ts order
        name = e["event"]
        if name in SIMPLE_MICROS or name in ("add_to_cart", "begin_checkout") or name in MACROS:
            hits.append((e["ts"], name))
        path = url_path(e.get("url", ""))
        if path.startswith(DWELL_PREFIX):
            pv = pages.get(path)
            if pv is None or name == "page_view":  # a page view starts here
                pv = pages[path] = [0, False]
            pv[0] += max(0, e.get("engaged_ms", 0))
            if not pv[1] and pv[0] >= DWELL_MS:
                pv[1] = True
                hits.append((e["ts"], DWELL_NAME))
    return hits


def funnel_reached(hits: list[tuple[int, str]]) -> int:
    """Deepest step of the ordered funnel (PostHog's chain, a step-1 match restarts it)."""
    n = len(FUNNEL_STEPS)
    chain: list[list[int] | None] = [None] * n
    best = 0
    for ts, conv in hits:
        for k in range(n - 1, -1, -1):
            if FUNNEL_STEPS[k] != conv:
                continue
            if k == 0:
                chain[0] = [ts]
            elif chain[k - 1] is not None and ts - chain[k - 1][0] <= FUNNEL_WINDOW_MS:
                chain[k] = chain[k - 1] + [ts]
            else:
                continue
            best = max(best, len(chain[k]))
    return best


def ratio(x: float, y: float):
    return round(x / y, 6) if y else None


def segment_truth(sessions: list[list[dict]], segs: list) -> dict:
    """Per dimension value (utm_source, device, visitor, as config/foothold.toml defines them):
    closed sessions, sessions with a purchase, checkout funnel steps reached; and the
    planted rates the reports should recover."""
    out: dict = {}
    for events, seg in zip(sessions, segs):
        hits = session_hits(events)
        bought = any(name == "purchase" for _, name in hits)
        reached = funnel_reached(hits)
        for dim in ("utm_source", "device", "visitor"):
            cell = out.setdefault(dim, {}).setdefault(seg[dim], {"sessions": 0, "purchase": 0,
                                                                "funnel_reached": [0] * len(FUNNEL_STEPS)})
            cell["sessions"] += 1
            cell["purchase"] += bought
            for k in range(reached):
                cell["funnel_reached"][k] += 1
    organic = PURCHASE_RATE_TARGET / (1 - P_PAID + P_PAID * PAID_RR)

    def step_rate(p_cart: float, p_checkout: float) -> float:  # P(purchase | begin_checkout)
        p = PURCHASE_RATE_TARGET
        return round(p / (p + (1 - p) * p_cart * p_checkout), 6)

    out["planted"] = {
        "purchase_rate": {"paid": round(organic * PAID_RR, 6), "(none)": round(organic, 6)},
        "paid_rr": PAID_RR,
        "checkout_to_purchase": {"mobile": step_rate(P_CART_NONBUYER_MOBILE, P_CHECKOUT_NONBUYER_MOBILE),
                                 "desktop": step_rate(P_CART_NONBUYER, P_CHECKOUT_NONBUYER)},
        "p_paid": P_PAID, "p_mobile": P_MOBILE, "p_returning": P_RETURNING,
    }
    return out


def compute_truth(sessions: list[list[dict]], args, digest: str, segs: list | None = None) -> dict:
    names = MICROS + MACROS
    conv = {name: {"kind": "micro" if name in MICROS else "macro", "sessions_with": 0, "events": 0}
            for name in names}
    cells = {m: {"a": 0, "b": 0, "c": 0, "d": 0} for m in MICROS}
    exp = {v: {"exposed": 0, "converted": 0} for v in VARIANTS}
    reached = [0] * len(FUNNEL_STEPS)
    n_events = 0
    t_min, t_max = None, None
    for events in sessions:
        n_events += len(events)
        t_min = events[0]["ts"] if t_min is None else min(t_min, events[0]["ts"])
        t_max = events[-1]["ts"] if t_max is None else max(t_max, events[-1]["ts"])
        hits = session_hits(events)
        first: dict[str, int] = {}
        for ts, name in hits:
            conv[name]["events"] += 1
            if name not in first:
                first[name] = ts
        for name in first:
            conv[name]["sessions_with"] += 1
        target = first.get(EXPERIMENT_TARGET)
        for m in MICROS:
            did = m in first and (target is None or first[m] < target)
            cells[m][("a" if did else "c") if target is not None else ("b" if did else "d")] += 1
        exposure = next(((e["ts"], e["experiments"][EXPERIMENT]) for e in events
                         if EXPERIMENT in e.get("experiments", {})), None)
        if exposure is not None:
            exp_ts, variant = exposure
            exp[variant]["exposed"] += 1
            if any(name == EXPERIMENT_TARGET and ts >= exp_ts for ts, name in hits):
                exp[variant]["converted"] += 1
        for k in range(funnel_reached(hits)):
            reached[k] += 1

    lift = {}
    for m, c in cells.items():
        a, b, cc, d = c["a"], c["b"], c["c"], c["d"]
        rr = None
        if a + b and cc:  # (a / (a+b)) / (c / (c+d)), from the cells, not the rounded rates
            rr = round(a * (cc + d) / ((a + b) * cc), 6)
        lift[m] = dict(c, cr_with=ratio(a, a + b), cr_without=ratio(cc, cc + d), rr=rr)
    for v in exp.values():
        v["rate"] = ratio(v["converted"], v["exposed"])
    ctrl, treat = exp[VARIANTS[0]]["rate"], exp[VARIANTS[1]]["rate"]
    return {
        "seed": args.seed,
        "now_ms": args.now_ms,
        "span_hours": args.span_hours,
        "events_sha256": digest,
        "sessions": len(sessions),
        "events": n_events,
        "first_ts": t_min,
        "last_ts": t_max,
        "conversions": conv,
        "lift": {"target": EXPERIMENT_TARGET, "micro": lift},
        "experiment": {"name": EXPERIMENT, "target": EXPERIMENT_TARGET, "variants": exp,
                       "relative_lift": round(treat / ctrl - 1, 6) if ctrl and treat is not None else None},
        "funnel_checkout": {"steps": list(FUNNEL_STEPS), "window_ms": FUNNEL_WINDOW_MS, "mode": "ordered",
                            "reached": reached},
        "planted": {
            "video_rr": VIDEO_RR,
            "autoplay_lift": AUTOPLAY_LIFT,
            "purchase_rate_target": PURCHASE_RATE_TARGET,
            "p_purchase": {
                f"{v}/{'video' if vid else 'no_video'}":
                    round(P_PURCHASE_BASE * (VIDEO_RR if vid else 1) * (1 + AUTOPLAY_LIFT if v == "autoplay" else 1), 6)
                for v in VARIANTS for vid in (False, True)},
            "p_video": P_VIDEO,
            "p_autoplay": args.autoplay_share,
            "p_dwell": P_DWELL,
            "p_micro": {"newsletter_signup": P_NEWSLETTER, "account_created": P_ACCOUNT,
                        "wishlist_add": P_WISHLIST, "pdf_download": P_PDF, "social_share": P_SOCIAL,
                        "site_search": P_SITE_SEARCH},
            "null_micros": ["newsletter_signup", "account_created", "wishlist_add", "pdf_download",
                            "social_share", "site_search", "product_dwell_3m"],
            "nonbuyer_funnel": {"add_to_cart": P_CART_NONBUYER, "begin_checkout_given_cart": P_CHECKOUT_NONBUYER},
        },
        **({"segments": segment_truth(sessions, segs)} if segs and segs[0] is not None else {}),
    }


# --------------------------------------------------------------------------
# Posting
# --------------------------------------------------------------------------
class Poster:
    """K threads, one keep-alive HTTP connection each, draining a request queue."""

    MAX_ATTEMPTS = 30

    def __init__(self, base: str, connections: int, user_agent: str, timeout: float):
        u = urllib.parse.urlsplit(base)
        if u.scheme not in ("http", "https") or not u.hostname:
            fail(f"--url must be http(s)://HOST[:PORT][/prefix], got {base!r}")
        self.scheme, self.host = u.scheme, u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.prefix = u.path.rstrip("/")
        self.connections = connections
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "User-Agent": user_agent}
        self.lock = threading.Lock()
        self.error: str | None = None
        self.requests = self.retries = self.accepted = self.duplicates = 0

    def connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def post(self, conn_box: list, path: str, body: bytes, n_events: int, what: str,
             user_agent: str | None = None) -> bool:
        """POST until acknowledged; False (and self.error set) on a definite failure."""
        delay = 0.05
        headers = dict(self.headers, **({"User-Agent": user_agent} if user_agent else {}))
        for attempt in range(1, self.MAX_ATTEMPTS + 1):
            if self.error:
                return False
            try:
                conn = conn_box[0]
                conn.request("POST", self.prefix + path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                retry_after = resp.getheader("Retry-After")
            except (OSError, http.client.HTTPException) as exc:
                # connection dropped (keep-alive timeout, 503 with close, restart):
                # reconnect and resend; the event_ids make a resend harmless
                conn_box[0].close()
                conn_box[0] = self.connect()
                if attempt == self.MAX_ATTEMPTS:
                    self.set_error(f"{what}: {type(exc).__name__}: {exc} (after {attempt} attempts)")
                    return False
                with self.lock:
                    self.retries += 1
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if status in (429, 503):
                with self.lock:
                    self.retries += 1
                if attempt == self.MAX_ATTEMPTS:
                    self.set_error(f"{what}: HTTP {status} after {attempt} attempts: {data[:300]!r}")
                    return False
                try:
                    wait = min(float(retry_after), 2.0) if retry_after else delay
                except ValueError:
                    wait = delay
                time.sleep(max(wait, delay) * (0.5 + random.random()))  # jittered, not part of the data
                delay = min(delay * 2, 2.0)
                continue
            with self.lock:
                self.requests += 1
            if not 200 <= status < 300:
                self.set_error(f"{what}: HTTP {status}: {data[:500]!r}")
                return False
            try:
                r = json.loads(data)
                acc, dup, rej = int(r["accepted"]), int(r.get("duplicates", 0)), r.get("rejected", [])
            except (ValueError, KeyError, TypeError) as exc:
                self.set_error(f"{what}: HTTP {status} with an unexpected body ({exc}): {data[:300]!r}")
                return False
            if rej or acc + dup != n_events:
                self.set_error(f"{what}: {n_events} events sent, accepted {acc}, duplicates {dup}, "
                               f"rejected {json.dumps(rej)[:500]}")
                return False
            with self.lock:
                self.accepted += acc
                self.duplicates += dup
            return True
        return False

    def set_error(self, msg: str) -> None:
        with self.lock:
            if self.error is None:
                self.error = msg

    def run(self, bodies: list[tuple[bytes, int, str, str | None]]) -> None:
        work: queue.Queue = queue.Queue()
        for item in bodies:
            work.put(item)

        def worker() -> None:
            box = [self.connect()]
            try:
                while not self.error:
                    try:
                        body, n, what, ua = work.get_nowait()
                    except queue.Empty:
                        return
                    if not self.post(box, "/v1/collect", body, n, what, ua):
                        return
            finally:
                box[0].close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def get_json(self, path: str, token: str | None):
        conn = self.connect()
        try:
            headers = {"User-Agent": self.headers["User-Agent"]}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request("GET", self.prefix + path, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, data
        finally:
            conn.close()


def check_readback(poster: Poster, sessions: list[list[dict]], k: int, token: str | None) -> None:
    """GET /v1/sessions/<id> for k sessions spread over the run: same event_ids, in ts order."""
    if k <= 0 or not sessions:
        return
    step = max(1, len(sessions) // k)
    for events in sessions[::step][:k]:
        sid = events[0]["session_id"]
        status, data = poster.get_json("/v1/sessions/" + urllib.parse.quote(sid, safe=""), token)
        if status != 200:
            fail(f"readback of {sid}: HTTP {status}: {data[:300]!r}")
        got = json.loads(data)
        got_ids = [e.get("event_id") for e in got.get("events", [])]
        want_ids = [e["event_id"] for e in events]
        if got_ids != want_ids:
            fail(f"readback of {sid}: events {got_ids} != sent {want_ids}")
        for g, w in zip(got["events"], events):
            if g.get("event_time") != w["ts"] or g.get("event") != w["event"]:
                fail(f"readback of {sid}: stored {g} does not match sent {w}")
    print(f"loadgen: readback ok for {k} session(s)", file=sys.stderr)


# --------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="loadgen.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Simulate shoppers with planted effects and post them to a Foothold server "
                    "(POST /v1/collect, whole sessions per request, explicit session_id/event_id/ts). "
                    "Deterministic: the same --seed and --now-ms give the same events byte for byte.",
        epilog="""\
planted effects (constants at the top of this file):
  P(purchase) = base * 4.2 if the session played a video (before buying)
                     * 1.2 if its video_autoplay variant is "autoplay"
  base is set so the overall purchase rate is ~0.04; video_play in ~30% of
  sessions, product_dwell_3m in ~25%; other micro conversions are independent
  of purchase (true relative risk 1).
  --segments adds: utm_source=paid (30%) buys 2x as often as the rest; mobile
  (40%, a phone's User-Agent) has a leakier begin_checkout -> purchase step;
  35% returning visitors (README.md "Segments").

ground truth (--print-truth): JSON on stdout recomputed from the generated
  events with the seed definitions of config/foothold.toml: per conversion
  sessions_with/events, lift cells a/b/c/d for target purchase, experiment
  exposed/converted per variant, checkout funnel steps reached, and the planted
  parameters. A summary line (events/s, requests, elapsed) goes to stderr.

closing sessions (--tick-after): the server closes a session (and only then
  counts lift, funnel and experiment cells) when its watermark, the newest
  received_at minus session.timeout, passes the session's last received_at.
  After everything is acknowledged, --tick-after S sleeps S seconds and posts
  one {"event":"tick","session_id":"loadgen-tick"} so the watermark moves; S
  must exceed the server's session.timeout (30m by default; for tests start
  the server with e.g. FOOTHOLD_SESSION__TIMEOUT=2s and use --tick-after 3).
  The tick is one more event and session in the server's totals ("$all"),
  matching no conversion; it is not in the truth.

time: events carry client ts in ms and no sent_at (so the server stores
  event_time = ts, no skew correction). Sessions start uniformly over the last
  --span-hours before --now-ms and end >= 1 minute before it; the server clamps
  times outside [received_at - 72h, received_at + 1m], so a pinned --now-ms
  must be recent enough (checked).

exit status: 0 when every request was answered 2xx with every event accepted
  (or acknowledged as a duplicate of an earlier run); 1 otherwise; 2 on usage.
""")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="server base URL (default %(default)s)")
    p.add_argument("--sessions", type=int, default=20000, help="sessions to simulate (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed; session ids are lg-<seed>-<n> (default %(default)s)")
    p.add_argument("--now-ms", type=int, default=None,
                   help="pin 'now' (ms since the epoch) for reproducible output (default: the current time)")
    p.add_argument("--span-hours", type=float, default=24.0,
                   help="session starts spread uniformly over the last H hours, 0.6..71 (default %(default)s)")
    p.add_argument("--batch", type=int, default=100,
                   help="max events per request; whole sessions only, a larger session goes alone "
                        "(default %(default)s; the server allows 500)")
    p.add_argument("--connections", type=int, default=4,
                   help="parallel keep-alive connections, one thread each (default %(default)s)")
    p.add_argument("--autoplay-share", type=float, default=P_AUTOPLAY,
                   help="share of sessions assigned to variant autoplay, 0..1 (default %(default)s); "
                        "a split other than the config's weights is a sample ratio mismatch")
    p.add_argument("--segments", action="store_true",
                   help="plant the segment effects (paid traffic buys 2x, mobile's checkout step leaks; "
                        "see the top of this file) and add per-segment truth under \"segments\"")
    p.add_argument("--print-truth", action="store_true", help="print the JSON ground truth to stdout at the end")
    p.add_argument("--tick-after", type=float, default=None, metavar="SECONDS",
                   help="after all is acknowledged, sleep SECONDS then post one 'tick' event so the server's "
                        "watermark closes every generated session (see below)")
    p.add_argument("--readback", type=int, default=0, metavar="K",
                   help="after posting, GET /v1/sessions/<id> for K sessions and compare with what was sent "
                        "(default 0)")
    p.add_argument("--admin-token", default=None, help="bearer token for --readback (admin.token)")
    p.add_argument("--user-agent", default=DEFAULT_UA,
                   help="User-Agent sent; must not look like a bot, or the server leaves the events out of "
                        "analytics (default: a Firefox UA)")
    p.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds (default %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="generate (and --print-truth) without posting")
    args = p.parse_args(argv)
    if args.sessions < 0:
        p.error("--sessions must be >= 0")
    if not 0.0 <= args.autoplay_share <= 1.0:
        p.error("--autoplay-share must be in 0..1")
    if args.batch < 1:
        p.error("--batch must be >= 1")
    if args.connections < 1:
        p.error("--connections must be >= 1")
    if not 0.6 <= args.span_hours <= 71:
        p.error("--span-hours must be in 0.6..71 (sessions last up to ~30 min; the server clamps "
                "event times older than 72 h)")
    if args.tick_after is not None and args.tick_after < 0:
        p.error("--tick-after must be >= 0")
    wall = int(time.time() * 1000)
    if args.now_ms is None:
        args.now_ms = wall
    elif not args.dry_run:
        oldest = args.now_ms - int(args.span_hours * 3_600_000)
        if oldest < wall - MAX_PAST_MS + 10 * 60_000:
            p.error(f"--now-ms {args.now_ms} with --span-hours {args.span_hours}: the oldest sessions would "
                    f"be older than the server's max_past (72 h, with 10 min to spare) and get clamped")
        if args.now_ms - 60_000 > wall + MAX_FUTURE_MS:
            p.error(f"--now-ms {args.now_ms} is in the future: event times would be clamped")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    span_ms = int(args.span_hours * 3_600_000)
    t0 = time.monotonic()

    # Generate, serialize each session once, and pack whole sessions into requests
    # (with --segments, mobile sessions into requests of their own, sent with a phone's User-Agent).
    sessions = [gen_session(args.seed, n, args.now_ms, span_ms, args.autoplay_share, args.segments)
                for n in range(args.sessions)]
    segs = [events[0].pop("_seg", None) for events in sessions]
    digest = hashlib.sha256()
    bodies: list[tuple[bytes, int, str, str | None]] = []
    streams: dict[str | None, list] = {}  # user agent (None: --user-agent) -> [parts, count, first session]

    def flush(ua: str | None) -> None:
        parts, count, first = streams[ua]
        if parts:
            what = f"request {len(bodies) + 1} ({first}..)"
            bodies.append((('{"batch":[' + ",".join(parts) + "]}").encode(), count, what, ua))
        streams[ua] = [[], 0, ""]

    for events, seg in zip(sessions, segs):
        frag = json.dumps(events, separators=(",", ":"), ensure_ascii=False)
        digest.update(frag.encode())
        digest.update(b"\n")
        ua = MOBILE_UA if seg and seg["device"] == "mobile" else None
        stream = streams.setdefault(ua, [[], 0, ""])
        if stream[1] and stream[1] + len(events) > args.batch:
            flush(ua)
            stream = streams[ua]
        if not stream[0]:
            stream[2] = events[0]["session_id"]
        stream[0].append(frag[1:-1])
        stream[1] += len(events)
    for ua in list(streams):
        flush(ua)
    n_events = sum(n for _, n, _, _ in bodies)
    t_gen = time.monotonic() - t0

    truth = compute_truth(sessions, args, digest.hexdigest(), segs) if args.print_truth else None

    if not args.dry_run:
        poster = Poster(args.url, args.connections, args.user_agent, args.timeout)
        t1 = time.monotonic()
        poster.run(bodies)
        t_post = time.monotonic() - t1
        if poster.error:
            fail(poster.error)
        if poster.requests != len(bodies):
            fail(f"only {poster.requests} of {len(bodies)} requests were acknowledged")
        rate = n_events / t_post if t_post > 0 else float("inf")
        print(f"loadgen: posted {n_events} events of {len(sessions)} sessions in {len(bodies)} requests "
              f"over {args.connections} connections in {t_post:.2f} s ({rate:,.0f} events/s, "
              f"{len(bodies) / t_post if t_post > 0 else 0:,.0f} req/s); accepted {poster.accepted}, "
              f"duplicates {poster.duplicates}, retries {poster.retries}; generation {t_gen:.2f} s, "
              f"elapsed {time.monotonic() - t0:.2f} s", file=sys.stderr)
        check_readback(poster, sessions, args.readback, args.admin_token)
        if args.tick_after is not None:
            time.sleep(args.tick_after)
            box = [poster.connect()]
            tick = json.dumps({"event": "tick", "session_id": "loadgen-tick"}).encode()
            ok = poster.post(box, "/v1/collect", tick, 1, "tick")
            box[0].close()
            if not ok:
                fail(poster.error or "tick failed")
            print(f"loadgen: tick posted after {args.tick_after:g} s", file=sys.stderr)
    else:
        print(f"loadgen: dry run: {n_events} events of {len(sessions)} sessions in {len(bodies)} requests; "
              f"generation {t_gen:.2f} s", file=sys.stderr)

    if truth is not None:
        json.dump(truth, sys.stdout, indent=1)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
