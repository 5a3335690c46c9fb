// Package embedded is the store for a box without PostgreSQL: one bbolt file
// (pure Go, no cgo, so it links into the c-archive) under FreeSWITCH's db
// directory. It keeps configuration, logins, lists, memory, CDRs and the
// agent log across restarts, with the same semantics as store/pg.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Values are JSON of the store records, so renaming a field of them is a
// format change.
var (
	bMeta      = []byte("meta")
	bExt       = []byte("extension")         // number → Extension
	bGroup     = []byte("group")             // number → Group
	bMember    = []byte("membership")        // seq → Membership, seq in login order
	bMemberExt = []byte("membership_by_ext") // ext → its seqs, 8 bytes each
	bList      = []byte("list")              // kind \0 group \0 number → ""
	bMemory    = []byte("memory")            // caller \0 group → Memory
	bCDR       = []byte("cdr")               // uuid → event.CDR
	bAgentLog  = []byte("agent_log")         // ext \0 seq → AgentLog
	bAgentID   = []byte("agent_log_id")      // id → "" (makes appends idempotent)
	bPending   = []byte("pending_cdr")       // uuid → pendingCDR, provisional (see store.Writer)
	allBuckets = [][]byte{bMeta, bExt, bGroup, bMember, bMemberExt, bList, bMemory, bCDR, bAgentLog, bAgentID, bPending,
		bMemberCfg, bSkill, bGroupOption, bCallback, bAgentStats}
)

// formatVersion is stored in meta; a newer file is refused rather than misread.
const formatVersion = 1

// Store is a bbolt store. Safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens or creates the store file at path (e.g.
// /usr/local/freeswitch/db/nwayacd.db). It fails after a second when another
// process holds the file.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if v := meta.Get([]byte("format")); v != nil {
			if n := binary.BigEndian.Uint64(v); n > formatVersion {
				return fmt.Errorf("file format %d is newer than this build's %d", n, formatVersion)
			}
			return nil
		}
		return meta.Put([]byte("format"), u64(formatVersion))
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func key(parts ...string) []byte {
	return []byte(joinKey(parts))
}

func joinKey(parts []string) string {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(p)
	}
	return b.String()
}

func put(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

type txKey struct{}

// Batch runs fn's writes (those made with the ctx it is given) in one bbolt
// transaction: one fsync for all of them. An error from fn rolls them back.
func (s *Store) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt batch: %w", err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

func (s *Store) update(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt %s: %w", op, err)
	}
	if tx, ok := ctx.Value(txKey{}).(*bolt.Tx); ok {
		if err := fn(tx); err != nil {
			return fmt.Errorf("bolt %s: %w", op, err)
		}
		return nil
	}
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("bolt %s: %w", op, err)
	}
	return nil
}

// deleteWhere deletes every key of b for which match(k, v) holds.
func deleteWhere(b *bolt.Bucket, match func(k, v []byte) (bool, error)) error {
	var dead [][]byte
	err := b.ForEach(func(k, v []byte) error {
		ok, err := match(k, v)
		if ok {
			dead = append(dead, append([]byte(nil), k...))
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Load reads everything the core needs at start.
func (s *Store) Load(ctx context.Context) (store.Snapshot, error) {
	var snap store.Snapshot
	if err := ctx.Err(); err != nil {
		return snap, err
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bExt).ForEach(func(_, v []byte) error {
			var e store.Extension
			snap.Extensions = append(snap.Extensions, e)
			return json.Unmarshal(v, &snap.Extensions[len(snap.Extensions)-1])
		}); err != nil {
			return fmt.Errorf("extensions: %w", err)
		}
		if err := tx.Bucket(bGroup).ForEach(func(_, v []byte) error {
			var g store.Group
			snap.Groups = append(snap.Groups, g)
			return json.Unmarshal(v, &snap.Groups[len(snap.Groups)-1])
		}); err != nil {
			return fmt.Errorf("groups: %w", err)
		}
		if err := tx.Bucket(bMember).ForEach(func(_, v []byte) error {
			var m store.Membership
			snap.Memberships = append(snap.Memberships, m)
			return json.Unmarshal(v, &snap.Memberships[len(snap.Memberships)-1])
		}); err != nil {
			return fmt.Errorf("memberships: %w", err)
		}
		if err := tx.Bucket(bList).ForEach(func(k, _ []byte) error {
			p := bytes.SplitN(k, []byte{0}, 3)
			if len(p) != 3 {
				return fmt.Errorf("bad list key %q", k)
			}
			snap.Lists = append(snap.Lists, store.ListEntry{Kind: store.ListKind(p[0]), Group: string(p[1]), Number: string(p[2])})
			return nil
		}); err != nil {
			return fmt.Errorf("lists: %w", err)
		}
		if err := tx.Bucket(bMemory).ForEach(func(_, v []byte) error {
			var m store.Memory
			snap.Memory = append(snap.Memory, m)
			return json.Unmarshal(v, &snap.Memory[len(snap.Memory)-1])
		}); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		return loadRouting(tx, &snap)
	})
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("bolt load: %w", err)
	}
	return snap, nil
}

// UpsertExtension creates e or replaces all its fields.
func (s *Store) UpsertExtension(ctx context.Context, e store.Extension) error {
	if err := e.Validate(); err != nil {
		return err
	}
	return s.update(ctx, "upsert extension", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bExt), []byte(e.Number), e)
	})
}

