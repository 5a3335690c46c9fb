// Package pg stores mod_nwayacd's configuration, memberships, CDRs and agent
// log in PostgreSQL, in FSGUI's ext_group / ext_group_map tables plus the
// nwayacd_* tables of /sql. Writes are synchronous; put store/writeback in
// front of it so the call path never waits on the database.
package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Store is a PostgreSQL store. Safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	origin string // tags this node's config writes so Watch skips their echo
	owned  bool   // Close closes the pool
	shared bool   // other nodes write to the same database (SetShared)
}

// Open makes a pool for dsn (connections are made lazily, so Open succeeds
// while the database is down) and returns a Store that owns it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pg config: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg pool: %w", err)
	}
	s := New(pool)
	s.owned = true
	return s, nil
}

// New returns a Store on pool; Close leaves the pool open.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, origin: store.NewID()}
}

// SetOrigin replaces the tag (random by default) this Store's writes carry
// so that Watch skips their echo. A node gives every process on its folder
// the same tag: the writes of the process before it (replayed from the same
// journal; its last transaction may commit after this one started) are its
// own, not another writer's. Call it before any write or Watch.
func (s *Store) SetOrigin(origin string) { s.origin = origin }

// SetShared says other nodes write to this database at the same time (a
// cluster). Every write then runs in a transaction holding the writers'
// lock (see begin), a lone statement too: a statement whose triggers add to
// several shared report rows can deadlock with another node's transaction
// as well. Call it before any write.
func (s *Store) SetShared(shared bool) { s.shared = shared }

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies pending migrations (see the package function Migrate).
func (s *Store) Migrate(ctx context.Context) ([]string, error) { return Migrate(ctx, s.pool) }

// Close closes the pool when Open made it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// wrap adds context and marks errors retrying cannot fix (data exceptions,
// constraint violations) as store.ErrRejected.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 && (pe.Code[:2] == "22" || pe.Code[:2] == "23") {
		return fmt.Errorf("pg %s: %w: %w", op, store.ErrRejected, err)
	}
	return fmt.Errorf("pg %s: %w", op, err)
}

type txKey struct{}

// txBatch is a Batch's writes that fn has made so far, not sent yet: they
// go to the server together (one round trip instead of one each). Each round
// trip is a wake of the Go runtime inside the switch: a batch of ten writes
// cost ten. Without a read in between, the whole batch goes as one pipeline
// ending in a single Sync, which PostgreSQL runs as one implicit transaction:
// one round trip, where BEGIN, the writes and COMMIT took three. A write
// that must read inside the transaction (configTx) opens a real one first.
type txBatch struct {
	tx  pgx.Tx // nil while the batch can still go as one pipeline
	b   pgx.Batch
	ops []string
}

func (t *txBatch) queue(op, sql string, args ...any) {
	t.b.Queue(sql, args...)
	t.ops = append(t.ops, op)
}

// sender is a pgx.Tx or the pool.
type sender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// flush sends the queued writes through to and reports the first that
// failed.
func (t *txBatch) flush(ctx context.Context, to sender) error {
	if len(t.ops) == 0 {
		return nil
	}
	br := to.SendBatch(ctx, &t.b)
	var first error
	for _, op := range t.ops {
		if _, err := br.Exec(); err != nil {
			first = wrap(op, err)
			break
		}
	}
	if err := br.Close(); first == nil && err != nil {
		first = wrap("batch", err)
	}
	t.b, t.ops = pgx.Batch{}, t.ops[:0]
	return first
}

// Batch runs fn's writes (those made with the ctx it is given) in one
// transaction tagged with this node's origin: one commit for all of them.
// An error from fn rolls them back.
func (s *Store) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	t := &txBatch{}
	t.queue("begin", beginSQL, s.origin)
	err := fn(context.WithValue(ctx, txKey{}, t))
	switch {
	case t.tx == nil && err != nil:
		return wrap("batch", err) // nothing was sent
	case t.tx == nil:
		return wrap("batch", t.flush(ctx, s.pool))
	case err == nil:
		err = t.flush(ctx, t.tx)
	}
	if err != nil {
		_ = t.tx.Rollback(ctx)
		return wrap("batch", err)
	}
	return wrap("batch", t.tx.Commit(ctx))
}

