package publish

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nwayacd/mod_nwayacd/go/internal/record"
)

// The spool keeps CDRs on disk until each transport has delivered them. It
// is one append-only file: spoolMagic, then framed records (internal/frame)
// whose first byte is their kind:
//
//	'I' id                   the spool's random id, prefix of message ids
//	'N' bucket next          a bucket's next sequence number (kept by a rewrite)
//	'A' bucket seq value     a CDR rendered for one transport:
//	                         value = uvarint(len(key)) | key | body
//	'D' bucket n seq…        those CDRs were delivered
//
// bucket is uvarint(len) | name; numbers are uvarints. An append is fsynced
// before appendAll returns, one fsync per group of CDRs. A delivery mark is
// written but not fsynced: the page cache keeps it through a kill -9, and a
// power cut can at worst lose the mark, so that CDR goes out again (at least
// once, as when a broker's reply is lost). Each CDR thus costs one write and
// a share of one fsync, where a B+tree file cost two transactions of two
// fsyncs each. Once the file passes compactAt and less than half of it is
// undelivered CDRs, those are rewritten into a new file that replaces it.
const (
	spoolMagic  = "NWCDRSP1"
	compactAt   = 4 << 20
	cacheMax    = 8 << 20 // bytes of undelivered values kept in memory too
	maxSpoolRec = 16 << 20
)

var errSpoolBroken = errors.New("spool file damaged by a failed write; restart to repair")

type spool struct {
	path string
	lock *os.File // flock'ed: one process per spool
	id   string

	mu        sync.Mutex
	f         *os.File
	size      int64
	liveBytes int64 // framed size of undelivered 'A' records
	cached    int64
	nextTry   int64 // size at which to try compacting again
	broken    error
	buckets   map[string]*spoolBucket
	buf       []byte // a write's records
	pbuf      []byte // a record's payload
	rbuf      []byte // a value read back
}

type spoolBucket struct {
	next uint64
	ents []spoolEntry // ascending seq; delivered ones trimmed from the front
	live int
}

type spoolEntry struct {
	seq  uint64
	off  int64  // the value's offset in the file
	n    int    // the value's length
	rec  int64  // the record's framed size
	val  []byte // the value, when cached
	dead bool
}

func openSpool(path string, buckets []string) (*spool, map[string]int, error) {
	lock, err := lockFile(path+".lock", 2*time.Second)
	if err != nil {
		return nil, nil, err
	}
	s := &spool{path: path, lock: lock, buckets: map[string]*spoolBucket{}}
	if err := s.open(); err != nil {
		s.close()
		return nil, nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	counts := make(map[string]int, len(buckets))
	for _, name := range buckets {
		counts[name] = s.bucket(name).live
	}
	return s, counts, nil
}

// lockFile takes an exclusive flock, waiting up to timeout for an exiting
// process to let go.
func lockFile(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("spool %s is in use by another process: %w", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *spool) bucket(name string) *spoolBucket {
	b := s.buckets[name]
	if b == nil {
		b = &spoolBucket{next: 1}
		s.buckets[name] = b
	}
	return b
}

// open reads the file (importing a B+tree spool left by an earlier
// version), cuts a torn tail, and leaves it open for appending.
func (s *spool) open() error {
	head := make([]byte, boltHead)
	n, err := readHead(s.path, head)
	head = head[:n]
	switch {
	case err != nil:
		return err
	case n == 0:
		if err := s.create(); err != nil {
			return err
		}
	case bytes.HasPrefix(head, []byte(spoolMagic)):
	case isBolt(head):
		if err := importBolt(s.path); err != nil {
			return err
		}
	default:
		return errors.New("not a spool file")
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.f = f
	if err := s.scan(); err != nil {
		return err
	}
	if s.id == "" {
		return errors.New("spool file has no id")
	}
	s.nextTry = compactAt
	return s.maybeCompact()
}

// readHead reads the start of path into head; 0 when there is no file.
func readHead(path string, head []byte) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return n, err
}

// create writes a new, empty spool with a fresh id.
func (s *spool) create() error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	return record.ReplaceFile(s.path, newSpoolImage(hex.EncodeToString(b[:])))
}

func newSpoolImage(id string) []byte {
	img := []byte(spoolMagic)
	return record.Append(img, append([]byte{'I'}, id...))
}

// scan rebuilds the index from the file; a damaged tail (a crash
// mid-write: it was never fsynced, or was only a delivery mark) is cut off.
func (s *spool) scan() error {
	if _, err := s.f.Seek(int64(len(spoolMagic)), io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 1<<16)
	off := int64(len(spoolMagic))
	var buf []byte
	for {
		p, err := record.Read(r, buf, maxSpoolRec)
		if err == io.EOF {
			break
		}
		if err != nil {
			if err := s.f.Truncate(off); err != nil {
				return fmt.Errorf("cut damaged tail: %w", err)
			}
			if err := s.f.Sync(); err != nil {
				return err
			}
			break
		}
		s.apply(p, off)
		buf = p
		off += record.Header + int64(len(p))
	}
	s.size = off
	for _, b := range s.buckets {
		b.trim()
	}
	return nil
}

// apply indexes one record read at off. A record that checks out but does
// not parse (a later version's kind, say) is skipped, never cut: what
// follows it may still be needed.
func (s *spool) apply(p []byte, off int64) {
	if len(p) == 0 {
		return
	}
	if p[0] == 'I' {
		s.id = string(p[1:])
		return
	}
	name, rest, ok := readName(p[1:])
	if !ok {
		return
	}
	switch p[0] {
	case 'N':
		if next, sz := binary.Uvarint(rest); sz > 0 {
			b := s.bucket(name)
			b.next = max(b.next, next)
		}
	case 'A':
		seq, sz := binary.Uvarint(rest)
		if sz <= 0 || seq == 0 {
			return
		}
		val := rest[sz:]
		hdr := int64(len(p) - len(val))
		s.add(s.bucket(name), seq, val, off+record.Header+hdr, record.Header+int64(len(p)))
	case 'D':
		cnt, sz := binary.Uvarint(rest)
		if sz <= 0 {
			return
		}
		rest = rest[sz:]
		b := s.bucket(name)
		for range cnt {
			seq, sz := binary.Uvarint(rest)
			if sz <= 0 {
				return
			}
			rest = rest[sz:]
			s.kill(b, seq)
		}
	}
}

func readName(p []byte) (string, []byte, bool) {
	n, sz := binary.Uvarint(p)
	if sz <= 0 || uint64(len(p)-sz) < n {
		return "", nil, false
	}
	return string(p[sz : sz+int(n)]), p[sz+int(n):], true
}

func appendName(dst []byte, name string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(name)))
	return append(dst, name...)
}

