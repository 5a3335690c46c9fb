-- Group option ring_wait: a waiting caller is left ringing (unanswered, no
-- media) up to this many seconds after it came in. Idempotent.
ALTER TABLE nwayacd_group_option ADD COLUMN IF NOT EXISTS ring_wait_seconds integer NOT NULL DEFAULT 0
  CHECK (ring_wait_seconds >= 0);