// beginSQL tags a transaction with this node's origin and takes the
// writers' lock. Nodes sharing a database write the same rows (cyclic
// cursors, extension state, and the report rows every CDR and agent log adds
// to through triggers), each batch in its own order: two batches at once
// deadlock, and PostgreSQL aborts one after a second. Taking turns costs
// nothing on one node (the lock is free) and little in a cluster (each batch
// is one short transaction; the hot rows serialize them anyway).
const beginSQL = `SELECT set_config('nwayacd.origin', $1, true),
		pg_advisory_xact_lock(hashtextextended('nwayacd writes', 0))`

func (s *Store) begin(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, beginSQL, s.origin)
	return err
}

func (s *Store) exec(ctx context.Context, op, sql string, args ...any) error {
	if t, ok := ctx.Value(txKey{}).(*txBatch); ok {
		t.queue(op, sql, args...)
		return nil
	}
	if s.shared {
		return wrap(op, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := s.begin(ctx, tx); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, sql, args...)
			return err
		}))
	}
	_, err := s.pool.Exec(ctx, sql, args...)
	return wrap(op, err)
}

// configTx runs fn in a transaction tagged with this node's origin, for
// writes to the tables the nwayacd_config triggers watch (ext_group,
// ext_group_map, nwayacd_group, nwayacd_extension, nwayacd_list).
func (s *Store) configTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if t, ok := ctx.Value(txKey{}).(*txBatch); ok { // inside Batch: tagged by its first write
		if t.tx == nil {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				return wrap(op, err)
			}
			t.tx = tx
		}
		if err := t.flush(ctx, t.tx); err != nil { // fn may read what they wrote
			return err
		}
		return wrap(op, fn(t.tx))
	}
	return wrap(op, pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.begin(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	}))
}

// Load reads everything the core needs at start from one consistent snapshot.
func (s *Store) Load(ctx context.Context) (store.Snapshot, error) {
	var snap store.Snapshot
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT number, job_number, job_enabled, dial_string, seat_busy
			FROM nwayacd_extension ORDER BY number COLLATE "C"`)
		var err error
		snap.Extensions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Extension, error) {
			var e store.Extension
			err := r.Scan(&e.Number, &e.JobNumber, &e.JobEnabled, &e.DialString, &e.Busy)
			return e, err
		})
		if err != nil {
			return fmt.Errorf("extensions: %w", err)
		}

		// FSGUI may leave nullable columns NULL and has no nwayacd_group row.
		rows, _ = tx.Query(ctx, `SELECT g.group_number, coalesce(g.group_name, ''),
				coalesce(g.group_call_mode, 5), coalesce(g.group_callout_timeout, 15),
				coalesce(g.current_ext_number, ''), coalesce(n.welcome_ring, ''),
				coalesce(g.black_list_ring, ''), coalesce(g.busy_ring, ''), coalesce(g.transfer_ring, ''),
				coalesce(n.busy_ring_times, 0), coalesce(n.max_wait_seconds, 0)
			FROM ext_group g LEFT JOIN nwayacd_group n USING (group_number)
			ORDER BY g.group_number COLLATE "C"`)
		snap.Groups, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Group, error) {
			var g store.Group
			var timeout, maxWait int64
			err := r.Scan(&g.Number, &g.Name, &g.Mode, &timeout, &g.CurrentExt, &g.WelcomeRing,
				&g.BlacklistRing, &g.BusyRing, &g.TransferRing, &g.BusyRingTimes, &maxWait)
			g.CalloutTimeout = time.Duration(timeout) * time.Second
			g.MaxWait = time.Duration(maxWait) * time.Second
			return g, err
		})
		if err != nil {
			return fmt.Errorf("groups: %w", err)
		}

		// A row FSGUI wrote with only ext_group_id still names its group.
		rows, _ = tx.Query(ctx, `SELECT m.ext, coalesce(m.ext_group_number, g.group_number)
			FROM ext_group_map m LEFT JOIN ext_group g ON g.id = m.ext_group_id
			WHERE m.ext IS NOT NULL AND m.ext <> ''
			  AND coalesce(m.ext_group_number, g.group_number, '') <> ''
			ORDER BY m.id`)
		snap.Memberships, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Membership, error) {
			var m store.Membership
			err := r.Scan(&m.Ext, &m.Group)
			return m, err
		})
		if err != nil {
			return fmt.Errorf("memberships: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT kind, group_number, number FROM nwayacd_list`)
		snap.Lists, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ListEntry, error) {
			var l store.ListEntry
			err := r.Scan(&l.Kind, &l.Group, &l.Number)
			return l, err
		})
		if err != nil {
			return fmt.Errorf("lists: %w", err)
		}

		rows, _ = tx.Query(ctx, `SELECT caller_number, group_number, ext, last_time FROM nwayacd_memory`)
		snap.Memory, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Memory, error) {
			var m store.Memory
			err := r.Scan(&m.Caller, &m.Group, &m.Ext, &m.LastTime)
			return m, err
		})
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		return loadRouting(ctx, tx, &snap)
	})
	if err != nil {
		return store.Snapshot{}, wrap("load", err)
	}
	return snap, nil
}

