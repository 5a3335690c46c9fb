-- The FSGUI 6.1.2 tables (SPEC §1), exactly as the original defines them, but
-- idempotent: an existing FSGUI database keeps its tables and rows.
-- The original's "ALTER ... OWNER TO postgres" lines are left out on purpose:
-- they fail for any other user, and the owner is whoever runs the migration.

CREATE SEQUENCE IF NOT EXISTS public.ext_group_id_seq
  INCREMENT 1
  MINVALUE 1
  MAXVALUE 9223372036854775807
  START 4
  CACHE 1;

CREATE SEQUENCE IF NOT EXISTS public.ext_group_map_id_seq
  INCREMENT 1
  MINVALUE 1
  MAXVALUE 9223372036854775807
  START 1
  CACHE 1;

CREATE TABLE IF NOT EXISTS public.ext_group
(
  id bigint NOT NULL DEFAULT nextval('ext_group_id_seq'::regclass),
  group_name character varying(100),
  group_number character varying(50) NOT NULL,
  current_ext_number character varying(50),
  group_call_mode integer DEFAULT 5,
  group_callout_timeout integer DEFAULT 15,
  transfer_ring character varying(255) DEFAULT ''::character varying,
  black_list_ring character varying(255) DEFAULT ''::character varying,
  busy_ring character varying(255) DEFAULT ''::character varying,
  CONSTRAINT "PK_GROUP_NUMBER" PRIMARY KEY (group_number)
)
WITH (
  OIDS=FALSE
);

CREATE TABLE IF NOT EXISTS public.ext_group_map
(
  id bigint NOT NULL DEFAULT nextval('ext_group_map_id_seq'::regclass),
  ext_group_id bigint,
  ext_group_number character varying(50),
  ext character varying(50)
)
WITH (
  OIDS=FALSE
);

-- Comments need ownership: when FSGUI's tables belong to another role, keep
-- theirs (the same text) rather than fail.
DO $$
BEGIN
    COMMENT ON TABLE public.ext_group IS '分机座席分组,面向110业务';
    COMMENT ON COLUMN public.ext_group.group_name IS '组或座席组名';
    COMMENT ON COLUMN public.ext_group.group_number IS '座席组短号';
    COMMENT ON COLUMN public.ext_group.current_ext_number IS '当前组里接听时找到的分机,如果找不到,则再从头开始';
    COMMENT ON COLUMN public.ext_group.group_call_mode IS '呼叫模式  
0 顺序
1 随机
2 循环
3 记忆优先+ 0
4 记忆优先+1
5 记忆优先+2';
    COMMENT ON COLUMN public.ext_group.group_callout_timeout IS '呼叫到每个号码时的超时时长,默认15秒';
    COMMENT ON COLUMN public.ext_group_map.ext_group_id IS '分机组id';
    COMMENT ON COLUMN public.ext_group_map.ext_group_number IS '座席组号码';
    COMMENT ON COLUMN public.ext_group_map.ext IS '分机';
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'ext_group comments left as they are (not the owner)';
END;
$$;
