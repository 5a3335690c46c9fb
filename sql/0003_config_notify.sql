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

DROP TRIGGER IF EXISTS nwayacd_config_notify ON public.ext_group;
CREATE TRIGGER nwayacd_config_notify
  AFTER INSERT OR UPDATE OR DELETE ON public.ext_group
  FOR EACH ROW EXECUTE FUNCTION nwayacd_notify_config();

DROP TRIGGER IF EXISTS nwayacd_config_notify ON public.ext_group_map;
CREATE TRIGGER nwayacd_config_notify
  AFTER INSERT OR UPDATE OR DELETE ON public.ext_group_map
  FOR EACH ROW EXECUTE FUNCTION nwayacd_notify_config();

-- TRUNCATE has no row triggers.
DROP TRIGGER IF EXISTS nwayacd_config_notify_truncate ON public.ext_group_map;
CREATE TRIGGER nwayacd_config_notify_truncate
  AFTER TRUNCATE ON public.ext_group_map
  FOR EACH STATEMENT EXECUTE FUNCTION nwayacd_notify_config();
