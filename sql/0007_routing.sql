-- Routing beyond the seed (issue 12, go/acd/ROUTING.md): tiers and weights
-- of memberships (kept across logins, so not in ext_group_map), skills of
-- extensions, and per-group routing and queue options. Idempotent.

CREATE TABLE IF NOT EXISTS nwayacd_member_config (
  ext          varchar(50) NOT NULL,
  group_number varchar(50) NOT NULL
               REFERENCES public.ext_group (group_number) ON DELETE CASCADE ON UPDATE CASCADE,
  tier         integer NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 9),
  weight       integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
  PRIMARY KEY (ext, group_number)
);

CREATE TABLE IF NOT EXISTS nwayacd_skill (
  ext   varchar(50) NOT NULL,
  skill varchar(32) NOT NULL,
  level integer NOT NULL CHECK (level BETWEEN 1 AND 10),
  PRIMARY KEY (ext, skill)
);

-- Durations in whole seconds; skills as "name:level,…"; keys one DTMF digit
-- or ''.
CREATE TABLE IF NOT EXISTS nwayacd_group_option (
  group_number           varchar(50) PRIMARY KEY
                         REFERENCES public.ext_group (group_number) ON DELETE CASCADE ON UPDATE CASCADE,
  memory_first           boolean NOT NULL DEFAULT false,
  tier_wait_seconds      integer NOT NULL DEFAULT 0 CHECK (tier_wait_seconds >= 0),
  tier_skip              boolean NOT NULL DEFAULT false,
  skills                 varchar(600) NOT NULL DEFAULT '',
  relax_every_seconds    integer NOT NULL DEFAULT 0 CHECK (relax_every_seconds >= 0),
  max_waiting            integer NOT NULL DEFAULT 0 CHECK (max_waiting >= 0),
  overflow_group         varchar(50) NOT NULL DEFAULT '',
  overflow_after_seconds integer NOT NULL DEFAULT 0 CHECK (overflow_after_seconds >= 0),
  overflow_waiting       integer NOT NULL DEFAULT 0 CHECK (overflow_waiting >= 0),
  exit_key               varchar(1) NOT NULL DEFAULT '',
  announce               boolean NOT NULL DEFAULT false,
  callback_key           varchar(1) NOT NULL DEFAULT '',
  callback_agent_first   boolean NOT NULL DEFAULT false,
  callback_retries       integer NOT NULL DEFAULT 0 CHECK (callback_retries >= 0),
  callback_retry_seconds integer NOT NULL DEFAULT 0 CHECK (callback_retry_seconds >= 0)
);

-- Nodes sharing the database follow each other's routing settings (see
-- 0004): the same nwayacd_config notification on these tables.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['nwayacd_member_config', 'nwayacd_skill', 'nwayacd_group_option'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'nwayacd_config_notify'
                   AND tgrelid = t::regclass) THEN
      EXECUTE format('CREATE TRIGGER nwayacd_config_notify
        AFTER INSERT OR UPDATE OR DELETE ON %I
        FOR EACH ROW EXECUTE FUNCTION nwayacd_notify_config()', t);
    END IF;
  END LOOP;
END;
$$;
