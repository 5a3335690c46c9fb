-- NOTIFY nwayacd_config whenever ext_group or ext_group_map change, so that
-- edits FSGUI makes straight in the tables reach every node live.
-- Payload: "<table> <op> <origin>"; origin is the session's nwayacd.origin
-- setting, which a node sets on its own writes so it can skip its own echo.
-- Moving current_ext_number alone (every cyclic pick) notifies nobody.
CREATE OR REPLACE FUNCTION nwayacd_notify_config() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'ext_group'
     AND (to_jsonb(OLD) - 'current_ext_number') = (to_jsonb(NEW) - 'current_ext_number') THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('nwayacd_config',
    TG_TABLE_NAME || ' ' || TG_OP || ' ' || coalesce(current_setting('nwayacd.origin', true), ''));
  RETURN NULL;
END;
$$;

-- Created only when absent: DROP TRIGGER would need ownership of FSGUI's
-- tables, CREATE TRIGGER only the TRIGGER privilege.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'nwayacd_config_notify'
                 AND tgrelid = 'public.ext_group'::regclass) THEN
    CREATE TRIGGER nwayacd_config_notify
      AFTER INSERT OR UPDATE OR DELETE ON public.ext_group
      FOR EACH ROW EXECUTE FUNCTION nwayacd_notify_config();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'nwayacd_config_notify'
                 AND tgrelid = 'public.ext_group_map'::regclass) THEN
    CREATE TRIGGER nwayacd_config_notify
      AFTER INSERT OR UPDATE OR DELETE ON public.ext_group_map
      FOR EACH ROW EXECUTE FUNCTION nwayacd_notify_config();
  END IF;
  -- TRUNCATE has no row triggers.
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'nwayacd_config_notify_truncate'
                 AND tgrelid = 'public.ext_group_map'::regclass) THEN
    CREATE TRIGGER nwayacd_config_notify_truncate
      AFTER TRUNCATE ON public.ext_group_map
      FOR EACH STATEMENT EXECUTE FUNCTION nwayacd_notify_config();
  END IF;
END;
$$;
