-- The wrk load of the benchmarks (scripts/bench.sh, scripts/bench_sessions.sh): real-traffic
-- bodies like a tracker's beacons, with a browser User-Agent (BENCH_UA, required: an empty or
-- library User-Agent is a bot, and the aggregator skips bots) and current timestamps.
--   BENCH_SHAPE   fresh (10-event visits, new session ids every run) | long (a pool of 4096
--                 sessions that keep growing)
--   BENCH_EVENTS  events a request (1: one JSON object; more: a JSON array, or a Segment batch)
--   BENCH_FORMAT  native (/v1/collect) | segment (/v1/batch with track calls)
-- Prints one line: RESULT rps= p50_ms= p99_ms= errors= non2xx= requests= secs=
local shape = os.getenv("BENCH_SHAPE") or "fresh"
local per = tonumber(os.getenv("BENCH_EVENTS") or "1")
local format = os.getenv("BENCH_FORMAT") or "native"
local path = format == "segment" and "/v1/batch" or "/v1/collect"
local ua = os.getenv("BENCH_UA") or error("bench_load.lua: BENCH_UA is not set")
local names = {"page_view", "page_view", "page_view", "engagement", "engagement", "site_search",
               "video_play", "add_to_cart", "begin_checkout", "purchase", "wishlist_add", "newsletter_signup"}
local n, run, headers = 0, "", nil
function init(args)
  math.randomseed(os.time() + os.clock() * 1e6)
  run = string.format("%06x", math.random(0, 0xffffff))  -- new session ids every run
  headers = {["Content-Type"] = "text/plain;charset=UTF-8", ["User-Agent"] = ua}
end
local function sid(i)
  if shape == "fresh" then return run .. "-visit-" .. math.floor(i / 10) end
  return run .. "-pool-" .. (i % 4096)
end
-- ~330 bytes, like a tracker beacon: ids, url with a query, title, engagement, exposure, props.
local function native(i, ts)
  local s, p = sid(i), i % 500 + 1
  return '{"event":"' .. names[(i * 5 + math.floor(i / 97)) % 12 + 1] .. '","session_id":"' .. s ..
    '","anonymous_id":"a-' .. s .. '","ts":' .. ts ..
    ',"url":"https://shop.example.com/p/' .. p .. '-trail-running-shoes?ref=home&utm_source=newsletter"' ..
    ',"title":"Trail running shoes X' .. p .. ' | Shop Example","engaged_ms":' .. (i % 7) * 5000 ..
    ',"experiments":{"video_autoplay":"' .. (i % 2 == 0 and "control" or "autoplay") ..
    '"},"props":{"category":"running","position":' .. (i % 24) .. ',"logged_in":false}}'
end
local function segment(i, ts)
  local s, p = sid(i), i % 500 + 1
  return '{"type":"track","event":"Product Viewed","anonymousId":"a-' .. s .. '","properties":{"product_id":"' ..
    p .. '","category":"running","position":' .. (i % 24) .. '},"context":{"page":{"url":' ..
    '"https://shop.example.com/p/' .. p .. '-trail-running-shoes?ref=home"},"userAgent":"' .. ua .. '"}}'
end
function request()
  local ts = os.time() * 1000
  local make = format == "segment" and segment or native
  local body
  if per == 1 then
    body = make(n, ts); n = n + 1
  else
    local t = {}
    for k = 1, per do t[k] = make(n, ts); n = n + 1 end
    body = table.concat(t, ",")
    body = format == "segment" and ('{"batch":[' .. body .. ']}') or ("[" .. body .. "]")
  end
  return wrk.format("POST", path, headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d requests=%d secs=%.3f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests, summary.duration / 1e6))
end
