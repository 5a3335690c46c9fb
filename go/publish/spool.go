package publish

import (
	"encoding/binary"
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
}

func openSpool(path string, buckets []string) (*spool, map[string]int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	counts := make(map[string]int, len(buckets))
	err = db.Update(func(tx *bolt.Tx) error {
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
	return &spool{db: db}, counts, nil
}

// appendAll writes msgs to every worker's bucket in one transaction (one
// fsync for the whole group).
func (s *spool) appendAll(workers []*worker, msgs []Message) error {
	// bbolt requires keys and values to stay valid until commit, so they
	// are carved from one arena that is only appended to.
	var arena []byte
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, w := range workers {
			b := tx.Bucket([]byte(w.name))
			if b == nil {
				return errors.New("spool bucket missing")
			}
			for _, m := range msgs {
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				start := len(arena)
				arena = binary.BigEndian.AppendUint64(arena, seq)
				vstart := len(arena)
				key := w.key(m)
				arena = binary.AppendUvarint(arena, uint64(len(key)))
				arena = append(arena, key...)
				arena = w.body(m, arena)
				if err := b.Put(arena[start:vstart:vstart], arena[vstart:len(arena):len(arena)]); err != nil {
					return err
				}
			}
		}
		return nil
	})
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