// UpsertExtension creates e or replaces all its fields.
func (s *Store) UpsertExtension(ctx context.Context, e store.Extension) error {
	if err := e.Validate(); err != nil {
		return err
	}
	return s.configTx(ctx, "upsert extension", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO nwayacd_extension (number, job_number, job_enabled, dial_string, seat_busy)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (number) DO UPDATE SET job_number = EXCLUDED.job_number,
				job_enabled = EXCLUDED.job_enabled, dial_string = EXCLUDED.dial_string,
				seat_busy = EXCLUDED.seat_busy, updated_at = now()`,
			e.Number, e.JobNumber, e.JobEnabled, e.DialString, e.Busy)
		return err
	})
}

// DeleteExtension removes the extension and its logins.
func (s *Store) DeleteExtension(ctx context.Context, number string) error {
	return s.configTx(ctx, "delete extension", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM ext_group_map WHERE ext = $1`, number); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM nwayacd_extension WHERE number = $1`, number)
		return err
	})
}

// UpsertGroup creates g or replaces its settings. current_ext_number is
// written only when the group is created; SetCurrentExt moves it.
func (s *Store) UpsertGroup(ctx context.Context, g store.Group) error {
	if err := g.Validate(); err != nil {
		return err
	}
	return s.configTx(ctx, "upsert group", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ext_group (group_name, group_number, current_ext_number,
				group_call_mode, group_callout_timeout, transfer_ring, black_list_ring, busy_ring)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (group_number) DO UPDATE SET group_name = EXCLUDED.group_name,
				group_call_mode = EXCLUDED.group_call_mode, group_callout_timeout = EXCLUDED.group_callout_timeout,
				transfer_ring = EXCLUDED.transfer_ring, black_list_ring = EXCLUDED.black_list_ring,
				busy_ring = EXCLUDED.busy_ring`,
			g.Name, g.Number, g.CurrentExt, g.Mode, int64(g.CalloutTimeout/time.Second),
			g.TransferRing, g.BlacklistRing, g.BusyRing); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO nwayacd_group (group_number, welcome_ring, busy_ring_times, max_wait_seconds)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (group_number) DO UPDATE SET welcome_ring = EXCLUDED.welcome_ring,
				busy_ring_times = EXCLUDED.busy_ring_times, max_wait_seconds = EXCLUDED.max_wait_seconds`,
			g.Number, g.WelcomeRing, g.BusyRingTimes, int64(g.MaxWait/time.Second))
		return err
	})
}

// DeleteGroup removes the group with its logins, lists and memory.
func (s *Store) DeleteGroup(ctx context.Context, number string) error {
	return s.configTx(ctx, "delete group", func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM ext_group_map WHERE ext_group_number = $1
				OR ext_group_id IN (SELECT id FROM ext_group WHERE group_number = $1)`,
			`DELETE FROM nwayacd_list WHERE group_number = $1`,
			`DELETE FROM nwayacd_memory WHERE group_number = $1`,
			`DELETE FROM ext_group WHERE group_number = $1`, // cascades to nwayacd_group
		} {
			if _, err := tx.Exec(ctx, q, number); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetCurrentExt moves the group's cyclic cursor; an unknown group is a no-op.
func (s *Store) SetCurrentExt(ctx context.Context, group, ext string) error {
	if len(ext) > store.MaxNumber {
		return store.CheckNumber("extension", ext)
	}
	return s.exec(ctx, "set current ext",
		`UPDATE ext_group SET current_ext_number = $2 WHERE group_number = $1`, group, ext)
}

// ReplaceMemberships makes groups (in order) the extension's current logins;
// empty groups logs it out. Groups ext_group does not know are kept too.
func (s *Store) ReplaceMemberships(ctx context.Context, ext string, groups []string) error {
	if err := store.CheckMemberships(ext, groups); err != nil {
		return err
	}
	return s.configTx(ctx, "replace memberships", func(tx pgx.Tx) error {
		// Two writers replacing the same extension's rows at once (a node
		// and the process it replaced, whose last transaction may still
		// commit; two nodes): under READ COMMITTED the second DELETE, once
		// the first commits, would not see the rows the first inserted and
		// both sets would stay. Take turns; the DELETE's snapshot comes after.
		// One round trip for the three.
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('nwayacd ext_group_map ' || $1, 0))`, ext)
		b.Queue(`DELETE FROM ext_group_map WHERE ext = $1`, ext)
		if len(groups) > 0 {
			b.Queue(`INSERT INTO ext_group_map (ext_group_id, ext_group_number, ext)
				SELECT (SELECT id FROM ext_group WHERE group_number = u.g), u.g, $1
				FROM unnest($2::text[]) WITH ORDINALITY AS u(g, i) ORDER BY u.i`, ext, groups)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// AddListEntry puts a number on a group's list; already there is fine.
func (s *Store) AddListEntry(ctx context.Context, l store.ListEntry) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return s.configTx(ctx, "add list entry", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO nwayacd_list (kind, group_number, number)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, string(l.Kind), l.Group, l.Number)
		return err
	})
}

// RemoveListEntry takes a number off a group's list; absent is fine.
func (s *Store) RemoveListEntry(ctx context.Context, l store.ListEntry) error {
	return s.configTx(ctx, "remove list entry", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM nwayacd_list
			WHERE kind = $1 AND group_number = $2 AND number = $3`, string(l.Kind), l.Group, l.Number)
		return err
	})
}

