-- Rollups for the historical reports (GET /api/reports/groups|agents): a
-- month of CDRs is millions of rows, so the reports sum small tables kept per
-- 15-minute bucket by AFTER INSERT triggers instead of scanning the rows.
-- A retried insert (ON CONFLICT DO NOTHING) inserts no row, fires no AFTER
-- trigger, and so is never counted twice. Re-running this file is harmless:
-- nwayacd_report_rebuild() recomputes every rollup from the raw rows.

-- nwayacd_ts never raises: a stamp that looks like a time but is none
-- ('2026-02-30 10:00:00') was an error that aborted the CDR's insert (index
-- 0010) or a whole report; now it is NULL, like any other unparseable stamp.
-- Every stamp the old body accepted gets the same value, so the index built
-- with it stays valid.
CREATE OR REPLACE FUNCTION nwayacd_ts(s text) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' THEN
    CASE WHEN substr(s, 1, 4)::int >= 1
          AND substr(s, 6, 2)::int BETWEEN 1 AND 12
          AND substr(s, 9, 2)::int >= 1
          AND substr(s, 9, 2)::int <= CASE substr(s, 6, 2)::int
                WHEN 2 THEN CASE WHEN substr(s, 1, 4)::int % 4 = 0
                                  AND (substr(s, 1, 4)::int % 100 <> 0 OR substr(s, 1, 4)::int % 400 = 0)
                                 THEN 29 ELSE 28 END
                WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30 ELSE 31 END
          AND ((substr(s, 12, 2)::int < 24 AND substr(s, 15, 2)::int < 60 AND substr(s, 18, 2)::int <= 60)
               OR substr(s, 12, 8) = '24:00:00')
    THEN make_timestamp(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int,
                        substr(s, 12, 2)::int, substr(s, 15, 2)::int, substr(s, 18, 2)::float8)
    END
  END
$$;

