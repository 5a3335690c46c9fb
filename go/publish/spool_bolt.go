package publish

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nwayacd/mod_nwayacd/go/internal/record"
)

// Versions before the log kept the spool in a bbolt file at the same path:
// bucket "_meta" holds the id, one bucket per transport holds its CDRs under
// big-endian sequence keys. importBolt turns such a file into a log with the
// same id, sequence numbers and undelivered CDRs, so an upgrade neither
// loses a CDR nor reuses a message id.

const boltMagic = 0xED0CDAED

// boltHead is how much of a file tells a bbolt one: a page header, then
// the meta page's magic.
const boltHead = 20

// isBolt reports whether head, a file's first bytes, is a bbolt meta page.
func isBolt(head []byte) bool {
	return len(head) >= boltHead && binary.LittleEndian.Uint32(head[16:]) == boltMagic
}

func importBolt(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("import old spool: %w", err)
	}
	var id string
	var recs []byte
	var p []byte
	err = db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket([]byte("_meta")); meta != nil {
			id = string(meta.Get([]byte("id")))
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if string(name) == "_meta" {
				return nil
			}
			p = binary.AppendUvarint(appendName(append(p[:0], 'N'), string(name)), b.Sequence()+1)
			recs = record.Append(recs, p)
			return b.ForEach(func(k, v []byte) error {
				if len(k) != 8 || v == nil {
					return nil
				}
				p = binary.AppendUvarint(appendName(append(p[:0], 'A'), string(name)), binary.BigEndian.Uint64(k))
				recs = record.Append(recs, append(p, v...))
				return nil
			})
		})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("import old spool: %w", err)
	}
	if id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id = hex.EncodeToString(b[:])
	}
	return record.ReplaceFile(path, append(newSpoolImage(id), recs...))
}