// DeleteExtension removes the extension and its logins.
func (s *Store) DeleteExtension(ctx context.Context, number string) error {
	return s.update(ctx, "delete extension", func(tx *bolt.Tx) error {
		if err := logout(tx, number); err != nil {
			return err
		}
		return tx.Bucket(bExt).Delete([]byte(number))
	})
}

// logout deletes ext's memberships through the by-extension index.
func logout(tx *bolt.Tx, ext string) error {
	idx, b := tx.Bucket(bMemberExt), tx.Bucket(bMember)
	seqs := idx.Get([]byte(ext))
	for i := 0; i+8 <= len(seqs); i += 8 {
		if err := b.Delete(seqs[i : i+8]); err != nil {
			return err
		}
	}
	return idx.Delete([]byte(ext))
}

// leaveGroup deletes every membership of group (a scan: groups are rarely
// deleted) and drops those seqs from the index.
func leaveGroup(tx *bolt.Tx, group string) error {
	idx, b := tx.Bucket(bMemberExt), tx.Bucket(bMember)
	type hit struct{ seq, ext []byte }
	var hits []hit
	err := b.ForEach(func(k, v []byte) error {
		var m store.Membership
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if m.Group == group {
			hits = append(hits, hit{append([]byte(nil), k...), []byte(m.Ext)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range hits {
		if err := b.Delete(h.seq); err != nil {
			return err
		}
		old := idx.Get(h.ext)
		kept := make([]byte, 0, len(old))
		for i := 0; i+8 <= len(old); i += 8 {
			if !bytes.Equal(old[i:i+8], h.seq) {
				kept = append(kept, old[i:i+8]...)
			}
		}
		if err := idx.Put(h.ext, kept); err != nil {
			return err
		}
	}
	return nil
}

// UpsertGroup creates g or replaces its settings; CurrentExt is kept from
// the stored group (SetCurrentExt moves it).
func (s *Store) UpsertGroup(ctx context.Context, g store.Group) error {
	if err := g.Validate(); err != nil {
		return err
	}
	g.CalloutTimeout = g.CalloutTimeout.Truncate(time.Second) // as pg stores it
	g.MaxWait = g.MaxWait.Truncate(time.Second)
	return s.update(ctx, "upsert group", func(tx *bolt.Tx) error {
		b := tx.Bucket(bGroup)
		if v := b.Get([]byte(g.Number)); v != nil {
			var old store.Group
			if err := json.Unmarshal(v, &old); err != nil {
				return err
			}
			g.CurrentExt = old.CurrentExt
		}
		return put(b, []byte(g.Number), g)
	})
}

// DeleteGroup removes the group with its logins, lists and memory.
func (s *Store) DeleteGroup(ctx context.Context, number string) error {
	return s.update(ctx, "delete group", func(tx *bolt.Tx) error {
		if err := leaveGroup(tx, number); err != nil {
			return err
		}
		if err := deleteWhere(tx.Bucket(bList), func(k, _ []byte) (bool, error) {
			p := bytes.SplitN(k, []byte{0}, 3)
			return len(p) == 3 && string(p[1]) == number, nil
		}); err != nil {
			return err
		}
		if err := deleteWhere(tx.Bucket(bMemory), func(k, _ []byte) (bool, error) {
			return bytes.HasSuffix(k, append([]byte{0}, number...)), nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bGroup).Delete([]byte(number))
	})
}

// SetCurrentExt moves the group's cyclic cursor; an unknown group is a no-op.
func (s *Store) SetCurrentExt(ctx context.Context, group, ext string) error {
	if len(ext) > store.MaxNumber {
		return store.CheckNumber("extension", ext)
	}
	return s.update(ctx, "set current ext", func(tx *bolt.Tx) error {
		b := tx.Bucket(bGroup)
		v := b.Get([]byte(group))
		if v == nil {
			return nil
		}
		var g store.Group
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		g.CurrentExt = ext
		return put(b, []byte(group), g)
	})
}

// ReplaceMemberships makes groups (in order) the extension's current logins;
// empty groups logs it out.
func (s *Store) ReplaceMemberships(ctx context.Context, ext string, groups []string) error {
	if err := store.CheckMemberships(ext, groups); err != nil {
		return err
	}
	return s.update(ctx, "replace memberships", func(tx *bolt.Tx) error {
		if err := logout(tx, ext); err != nil {
			return err
		}
		if len(groups) == 0 {
			return nil
		}
		b := tx.Bucket(bMember)
		seqs := make([]byte, 0, 8*len(groups))
		for _, g := range groups {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := put(b, u64(seq), store.Membership{Ext: ext, Group: g}); err != nil {
				return err
			}
			seqs = append(seqs, u64(seq)...)
		}
		return tx.Bucket(bMemberExt).Put([]byte(ext), seqs)
	})
}

// AddListEntry puts a number on a group's list; already there is fine.
func (s *Store) AddListEntry(ctx context.Context, l store.ListEntry) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return s.update(ctx, "add list entry", func(tx *bolt.Tx) error {
		return tx.Bucket(bList).Put(key(string(l.Kind), l.Group, l.Number), []byte{})
	})
}

// RemoveListEntry takes a number off a group's list; absent is fine.
func (s *Store) RemoveListEntry(ctx context.Context, l store.ListEntry) error {
	return s.update(ctx, "remove list entry", func(tx *bolt.Tx) error {
		return tx.Bucket(bList).Delete(key(string(l.Kind), l.Group, l.Number))
	})
}

// PutMemory records the agent a caller last talked to in a group.
func (s *Store) PutMemory(ctx context.Context, m store.Memory) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.update(ctx, "put memory", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bMemory), key(m.Caller, m.Group), m)
	})
}

// InsertCDR stores c once: a second insert with the same UUID is a no-op.
func (s *Store) InsertCDR(ctx context.Context, c event.CDR) error {
	if err := store.CheckCDRUUID(c.UUID); err != nil {
		return err
	}
	return s.update(ctx, "insert cdr", func(tx *bolt.Tx) error {
		b := tx.Bucket(bCDR)
		if b.Get([]byte(c.UUID)) != nil {
			return nil
		}
		return put(b, []byte(c.UUID), c)
	})
}

// pendingCDR is a provisional CDR and the node keeping it; a value written
// before pending CDRs named their node decodes with none.
type pendingCDR struct {
	event.CDR
	Node string `json:"nwayacd_node,omitempty"`
}

// PutPendingCDR keeps c's provisional CDR, node's, until DeletePendingCDR.
func (s *Store) PutPendingCDR(ctx context.Context, node string, c event.CDR) error {
	if err := store.CheckCDRUUID(c.UUID); err != nil {
		return err
	}
	return s.update(ctx, "put pending cdr", func(tx *bolt.Tx) error {
		return put(tx.Bucket(bPending), []byte(c.UUID), pendingCDR{CDR: c, Node: node})
	})
}

// DeletePendingCDR forgets a provisional CDR; absent is fine.
func (s *Store) DeletePendingCDR(ctx context.Context, uuid string) error {
	return s.update(ctx, "delete pending cdr", func(tx *bolt.Tx) error {
		return tx.Bucket(bPending).Delete([]byte(uuid))
	})
}

// PendingCDRs lists node's provisional CDRs and those of no node, by uuid.
func (s *Store) PendingCDRs(ctx context.Context, node string) ([]event.CDR, error) {
	var out []event.CDR
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bPending).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var c pendingCDR
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("pending cdr %s: %w", k, err)
			}
			if c.Node == node || c.Node == "" {
				out = append(out, c.CDR)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt list pending cdrs: %w", err)
	}
	return out, nil
}

