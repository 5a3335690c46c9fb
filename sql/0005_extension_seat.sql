-- An agent that set itself busy stays busy across a module reload or a
-- FreeSWITCH restart, instead of coming back idle and being offered calls.
ALTER TABLE nwayacd_extension ADD COLUMN IF NOT EXISTS seat_busy boolean NOT NULL DEFAULT false;