// add indexes a live value; val is copied when it is cached. Appends come
// in ascending order; anything else (a damaged file's oddity) is placed in
// order, and a repeat of a live seq is ignored.
func (s *spool) add(b *spoolBucket, seq uint64, val []byte, off, rec int64) {
	e := spoolEntry{seq: seq, off: off, n: len(val), rec: rec}
	i := len(b.ents)
	if i > 0 && b.ents[i-1].seq >= seq {
		var found bool
		if i, found = b.find(seq); found {
			return
		}
	}
	if s.cached+int64(len(val)) <= cacheMax {
		e.val = bytes.Clone(val)
		s.cached += int64(len(val))
	}
	b.ents = slices.Insert(b.ents, i, e)
	b.live++
	b.next = max(b.next, seq+1)
	s.liveBytes += rec
}

func (b *spoolBucket) find(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(b.ents, seq, func(e spoolEntry, t uint64) int {
		switch {
		case e.seq < t:
			return -1
		case e.seq > t:
			return 1
		}
		return 0
	})
}

// kill marks seq delivered; false if it is not live.
func (s *spool) kill(b *spoolBucket, seq uint64) bool {
	i, found := b.find(seq)
	if !found || b.ents[i].dead {
		return false
	}
	e := &b.ents[i]
	e.dead = true
	s.cached -= int64(len(e.val))
	e.val = nil
	b.live--
	s.liveBytes -= e.rec
	return true
}

// trim drops delivered entries from the front, and compacts the slice when
// most of it is delivered (a CDR nacked alone can hold the front).
func (b *spoolBucket) trim() {
	i := 0
	for i < len(b.ents) && b.ents[i].dead {
		i++
	}
	b.ents = b.ents[i:]
	if len(b.ents) > 64 && b.live < len(b.ents)/4 {
		b.ents = slices.DeleteFunc(slices.Clone(b.ents), func(e spoolEntry) bool { return e.dead })
	}
	if len(b.ents) == 0 {
		b.ents = nil
	}
}

// entry is one CDR rendered for one bucket.
type entry struct {
	bucket int
	value  []byte
}

// appendAll writes msgs to every worker's bucket with one fsync for the
// whole group. A message whose rendering panics is skipped (and reported
// through bad) so that it cannot wedge the spool.
func (s *spool) appendAll(workers []*worker, msgs []Message, bad func(w *worker, m Message, p any)) error {
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
	if len(entries) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return s.broken
	}
	type placed struct {
		b       *spoolBucket
		seq     uint64
		val     []byte
		off, rc int64
	}
	ps := make([]placed, 0, len(entries))
	buf, p := s.buf[:0], s.pbuf[:0]
	seqs := make(map[*spoolBucket]uint64, len(workers))
	for _, e := range entries {
		b := s.bucket(workers[e.bucket].name)
		seq, ok := seqs[b]
		if !ok {
			seq = b.next
		}
		seqs[b] = seq + 1
		p = binary.AppendUvarint(appendName(append(p[:0], 'A'), workers[e.bucket].name), seq)
		start, valAt := len(buf), len(buf)+record.Header+len(p)
		buf = record.Append(buf, append(p, e.value...))
		ps = append(ps, placed{b: b, seq: seq, val: e.value, off: s.size + int64(valAt), rc: int64(len(buf) - start)})
	}
	s.pbuf = p
	s.buf = buf
	if err := s.write(buf, true); err != nil {
		return err
	}
	for b, next := range seqs {
		b.next = next
	}
	for _, pl := range ps {
		s.add(pl.b, pl.seq, pl.val, pl.off, pl.rc)
	}
	_ = s.maybeCompact() // best effort: a failed rewrite is retried later
	return nil
}