-- The 15-minute bucket of a local wall-clock time (CDR stamps) and of an
-- instant (agent log; buckets aligned in UTC, which are quarter hours in
-- every zone of today's tz database).
CREATE OR REPLACE FUNCTION nwayacd_bucket(t timestamp) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_bin('15 minutes', t, timestamp '2000-01-01') $$;
CREATE OR REPLACE FUNCTION nwayacd_bucket(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_bin('15 minutes', t, timestamptz '2000-01-01 00:00:00+00') $$;

-- Whole seconds from t0 to t (NULL when either is NULL), and the histogram
-- index of such a duration: negative counts as 0, beyond the cap as the cap.
-- A report whose T or N is beyond the cap reads the raw rows.
CREATE OR REPLACE FUNCTION nwayacd_secs(t timestamp, t0 timestamp) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT extract(epoch FROM t - t0)::bigint $$;

-- c is cumulative: c[i] counts the durations of at most i-1 seconds, for i
-- up to (the largest duration seen, clamped to 0..600) + 1. Adding d keeps it
-- so; a NULL d changes nothing.
-- (PL/pgSQL: its plan is cached, a SQL function's with a subquery is not.)
CREATE OR REPLACE FUNCTION nwayacd_cum_add(c int[], d bigint) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF d IS NULL THEN
    RETURN c;
  END IF;
  RETURN ARRAY(
    SELECT coalesce(c[least(i, cardinality(c))], 0) + CASE WHEN i > least(greatest(d, 0), 600) THEN 1 ELSE 0 END
    FROM generate_series(1, greatest(cardinality(c), least(greatest(d, 0), 600)::int + 1)) AS i ORDER BY i);
END;
$$;

-- The cumulative histogram (as nwayacd_cum_add builds) of sorted durations
-- already clamped to 0..600: entry i counts those ≤ i-1 (a binary search).
CREATE OR REPLACE FUNCTION nwayacd_cum_of(ds int[]) RETURNS int[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN cardinality(ds) > 0 THEN ARRAY(
    SELECT width_bucket(i - 1, ds) FROM generate_series(1, ds[cardinality(ds)] + 1) AS i ORDER BY i)
  ELSE '{}' END
$$;

-- Agent states as the reports name them; NULL for log rows that are no state.
CREATE OR REPLACE FUNCTION nwayacd_report_state(status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN status IN ('ready', 'ring', 'talking', 'typing', 'ivr', 'no_answer', 'no_ready', 'busy', 'rest') THEN status
              WHEN status = 'login' THEN 'ready' WHEN status = 'logout' THEN 'logged_out' END
$$;

-- Per group and 15-minute bucket of a_start_stamp (local wall clock), the
-- queue calls (not callouts) with a parseable start stamp.
CREATE TABLE IF NOT EXISTS nwayacd_report_group (
  group_number varchar(50) NOT NULL,
  bucket       timestamp NOT NULL,
  offered      bigint NOT NULL DEFAULT 0,          -- flag is not 黑名单
  answered     bigint NOT NULL DEFAULT 0,          -- answer_stamp <> ''
  abandoned    bigint NOT NULL DEFAULT 0,          -- unanswered, the caller hung up
  blacklisted  bigint NOT NULL DEFAULT 0,
  wait_n       bigint NOT NULL DEFAULT 0,          -- answered with a parseable answer_stamp
  wait_sum     interval NOT NULL DEFAULT '0',      -- their answer_stamp - a_start_stamp, summed as avg() does
  wait_cum     int[] NOT NULL DEFAULT '{}',        -- their waits, cumulative (nwayacd_cum_add)
  abandon_cum  int[] NOT NULL DEFAULT '{}',        -- abandoned: a_end_stamp - a_start_stamp, cumulative
  talk_n       bigint NOT NULL DEFAULT 0,          -- answered with a numeric billsec
  talk_sum     float8 NOT NULL DEFAULT 0,
  PRIMARY KEY (group_number, bucket)
) WITH (fillfactor = 70); -- room for HOT updates: the counters change, the keys never

-- Per agent (destination_number, or an entry of no_answer_agents) and
-- 15-minute bucket of a_start_stamp; the _1h table per hour (a month at
-- 500 agents is 1.4 million quarter hours, a report by day wants fewer rows).
CREATE TABLE IF NOT EXISTS nwayacd_report_agent_calls (
  ext        text NOT NULL,                        -- no_answer_agents' entries have no length limit
  bucket     timestamp NOT NULL,
  calls      bigint NOT NULL DEFAULT 0,            -- answered queue calls
  talk_sum   float8 NOT NULL DEFAULT 0,            -- their numeric billsec
  no_answers bigint NOT NULL DEFAULT 0,            -- offers the agent let ring out (callouts too)
  PRIMARY KEY (ext, bucket)
) WITH (fillfactor = 70);
CREATE TABLE IF NOT EXISTS nwayacd_report_agent_calls_1h (LIKE nwayacd_report_agent_calls INCLUDING ALL) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS nwayacd_report_agent_calls_bucket ON nwayacd_report_agent_calls (bucket);
CREATE INDEX IF NOT EXISTS nwayacd_report_agent_calls_1h_bucket ON nwayacd_report_agent_calls_1h (bucket);

-- Per agent and UTC 15-minute bucket (_1h: UTC hour), microseconds in each
-- state. A state lasts from its log row to the agent's next state row (by
-- at, seq).
CREATE TABLE IF NOT EXISTS nwayacd_report_agent_state (
  ext        varchar(50) NOT NULL,
  bucket     timestamptz NOT NULL,
  ready      bigint NOT NULL DEFAULT 0,
  ring       bigint NOT NULL DEFAULT 0,
  talking    bigint NOT NULL DEFAULT 0,
  typing     bigint NOT NULL DEFAULT 0,
  ivr        bigint NOT NULL DEFAULT 0,
  no_answer  bigint NOT NULL DEFAULT 0,
  no_ready   bigint NOT NULL DEFAULT 0,
  busy       bigint NOT NULL DEFAULT 0,
  rest       bigint NOT NULL DEFAULT 0,
  logged_out bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (ext, bucket)
) WITH (fillfactor = 70);
CREATE TABLE IF NOT EXISTS nwayacd_report_agent_state_1h (LIKE nwayacd_report_agent_state INCLUDING ALL) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS nwayacd_report_agent_state_bucket ON nwayacd_report_agent_state (bucket);
CREATE INDEX IF NOT EXISTS nwayacd_report_agent_state_1h_bucket ON nwayacd_report_agent_state_1h (bucket);
CREATE INDEX IF NOT EXISTS nwayacd_report_group_bucket ON nwayacd_report_group (bucket);

-- Each agent's latest state row: its state is still running (the reports
-- count it up to now). Its row lock serialises one agent's log inserts.
CREATE TABLE IF NOT EXISTS nwayacd_report_agent_open (
  ext   varchar(50) PRIMARY KEY,
  at    timestamptz NOT NULL,
  seq   bigint NOT NULL,
  state text NOT NULL
) WITH (fillfactor = 50);

CREATE INDEX IF NOT EXISTS nwayacd_agent_log_ext_at ON nwayacd_agent_log (ext, at, seq);

-- Adds sign × the span [a, e) of state to the agent's buckets (PL/pgSQL,
-- whose plans are cached).
CREATE OR REPLACE FUNCTION nwayacd_report_span(p_ext text, p_state text, a timestamptz, e timestamptz, sign int)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO nwayacd_report_agent_state AS r (ext, bucket, ready, ring, talking, typing, ivr, no_answer, no_ready, busy, rest, logged_out)
  SELECT p_ext, bs, CASE WHEN p_state = 'ready' THEN u ELSE 0 END, CASE WHEN p_state = 'ring' THEN u ELSE 0 END, CASE WHEN p_state = 'talking' THEN u ELSE 0 END, CASE WHEN p_state = 'typing' THEN u ELSE 0 END, CASE WHEN p_state = 'ivr' THEN u ELSE 0 END, CASE WHEN p_state = 'no_answer' THEN u ELSE 0 END, CASE WHEN p_state = 'no_ready' THEN u ELSE 0 END, CASE WHEN p_state = 'busy' THEN u ELSE 0 END, CASE WHEN p_state = 'rest' THEN u ELSE 0 END, CASE WHEN p_state = 'logged_out' THEN u ELSE 0 END
  FROM (SELECT bs, sign * (extract(epoch FROM least(e, bs + interval '15 minutes') - greatest(a, bs)) * 1000000)::bigint AS u
        FROM generate_series(nwayacd_bucket(a), e - interval '1 microsecond', interval '15 minutes') AS bs WHERE e > a) x
  ON CONFLICT (ext, bucket) DO UPDATE SET ready = r.ready + EXCLUDED.ready, ring = r.ring + EXCLUDED.ring, talking = r.talking + EXCLUDED.talking, typing = r.typing + EXCLUDED.typing, ivr = r.ivr + EXCLUDED.ivr, no_answer = r.no_answer + EXCLUDED.no_answer, no_ready = r.no_ready + EXCLUDED.no_ready, busy = r.busy + EXCLUDED.busy, rest = r.rest + EXCLUDED.rest, logged_out = r.logged_out + EXCLUDED.logged_out;
  INSERT INTO nwayacd_report_agent_state_1h AS r (ext, bucket, ready, ring, talking, typing, ivr, no_answer, no_ready, busy, rest, logged_out)
  SELECT p_ext, bs, CASE WHEN p_state = 'ready' THEN u ELSE 0 END, CASE WHEN p_state = 'ring' THEN u ELSE 0 END, CASE WHEN p_state = 'talking' THEN u ELSE 0 END, CASE WHEN p_state = 'typing' THEN u ELSE 0 END, CASE WHEN p_state = 'ivr' THEN u ELSE 0 END, CASE WHEN p_state = 'no_answer' THEN u ELSE 0 END, CASE WHEN p_state = 'no_ready' THEN u ELSE 0 END, CASE WHEN p_state = 'busy' THEN u ELSE 0 END, CASE WHEN p_state = 'rest' THEN u ELSE 0 END, CASE WHEN p_state = 'logged_out' THEN u ELSE 0 END
  FROM (SELECT bs, sign * (extract(epoch FROM least(e, bs + interval '1 hour') - greatest(a, bs)) * 1000000)::bigint AS u
        FROM generate_series(date_bin('1 hour', a, timestamptz '2000-01-01 00:00:00+00'), e - interval '1 microsecond', interval '1 hour') AS bs WHERE e > a) x
  ON CONFLICT (ext, bucket) DO UPDATE SET ready = r.ready + EXCLUDED.ready, ring = r.ring + EXCLUDED.ring, talking = r.talking + EXCLUDED.talking, typing = r.typing + EXCLUDED.typing, ivr = r.ivr + EXCLUDED.ivr, no_answer = r.no_answer + EXCLUDED.no_answer, no_ready = r.no_ready + EXCLUDED.no_ready, busy = r.busy + EXCLUDED.busy, rest = r.rest + EXCLUDED.rest, logged_out = r.logged_out + EXCLUDED.logged_out;
END;
$$;

CREATE OR REPLACE FUNCTION nwayacd_report_cdr() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamp := nwayacd_ts(NEW.a_start_stamp);
  b  timestamp;
  ab boolean;
  talk float8;
BEGIN
  IF t0 IS NULL THEN
    RETURN NULL;
  END IF;
  b := nwayacd_bucket(t0);
  talk := CASE WHEN NEW.billsec ~ '^[0-9]{1,250}$' THEN NEW.billsec::float8 END;
  IF NOT NEW.is_callout THEN
    ab := NEW.answer_stamp = '' AND NEW.flag IN ('排队放弃', '单座席无应答', '多座席无应答');
    INSERT INTO nwayacd_report_group AS r (group_number, bucket, offered, answered, abandoned, blacklisted,
        wait_n, wait_sum, wait_cum, abandon_cum, talk_n, talk_sum)
    SELECT NEW.group_number, b, (NEW.flag <> '黑名单')::int, (NEW.answer_stamp <> '')::int, ab::int,
           (NEW.flag = '黑名单')::int, (w IS NOT NULL)::int, coalesce(t - t0, '0'), nwayacd_cum_add('{}', nwayacd_secs(t, t0)),
           CASE WHEN ab THEN nwayacd_cum_add('{}', nwayacd_secs(nwayacd_ts(NEW.a_end_stamp), t0)) ELSE '{}' END,
           (x IS NOT NULL)::int, coalesce(x, 0)
    FROM (SELECT CASE WHEN NEW.answer_stamp <> '' THEN nwayacd_ts(NEW.answer_stamp) END AS t) AS a,
         LATERAL (SELECT a.t - t0 AS w, CASE WHEN NEW.answer_stamp <> '' THEN talk END AS x) AS v
    ON CONFLICT (group_number, bucket) DO UPDATE SET
      offered = r.offered + EXCLUDED.offered, answered = r.answered + EXCLUDED.answered,
      abandoned = r.abandoned + EXCLUDED.abandoned, blacklisted = r.blacklisted + EXCLUDED.blacklisted,
      wait_n = r.wait_n + EXCLUDED.wait_n, wait_sum = r.wait_sum + EXCLUDED.wait_sum,
      wait_cum = CASE WHEN EXCLUDED.wait_n = 0 THEN r.wait_cum
                      ELSE nwayacd_cum_add(r.wait_cum, nwayacd_secs(nwayacd_ts(NEW.answer_stamp), t0)) END,
      abandon_cum = CASE WHEN NOT ab THEN r.abandon_cum
                         ELSE nwayacd_cum_add(r.abandon_cum, nwayacd_secs(nwayacd_ts(NEW.a_end_stamp), t0)) END,
      talk_n = r.talk_n + EXCLUDED.talk_n, talk_sum = r.talk_sum + EXCLUDED.talk_sum;
    IF NEW.answer_stamp <> '' AND NEW.destination_number <> '' THEN
      INSERT INTO nwayacd_report_agent_calls AS r (ext, bucket, calls, talk_sum)
      VALUES (NEW.destination_number, b, 1, coalesce(talk, 0))
      ON CONFLICT (ext, bucket) DO UPDATE SET calls = r.calls + 1, talk_sum = r.talk_sum + EXCLUDED.talk_sum;
      INSERT INTO nwayacd_report_agent_calls_1h AS r (ext, bucket, calls, talk_sum)
      VALUES (NEW.destination_number, date_trunc('hour', t0), 1, coalesce(talk, 0))
      ON CONFLICT (ext, bucket) DO UPDATE SET calls = r.calls + 1, talk_sum = r.talk_sum + EXCLUDED.talk_sum;
    END IF;
  END IF;
  IF cardinality(NEW.no_answer_agents) > 0 THEN
    INSERT INTO nwayacd_report_agent_calls AS r (ext, bucket, no_answers)
    SELECT u, b, count(*) FROM unnest(NEW.no_answer_agents) AS u WHERE u IS NOT NULL GROUP BY u
    ON CONFLICT (ext, bucket) DO UPDATE SET no_answers = r.no_answers + EXCLUDED.no_answers;
    INSERT INTO nwayacd_report_agent_calls_1h AS r (ext, bucket, no_answers)
    SELECT u, date_trunc('hour', t0), count(*) FROM unnest(NEW.no_answer_agents) AS u WHERE u IS NOT NULL GROUP BY u
    ON CONFLICT (ext, bucket) DO UPDATE SET no_answers = r.no_answers + EXCLUDED.no_answers;
  END IF;
  RETURN NULL;
END;
$$;

-- One agent's rows are processed in the order their triggers fire. A late
-- row (earlier than the agent's latest) looks up its neighbours in the table,
-- so a single INSERT of several rows must not hold late rows of the same
-- agent (the store inserts one row per statement; a bulk load disables the
-- trigger and calls nwayacd_report_rebuild()).
CREATE OR REPLACE FUNCTION nwayacd_report_agent_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  st text := nwayacd_report_state(NEW.status);
  o  record;
  p  record;
  n  record;
BEGIN
  IF st IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT at, seq, state INTO o FROM nwayacd_report_agent_open WHERE ext = NEW.ext FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO nwayacd_report_agent_open (ext, at, seq, state) VALUES (NEW.ext, NEW.at, NEW.seq, st)
    ON CONFLICT (ext) DO NOTHING;
    IF FOUND THEN
      RETURN NULL; -- the agent's first state
    END IF;
    -- another session's first state came first
    SELECT at, seq, state INTO o FROM nwayacd_report_agent_open WHERE ext = NEW.ext FOR UPDATE;
  END IF;
  IF (NEW.at, NEW.seq) > (o.at, o.seq) THEN
    -- The usual case: the latest state ends the one before.
    PERFORM nwayacd_report_span(NEW.ext, o.state, o.at, NEW.at, 1);
    UPDATE nwayacd_report_agent_open SET at = NEW.at, seq = NEW.seq, state = st WHERE ext = NEW.ext;
    RETURN NULL;
  END IF;
  -- A late row (another node's, or a retry) splits the span it falls in.
  SELECT l.at, nwayacd_report_state(l.status) AS state INTO p FROM nwayacd_agent_log l
  WHERE l.ext = NEW.ext AND (l.at, l.seq) < (NEW.at, NEW.seq) AND nwayacd_report_state(l.status) IS NOT NULL
  ORDER BY l.at DESC, l.seq DESC LIMIT 1;
  SELECT l.at INTO n FROM nwayacd_agent_log l
  WHERE l.ext = NEW.ext AND (l.at, l.seq) > (NEW.at, NEW.seq) AND nwayacd_report_state(l.status) IS NOT NULL
  ORDER BY l.at, l.seq LIMIT 1;
  IF p.at IS NOT NULL THEN
    PERFORM nwayacd_report_span(NEW.ext, p.state, p.at, n.at, -1);
    PERFORM nwayacd_report_span(NEW.ext, p.state, p.at, NEW.at, 1);
  END IF;
  PERFORM nwayacd_report_span(NEW.ext, st, NEW.at, n.at, 1);
  RETURN NULL;
END;
$$;

-- Recomputes every rollup from nwayacd_cdr and nwayacd_agent_log (the
-- backfill below; also after a bulk load with the triggers disabled).
-- Whether the rollups hold everything (see the end of this file).
CREATE TABLE IF NOT EXISTS nwayacd_report_complete (
  id       int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  complete boolean NOT NULL
);

CREATE OR REPLACE FUNCTION nwayacd_report_rebuild() RETURNS void LANGUAGE sql SET work_mem = '256MB' AS $$
  DELETE FROM nwayacd_report_group;
  DELETE FROM nwayacd_report_agent_calls;
  DELETE FROM nwayacd_report_agent_calls_1h;
  DELETE FROM nwayacd_report_agent_state;
  DELETE FROM nwayacd_report_agent_state_1h;
  DELETE FROM nwayacd_report_agent_open;

  INSERT INTO nwayacd_report_group (group_number, bucket, offered, answered, abandoned, blacklisted,
      wait_n, wait_sum, wait_cum, abandon_cum, talk_n, talk_sum)
  WITH c AS (
    SELECT group_number AS g, nwayacd_bucket(t0) AS b, flag, answer_stamp <> '' AS ans,
           answer_stamp = '' AND flag IN ('排队放弃', '单座席无应答', '多座席无应答') AS ab,
           CASE WHEN answer_stamp <> '' THEN nwayacd_ts(answer_stamp) - t0 END AS w,
           CASE WHEN answer_stamp <> '' THEN nwayacd_secs(nwayacd_ts(answer_stamp), t0) END AS ws,
           CASE WHEN answer_stamp = '' AND flag IN ('排队放弃', '单座席无应答', '多座席无应答')
                THEN nwayacd_secs(nwayacd_ts(a_end_stamp), t0) END AS ds,
           CASE WHEN answer_stamp <> '' AND billsec ~ '^[0-9]{1,250}$' THEN billsec::float8 END AS talk
    FROM (SELECT *, nwayacd_ts(a_start_stamp) AS t0 FROM nwayacd_cdr WHERE NOT is_callout) x
    WHERE t0 IS NOT NULL
  )
  SELECT g, b, offered, answered, abandoned, blacklisted, wait_n, wait_sum, nwayacd_cum_of(wds), nwayacd_cum_of(ads), talk_n, talk_sum
  FROM (SELECT g, b, count(*) FILTER (WHERE flag <> '黑名单') AS offered, count(*) FILTER (WHERE ans) AS answered,
               count(*) FILTER (WHERE ab) AS abandoned, count(*) FILTER (WHERE flag = '黑名单') AS blacklisted,
               count(w) AS wait_n, coalesce(sum(w), '0') AS wait_sum,
               array_agg(least(greatest(ws, 0), 600)::int ORDER BY ws) FILTER (WHERE ws IS NOT NULL) AS wds,
               array_agg(least(greatest(ds, 0), 600)::int ORDER BY ds) FILTER (WHERE ds IS NOT NULL) AS ads,
               count(talk) AS talk_n, coalesce(sum(talk), 0) AS talk_sum
        FROM c GROUP BY 1, 2) a;

  INSERT INTO nwayacd_report_agent_calls (ext, bucket, calls, talk_sum, no_answers)
  SELECT ext, b, sum(calls), sum(talk), sum(na) FROM (
    SELECT destination_number AS ext, nwayacd_bucket(nwayacd_ts(a_start_stamp)) AS b, 1 AS calls,
           CASE WHEN billsec ~ '^[0-9]{1,250}$' THEN billsec::float8 ELSE 0 END AS talk, 0 AS na
    FROM nwayacd_cdr
    WHERE nwayacd_ts(a_start_stamp) IS NOT NULL AND NOT is_callout AND answer_stamp <> '' AND destination_number <> ''
    UNION ALL
    SELECT u, nwayacd_bucket(nwayacd_ts(a_start_stamp)), 0, 0, 1
    FROM nwayacd_cdr, unnest(no_answer_agents) AS u
    WHERE nwayacd_ts(a_start_stamp) IS NOT NULL AND u IS NOT NULL
  ) x GROUP BY 1, 2;

  INSERT INTO nwayacd_report_agent_calls_1h (ext, bucket, calls, talk_sum, no_answers)
  SELECT ext, date_trunc('hour', bucket), sum(calls), sum(talk_sum), sum(no_answers)
  FROM nwayacd_report_agent_calls GROUP BY 1, 2;

  INSERT INTO nwayacd_report_agent_state (ext, bucket, ready, ring, talking, typing, ivr, no_answer, no_ready, busy, rest, logged_out)
  SELECT ext, bs, coalesce(sum(u) FILTER (WHERE st = 'ready'), 0), coalesce(sum(u) FILTER (WHERE st = 'ring'), 0), coalesce(sum(u) FILTER (WHERE st = 'talking'), 0), coalesce(sum(u) FILTER (WHERE st = 'typing'), 0), coalesce(sum(u) FILTER (WHERE st = 'ivr'), 0), coalesce(sum(u) FILTER (WHERE st = 'no_answer'), 0), coalesce(sum(u) FILTER (WHERE st = 'no_ready'), 0), coalesce(sum(u) FILTER (WHERE st = 'busy'), 0), coalesce(sum(u) FILTER (WHERE st = 'rest'), 0), coalesce(sum(u) FILTER (WHERE st = 'logged_out'), 0)
  FROM (SELECT ext, st, a, lead(a) OVER (PARTITION BY ext ORDER BY a, seq) AS e
        FROM (SELECT ext, nwayacd_report_state(status) AS st, at AS a, seq FROM nwayacd_agent_log) l
        WHERE st IS NOT NULL) s,
       LATERAL generate_series(nwayacd_bucket(a), e - interval '1 microsecond', interval '15 minutes') AS bs,
       LATERAL (SELECT (extract(epoch FROM least(e, bs + interval '15 minutes') - greatest(a, bs)) * 1000000)::bigint AS u) AS x
  WHERE e > a
  GROUP BY 1, 2;

  INSERT INTO nwayacd_report_agent_state_1h (ext, bucket, ready, ring, talking, typing, ivr, no_answer, no_ready, busy, rest, logged_out)
  SELECT ext, date_bin('1 hour', bucket, timestamptz '2000-01-01 00:00:00+00'), sum(ready), sum(ring), sum(talking), sum(typing), sum(ivr), sum(no_answer), sum(no_ready), sum(busy), sum(rest), sum(logged_out)
  FROM nwayacd_report_agent_state GROUP BY 1, 2;

  INSERT INTO nwayacd_report_agent_open (ext, at, seq, state)
  SELECT DISTINCT ON (ext) ext, at, seq, nwayacd_report_state(status)
  FROM nwayacd_agent_log WHERE nwayacd_report_state(status) IS NOT NULL
  ORDER BY ext, at DESC, seq DESC;

  INSERT INTO nwayacd_report_complete VALUES (1, true) ON CONFLICT (id) DO UPDATE SET complete = true;
$$;

DROP TRIGGER IF EXISTS nwayacd_report_cdr ON nwayacd_cdr;
CREATE TRIGGER nwayacd_report_cdr AFTER INSERT ON nwayacd_cdr
  FOR EACH ROW EXECUTE FUNCTION nwayacd_report_cdr();
DROP TRIGGER IF EXISTS nwayacd_report_agent_log ON nwayacd_agent_log;
CREATE TRIGGER nwayacd_report_agent_log AFTER INSERT ON nwayacd_agent_log
  FOR EACH ROW EXECUTE FUNCTION nwayacd_report_agent_log();

-- Reports read the rollups only once they hold everything (complete). A
-- small database is backfilled here; a large one is not, since migrations
-- run as the module loads: the triggers keep the rollups from now on, the
-- reports read the raw rows meanwhile, and `SELECT nwayacd_report_rebuild();`
-- (at a quiet hour: it rewrites every rollup in one transaction) completes them.

DO $$
BEGIN
  IF (SELECT count(*) FROM (SELECT 1 FROM nwayacd_cdr LIMIT 100001) c) <= 100000
     AND (SELECT count(*) FROM (SELECT 1 FROM nwayacd_agent_log LIMIT 300001) a) <= 300000 THEN
    PERFORM nwayacd_report_rebuild();
  ELSE
    INSERT INTO nwayacd_report_complete VALUES (1, false) ON CONFLICT (id) DO NOTHING;
    RAISE NOTICE 'nwayacd: report rollups not backfilled (large tables); reports read the raw rows until SELECT nwayacd_report_rebuild() runs';
  END IF;
END $$;
