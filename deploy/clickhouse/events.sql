-- Foothold's exported journey log: one row per accepted event, inserted by the
-- collector's ClickHouse exporter ([export.clickhouse], storage/export/README.md).
-- Valid on ClickHouse 18.16 (Debian bookworm's package) and on current releases:
-- no DateTime64, Map, LowCardinality or insert-dedup settings are needed.
--
-- Apply it once per ClickHouse server (or cluster shard):
--   clickhouse-client --multiquery < deploy/clickhouse/events.sql
-- or over HTTP, one statement per request:
--   curl 'http://clickhouse:8123/' --data-binary 'CREATE DATABASE IF NOT EXISTS foothold'
--
-- Exactly once: a record is keyed by (node, seq) - the collector's name and its
-- per-node log sequence number, never reused. The exporter re-sends a batch
-- when it crashed between ClickHouse's 200 and its own checkpoint, so a row may
-- briefly exist twice; ReplacingMergeTree collapses identical keys when it
-- merges parts, and a query that must count exactly reads `FINAL` (or groups by
-- node, seq with argMax/any). Every report query in the README does.
--
-- Times are Int64 milliseconds since the epoch (UTC), as the collector stores
-- them; `date` and `time` are derived (MATERIALIZED: never sent, always
-- computed) for partitioning and for humans. Props are kept twice: `props`, the
-- original flat JSON object (types intact: visitParamExtractString(props, 'k'),
-- or JSONExtract* on 19.x+), and prop_keys/prop_values, parallel arrays of its
-- keys and values as text for plain filters:
--   prop_values[indexOf(prop_keys, 'video_kind')] = 'demo'
-- Experiments likewise: experiment_names/experiment_variants.

CREATE DATABASE IF NOT EXISTS foothold;

CREATE TABLE IF NOT EXISTS foothold.events
(
    node String,                       -- [export.clickhouse] node: which collector
    seq UInt64,                        -- that collector's log sequence number
    event_id String,                   -- client or server-assigned (UUIDv7) id
    event String,
    session_id String,
    anonymous_id String,               -- '' when absent
    user_id String,                    -- '' when absent
    received_at Int64,                 -- server clock, ms
    event_time Int64,                  -- corrected and clamped client time, ms: the analytics clock
    ts Nullable(Int64),                -- client time as sent, ms; NULL when absent
    url String,
    referrer String,
    title String,
    engaged_ms Int64,                  -- 0 when absent
    experiment_names Array(String),
    experiment_variants Array(String),
    prop_keys Array(String),
    prop_values Array(String),         -- string as is, number shortest, true/false, '' for null
    props String,                      -- the props object as JSON text
    ip String,                         -- as stored per privacy.ip_mode
    user_agent String,
    bot UInt8,                         -- 1: left out of analytics
    flags UInt32,                      -- bits: 1 session derived, 2 event_id assigned, 4 time clamped,
                                       -- 8 skew corrected, 16 no client time (proto/event.h)
    source String DEFAULT '',          -- the [[source]] name ('' for native beacons without a write key);
                                       -- added to an older table by the exporter at start (ADD COLUMN)
    date Date MATERIALIZED toDate(toDateTime(intDiv(event_time, 1000), 'UTC'), 'UTC'),
    time DateTime('UTC') MATERIALIZED toDateTime(intDiv(event_time, 1000), 'UTC')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(date)
-- The sorting key is the dedupe key: (node, seq) decides identity and the
-- leading (session_id, event_time) are functions of it, so copies still
-- collapse, while one session's events sit together for funnels and readback.
ORDER BY (session_id, event_time, node, seq);