// CDRUUIDs lists the uuids of the stored CDRs that start with prefix, in
// byte order (for checks and tools; the call path never reads CDRs).
func (s *Store) CDRUUIDs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bCDR).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			out = append(out, string(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt list cdrs: %w", err)
	}
	return out, nil
}

// CDR reads one CDR back; store.ErrNotFound when absent.
func (s *Store) CDR(ctx context.Context, uuid string) (event.CDR, error) {
	var c event.CDR
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bCDR).Get([]byte(uuid))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &c)
	})
	if err != nil {
		return event.CDR{}, fmt.Errorf("bolt read cdr: %w", err)
	}
	if !found {
		return event.CDR{}, fmt.Errorf("cdr %s: %w", uuid, store.ErrNotFound)
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
	return s.update(ctx, "append agent log", func(tx *bolt.Tx) error {
		ids := tx.Bucket(bAgentID)
		if ids.Get([]byte(a.ID)) != nil {
			return nil
		}
		if err := ids.Put([]byte(a.ID), []byte{}); err != nil {
			return err
		}
		b := tx.Bucket(bAgentLog)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return put(b, append([]byte(a.Ext+"\x00"), u64(seq)...), a)
	})
}

// AgentLogs returns the extension's last limit entries, oldest first.
func (s *Store) AgentLogs(ctx context.Context, ext string, limit int) ([]store.AgentLog, error) {
	var logs []store.AgentLog
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := []byte(ext + "\x00")
		c := tx.Bucket(bAgentLog).Cursor()
		// Keys of ext sort before ext "\x01": start there and walk back.
		var k, v []byte
		if k, _ = c.Seek([]byte(ext + "\x01")); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(logs) < limit; k, v = c.Prev() {
			var a store.AgentLog
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			logs = append(logs, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt agent logs: %w", err)
	}
	return reverse(logs), nil
}

func reverse(l []store.AgentLog) []store.AgentLog {
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return l
}
