-- Several nodes may share one database: also notify nwayacd_config when a
-- node (or an operator) changes mod_nwayacd's own configuration tables.
-- Memory, CDRs and the agent log change with every call and do not notify.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['nwayacd_group', 'nwayacd_extension', 'nwayacd_list'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'nwayacd_config_notify'
                   AND tgrelid = t::regclass) THEN
      EXECUTE format('CREATE TRIGGER nwayacd_config_notify
        AFTER INSERT OR UPDATE OR DELETE ON %I
        FOR EACH ROW EXECUTE FUNCTION nwayacd_notify_config()', t);
    END IF;
  END LOOP;
END;
$$;