// PutMemory records the agent a caller last talked to in a group.
func (s *Store) PutMemory(ctx context.Context, m store.Memory) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.exec(ctx, "put memory", `INSERT INTO nwayacd_memory (caller_number, group_number, ext, last_time)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (caller_number, group_number) DO UPDATE SET ext = EXCLUDED.ext, last_time = EXCLUDED.last_time`,
		m.Caller, m.Group, m.Ext, m.LastTime)
}

// InsertCDR stores c once: a second insert with the same UUID is a no-op.
func (s *Store) InsertCDR(ctx context.Context, c event.CDR) error {
	if err := store.CheckCDRUUID(c.UUID); err != nil {
		return err
	}
	agents := c.NoAnswerAgents
	if agents == nil {
		agents = []string{}
	}
	return s.exec(ctx, "insert cdr", `INSERT INTO nwayacd_cdr (uuid, is_callout, a_caller_id_number,
			a_destination_number, a_start_stamp, a_answer_stamp, a_end_stamp, a_duration, a_billsec,
			a_sip_hangup_disposition, a_record_file, str_no_answer_agents, destination_number,
			start_stamp, answer_stamp, end_stamp, duration, billsec, no_answer_agents, flag, group_number)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		ON CONFLICT (uuid) DO NOTHING`,
		c.UUID, c.IsCallout, c.ACallerIDNumber, c.ADestinationNumber, c.AStartStamp, c.AAnswerStamp,
		c.AEndStamp, c.ADuration, c.ABillsec, c.ASIPHangupDisposition, c.ARecordFile, c.StrNoAnswerAgents,
		c.DestinationNumber, c.StartStamp, c.AnswerStamp, c.EndStamp, c.Duration, c.Billsec,
		agents, c.Flag, c.Group)
}

