-- Issue 13: nodes sharing the database each emit only their own pending
-- CDRs at start (a node's cluster-node-id, else its host name). A row
-- without a node (written before this migration) is emitted by whichever
-- node starts first, as before. Idempotent.
ALTER TABLE nwayacd_pending_cdr ADD COLUMN IF NOT EXISTS node varchar(255) NOT NULL DEFAULT '';
