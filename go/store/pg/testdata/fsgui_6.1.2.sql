-- FSGUI 6.1.2's tables as the original document (SPEC §1 seed) creates them,
-- minus the "OWNER TO postgres" lines; the seed's rendering lost one quote of
-- each DEFAULT ''::character varying, restored here. Then rows like a live
-- deployment's.

CREATE SEQUENCE public.ext_group_id_seq
  INCREMENT 1
  MINVALUE 1
  MAXVALUE 9223372036854775807
  START 4
  CACHE 1;

CREATE SEQUENCE public.ext_group_map_id_seq
  INCREMENT 1
  MINVALUE 1
  MAXVALUE 9223372036854775807
  START 1
  CACHE 1;

CREATE TABLE public.ext_group
(
  id bigint NOT NULL DEFAULT nextval('ext_group_id_seq'::regclass),
  group_name character varying(100), -- 组或座席组名
  group_number character varying(50) NOT NULL, -- 座席组短号
  current_ext_number character varying(50), -- 当前组里接听时找到的分机,如果找不到,则再从头开始
  group_call_mode integer DEFAULT 5, -- 呼叫模式  ...
  group_callout_timeout integer DEFAULT 15, -- 呼叫到每个号码时的超时时长,默认15秒
  transfer_ring character varying(255) DEFAULT ''::character varying,
  black_list_ring character varying(255) DEFAULT ''::character varying,
  busy_ring character varying(255) DEFAULT ''::character varying,
  CONSTRAINT "PK_GROUP_NUMBER" PRIMARY KEY (group_number)
)
WITH (
  OIDS=FALSE
);
COMMENT ON TABLE public.ext_group
  IS '分机座席分组,面向110业务';
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

CREATE TABLE public.ext_group_map
(
  id bigint NOT NULL DEFAULT nextval('ext_group_map_id_seq'::regclass),
  ext_group_id bigint, -- 分机组id
  ext_group_number character varying(50), -- 座席组号码
  ext character varying(50) -- 分机
)
WITH (
  OIDS=FALSE
);
COMMENT ON COLUMN public.ext_group_map.ext_group_id IS '分机组id';
COMMENT ON COLUMN public.ext_group_map.ext_group_number IS '座席组号码';
COMMENT ON COLUMN public.ext_group_map.ext IS '分机';

INSERT INTO ext_group (id, group_name, group_number, current_ext_number, group_call_mode, group_callout_timeout, transfer_ring, black_list_ring, busy_ring)
VALUES (1, '110报警', '110', '1001', 2, 20, '/nway/transfer.wav', '/nway/black.wav', '/nway/busy.wav'),
       (2, '12345热线', '12345', NULL, 5, 15, '', '', ''),
       (3, NULL, '12320', NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO ext_group_map (ext_group_id, ext_group_number, ext)
VALUES (1, '110', '1000'), (2, '12345', '1000'), (1, '110', '1001'), (3, NULL, '1002');
