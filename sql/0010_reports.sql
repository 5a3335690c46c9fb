-- Historical reports (GET /api/reports/groups|agents): CDR stamps are text
-- ('YYYY-MM-DD HH:MM:SS', node local time), so an IMMUTABLE parser makes them
-- indexable; the report index covers every column the group report reads, so
-- PostgreSQL answers from the index alone. Numbered 0010 to stay clear of
-- schema migrations added alongside.
CREATE OR REPLACE FUNCTION nwayacd_ts(s text) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN s ~ '^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$'
    THEN make_timestamp(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int,
                        substr(s, 12, 2)::int, substr(s, 15, 2)::int, substr(s, 18, 2)::float8)
  END
$$;
CREATE INDEX IF NOT EXISTS nwayacd_cdr_report ON nwayacd_cdr (nwayacd_ts(a_start_stamp), group_number)
  INCLUDE (is_callout, answer_stamp, a_end_stamp, billsec, flag, destination_number);
CREATE INDEX IF NOT EXISTS nwayacd_agent_log_at ON nwayacd_agent_log (at);
