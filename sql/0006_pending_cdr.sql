-- The provisional CDR of a call whose caller left while its final CDR waits
-- a few seconds for the caller leg's hangup facts: a node that crashes in
-- between emits it from here at its next start, then deletes the row.
CREATE TABLE IF NOT EXISTS nwayacd_pending_cdr (
    uuid       varchar(64) PRIMARY KEY,
    cdr        jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
