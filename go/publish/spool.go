package publish

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// spool keeps CDRs on disk until each transport has delivered them: one
// bucket per transport, key = big-endian sequence (bucket.NextSequence, which
// persists, so order survives restarts), value = the message rendered for that
// transport: uvarint(len(key)) | key | body.
type spool struct {
	db *bolt.DB
	id string // random, made when the file is created; prefixes message ids
}

func openSpool(path string, buckets []string) (*spool, map[string]int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	counts := make(map[string]int, len(buckets))
	var id string
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists([]byte("_meta"))
		if err != nil {
			return err
		}
		if v := meta.Get([]byte("id")); v != nil {
			id = string(v)
		} else {
			var b [8]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			id = hex.EncodeToString(b[:])
			if err := meta.Put([]byte("id"), []byte(id)); err != nil {
				return err
			}
		}
		for _, name := range buckets {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			counts[name] = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("init spool %s: %w", path, err)
	}
	return &spool{db: db, id: id}, counts, nil
}

// entry is one CDR rendered for one bucket.
type entry struct {
	bucket int
	value  []byte
}

// appendAll writes msgs to every worker's bucket in one transaction (one
// fsync for the whole group). A message whose rendering panics is skipped
// (and reported through bad) so that it cannot wedge the spool.
func (s *spool) appendAll(workers []*worker, msgs []Message, bad func(w *worker, m Message, p any)) error {
	// Render outside the transaction, into one arena that is only appended
	// to: bbolt needs values to stay valid until commit.
	var arena []byte
	entries := make([]entry, 0, len(workers)*len(msgs))
	for i, w := range workers {
		for _, m := range msgs {
			start := len(arena)
			var ok bool
			arena, ok = renderEntry(arena, w, m, bad)
			if !ok {
				arena = arena[:start]
				continue
			}
			entries = append(entries, entry{bucket: i, value: arena[start:len(arena):len(arena)]})
		}
	}
	var keys []byte
	return s.db.Update(func(tx *bolt.Tx) error {
		keys = keys[:0]
		bs := make([]*bolt.Bucket, len(workers))
		for i, w := range workers {
			if bs[i] = tx.Bucket([]byte(w.name)); bs[i] == nil {
				return errors.New("spool bucket missing")
			}
		}
		for i := range entries {
			e := &entries[i]
			seq, err := bs[e.bucket].NextSequence()
			if err != nil {
				return err
			}
			start := len(keys)
			keys = binary.BigEndian.AppendUint64(keys, seq)
			if err := bs[e.bucket].Put(keys[start:len(keys):len(keys)], e.value); err != nil {
				return err
			}
		}
		return nil
	})
}

// renderEntry appends uvarint(len(key)) | key | body for w, recovering from
// a Message that panics.
func renderEntry(dst []byte, w *worker, m Message, bad func(*worker, Message, any)) (out []byte, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			bad(w, m, p)
			out, ok = dst, false
		}
	}()
	key := w.key(m)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	return w.body(m, dst), true
}

// head calls fn for up to max oldest entries of bucket name. key and body are
// only valid during fn; a nil key marks an unreadable entry.
func (s *spool) head(name string, max int, fn func(seq uint64, key, body []byte)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(name))
		if b == nil {
			return errors.New("spool bucket missing")
		}
		c := b.Cursor()
		n := 0
		for k, v := c.First(); k != nil && n < max; k, v = c.Next() {
			if len(k) != 8 {
				continue // not ours; never produced by appendAll
			}
			n++
			seq := binary.BigEndian.Uint64(k)
			klen, sz := binary.Uvarint(v)
			if sz <= 0 || uint64(len(v)-sz) < klen {
				fn(seq, nil, nil) // corrupt: the caller drops it rather than stall
				continue
			}
			fn(seq, v[sz:sz+int(klen)], v[sz+int(klen):])
		}
		return nil
	})
}

// remove deletes delivered entries.
func (s *spool) remove(name string, seqs []uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(name))
		if b == nil {
			return errors.New("spool bucket missing")
		}
		var k [8]byte
		for _, seq := range seqs {
			binary.BigEndian.PutUint64(k[:], seq)
			if err := b.Delete(k[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *spool) close() error { return s.db.Close() }