// PutPendingCDR keeps c's provisional CDR, node's, until DeletePendingCDR.
func (s *Store) PutPendingCDR(ctx context.Context, node string, c event.CDR) error {
	if err := store.CheckCDRUUID(c.UUID); err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("put pending cdr: %w", err)
	}
	return s.exec(ctx, "put pending cdr", `INSERT INTO nwayacd_pending_cdr (uuid, cdr, node) VALUES ($1, $2, $3)
		ON CONFLICT (uuid) DO UPDATE SET cdr = EXCLUDED.cdr, node = EXCLUDED.node`, c.UUID, data, node)
}

// DeletePendingCDR forgets a provisional CDR; absent is fine.
func (s *Store) DeletePendingCDR(ctx context.Context, uuid string) error {
	return s.exec(ctx, "delete pending cdr", `DELETE FROM nwayacd_pending_cdr WHERE uuid = $1`, uuid)
}

// PendingCDRs lists node's provisional CDRs and those of no node, by uuid.
func (s *Store) PendingCDRs(ctx context.Context, node string) ([]event.CDR, error) {
	rows, err := s.pool.Query(ctx, `SELECT cdr FROM nwayacd_pending_cdr WHERE node IN ($1, '') ORDER BY uuid`, node)
	if err != nil {
		return nil, wrap("list pending cdrs", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (event.CDR, error) {
		var data []byte
		var c event.CDR
		if err := r.Scan(&data); err != nil {
			return c, err
		}
		return c, json.Unmarshal(data, &c)
	})
	if err != nil {
		return nil, wrap("list pending cdrs", err)
	}
	return out, nil
}

// CDR reads one CDR back; store.ErrNotFound when absent.
func (s *Store) CDR(ctx context.Context, uuid string) (event.CDR, error) {
	var c event.CDR
	err := s.pool.QueryRow(ctx, `SELECT uuid, is_callout, a_caller_id_number,
			a_destination_number, a_start_stamp, a_answer_stamp, a_end_stamp, a_duration, a_billsec,
			a_sip_hangup_disposition, a_record_file, str_no_answer_agents, destination_number,
			start_stamp, answer_stamp, end_stamp, duration, billsec, no_answer_agents, flag, group_number
		FROM nwayacd_cdr WHERE uuid = $1`, uuid).Scan(
		&c.UUID, &c.IsCallout, &c.ACallerIDNumber, &c.ADestinationNumber, &c.AStartStamp, &c.AAnswerStamp,
		&c.AEndStamp, &c.ADuration, &c.ABillsec, &c.ASIPHangupDisposition, &c.ARecordFile, &c.StrNoAnswerAgents,
		&c.DestinationNumber, &c.StartStamp, &c.AnswerStamp, &c.EndStamp, &c.Duration, &c.Billsec,
		&c.NoAnswerAgents, &c.Flag, &c.Group)
	if errors.Is(err, pgx.ErrNoRows) {
		return event.CDR{}, fmt.Errorf("cdr %s: %w", uuid, store.ErrNotFound)
	}
	if err != nil {
		return event.CDR{}, wrap("read cdr", err)
	}
	if len(c.NoAnswerAgents) == 0 {
		c.NoAnswerAgents = nil
	}
	return c, nil
}

// AppendAgentLog stores a once per ID (filled with store.NewID when empty).
func (s *Store) AppendAgentLog(ctx context.Context, a store.AgentLog) error {
	if a.ID == "" {
		a.ID = store.NewID()
	}
	if err := a.Validate(); err != nil {
		return err
	}
	return s.exec(ctx, "append agent log", `INSERT INTO nwayacd_agent_log (id, ext, status, at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, a.ID, a.Ext, a.Status, a.At)
}

// AgentLogs returns the extension's last limit entries, oldest first.
func (s *Store) AgentLogs(ctx context.Context, ext string, limit int) ([]store.AgentLog, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, ext, status, at FROM (
			SELECT id, ext, status, at, seq FROM nwayacd_agent_log WHERE ext = $1 ORDER BY seq DESC LIMIT $2
		) t ORDER BY seq`, ext, limit)
	logs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AgentLog, error) {
		var a store.AgentLog
		err := r.Scan(&a.ID, &a.Ext, &a.Status, &a.At)
		return a, err
	})
	return logs, wrap("agent logs", err)
}