// write appends buf at the end (fsynced with sync). A failed write is cut
// back off, so the next record starts clean; if even that fails, the spool
// refuses writes until a restart repairs the tail.
func (s *spool) write(buf []byte, sync bool) error {
	_, err := s.f.Write(buf)
	if err == nil && sync {
		err = unix.Fdatasync(int(s.f.Fd()))
	}
	if err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = fmt.Errorf("%w: %v", errSpoolBroken, terr)
		}
		return fmt.Errorf("spool write: %w", err)
	}
	s.size += int64(len(buf))
	return nil
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

// head calls fn for up to max oldest undelivered entries of bucket name. key
// and body are only valid during fn; a nil key marks an unreadable entry.
func (s *spool) head(name string, max int, fn func(seq uint64, key, body []byte)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return errors.New("spool bucket missing")
	}
	n := 0
	for i := range b.ents {
		if n == max {
			break
		}
		e := &b.ents[i]
		if e.dead {
			continue
		}
		n++
		v := e.val
		if v == nil {
			if cap(s.rbuf) < e.n {
				s.rbuf = make([]byte, e.n)
			}
			v = s.rbuf[:e.n]
			if _, err := s.f.ReadAt(v, e.off); err != nil {
				return fmt.Errorf("spool read: %w", err)
			}
		}
		klen, sz := binary.Uvarint(v)
		if sz <= 0 || uint64(len(v)-sz) < klen {
			fn(e.seq, nil, nil) // unreadable: the caller drops it rather than stall
			continue
		}
		fn(e.seq, v[sz:sz+int(klen)], v[sz+int(klen):])
	}
	return nil
}

// remove marks delivered entries. The mark is written, not fsynced (see
// the top of this file). They leave memory even when the mark cannot be
// written (a broken spool, a failing disk): the file then still holds them
// undelivered, so they go out again after a restart (at least once), where
// keeping them would send them again and again now.
func (s *spool) remove(name string, seqs []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return errors.New("spool bucket missing")
	}
	err := s.broken
	if err == nil {
		var payload []byte
		payload = append(payload, 'D')
		payload = appendName(payload, name)
		payload = binary.AppendUvarint(payload, uint64(len(seqs)))
		for _, seq := range seqs {
			payload = binary.AppendUvarint(payload, seq)
		}
		s.buf = record.Append(s.buf[:0], payload)
		err = s.write(s.buf, false)
	}
	for _, seq := range seqs {
		s.kill(b, seq)
	}
	b.trim()
	return err
}

// maybeCompact rewrites the undelivered CDRs into a new file once the
// file is large and mostly delivered. Called with mu held.
func (s *spool) maybeCompact() error {
	if s.size < s.nextTry || s.liveBytes*2 > s.size {
		return nil
	}
	img := newSpoolImage(s.id)
	names := make([]string, 0, len(s.buckets))
	for name := range s.buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	type moved struct {
		e   *spoolEntry
		off int64
	}
	var ms []moved
	var payload []byte
	for _, name := range names {
		b := s.buckets[name]
		payload = appendName(append(payload[:0], 'N'), name)
		img = record.Append(img, binary.AppendUvarint(payload, b.next))
		for i := range b.ents {
			e := &b.ents[i]
			if e.dead {
				continue
			}
			v := e.val
			if v == nil {
				v = make([]byte, e.n)
				if _, err := s.f.ReadAt(v, e.off); err != nil {
					s.nextTry = s.size + compactAt
					return fmt.Errorf("spool compact: %w", err)
				}
			}
			payload = binary.AppendUvarint(appendName(append(payload[:0], 'A'), name), e.seq)
			valAt := len(img) + record.Header + len(payload)
			img = record.Append(img, append(payload, v...))
			ms = append(ms, moved{e: e, off: int64(valAt)})
		}
	}
	if err := record.ReplaceFile(s.path, img); err != nil {
		s.nextTry = s.size + compactAt
		return fmt.Errorf("spool compact: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		// The new file is in place but cannot be opened: refuse writes
		// rather than append to the old, unlinked one.
		s.broken = fmt.Errorf("%w: reopen after compact: %v", errSpoolBroken, err)
		return s.broken
	}
	s.f.Close()
	s.f = f
	for _, m := range ms {
		m.e.off = m.off
	}
	s.size = int64(len(img))
	s.nextTry = compactAt
	for _, b := range s.buckets {
		b.trim()
	}
	return nil
}

func (s *spool) close() error {
	var err error
	if s.f != nil {
		err = s.f.Close()
		s.f = nil
	}
	if s.lock != nil {
		s.lock.Close() // releases the flock
		s.lock = nil
	}
	return err
}
