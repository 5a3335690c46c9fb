-- Callbacks (issue 12): a caller who asked to be called back keeps its
-- place without a session; the pending callback survives a module reload
-- or a restart. Deleted when the callback connects or is given up. Not
-- configuration: no nwayacd_config trigger. Also, per group, the gateway
-- callbacks are dialled through and the periodic announcements. Idempotent.

CREATE TABLE IF NOT EXISTS nwayacd_callback (
  uuid         varchar(64) PRIMARY KEY,
  group_number varchar(50) NOT NULL,
  caller       varchar(50) NOT NULL DEFAULT '',
  real_caller  varchar(50) NOT NULL DEFAULT '',
  callback     varchar(50) NOT NULL,
  level        varchar(8)  NOT NULL DEFAULT 'normal',
  callin_time  timestamptz NOT NULL,
  tries        integer     NOT NULL DEFAULT 0 CHECK (tries >= 0),
  skills       varchar(600) NOT NULL DEFAULT '',
  node         varchar(255) NOT NULL DEFAULT ''  -- the owning node: nodes sharing the database restore their own
);

ALTER TABLE nwayacd_group_option ADD COLUMN IF NOT EXISTS callback_gateway varchar(64) NOT NULL DEFAULT '';

-- Periodic announcements of position and estimated wait: every N seconds
-- (0: never), with the group's own sound files ('' = FreeSWITCH's say).
ALTER TABLE nwayacd_group_option ADD COLUMN IF NOT EXISTS announce_every_seconds integer NOT NULL DEFAULT 0
  CHECK (announce_every_seconds >= 0);
ALTER TABLE nwayacd_group_option ADD COLUMN IF NOT EXISTS announce_sounds varchar(255) NOT NULL DEFAULT '';

-- A full group (max_waiting) sends a new call to its overflow group.
ALTER TABLE nwayacd_group_option ADD COLUMN IF NOT EXISTS full_overflow boolean NOT NULL DEFAULT false;

-- The dialplan extension the exit key sends the caller to ('' = none).
ALTER TABLE nwayacd_group_option ADD COLUMN IF NOT EXISTS exit_to varchar(50) NOT NULL DEFAULT '';

-- Each agent's counters for today (modes 7 and 8: fewest calls, least talk
-- time), written at unload so that they survive a module reload; a row of
-- another day than today is ignored when loaded.
CREATE TABLE IF NOT EXISTS nwayacd_agent_stats (
  ext           varchar(50) PRIMARY KEY,
  day           varchar(10) NOT NULL,
  answered      integer NOT NULL DEFAULT 0 CHECK (answered >= 0),
  talk_seconds  bigint  NOT NULL DEFAULT 0 CHECK (talk_seconds >= 0),
  last_call_end timestamptz
);
