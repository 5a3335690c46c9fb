package writeback

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/nwayacd/mod_nwayacd/go/internal/record"
)

// The journal file is a folder of segments, each named after the sequence
// number of its first op ("00000000000000000001.wal"), plus "applied", the
// highest sequence number the target is known to hold. A record is
// [length u32][crc32c u32][JSON op]; a torn record at the end of the last
// segment (a crash mid-write) is cut off at open.

const (
	segmentSize = 8 << 20 // start a new segment past this many bytes
	maxRecord   = 4 << 20 // a larger length field means damage
	appliedFile = "applied"
	segSuffix   = ".wal"
)

type segment struct {
	first uint64 // seq of its first record
	path  string
}

// wal is the append side. Only the committer goroutine writes; segments is
// shared with the applier (which deletes old ones) under Journal.mu.
type wal struct {
	dir      string
	lock     *os.File // flock'ed: one process per journal
	f        *os.File
	size     int64
	segments []segment
}

func segName(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", first, segSuffix))
}

// openWAL reads dir and returns the ops not yet applied, in order, and the
// next free sequence number. The returned wal appends to a new segment.
func openWAL(dir string) (w *wal, pending []*op, applied, next uint64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, 0, 0, fmt.Errorf("journal folder: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("journal lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, 0, 0, fmt.Errorf("journal %s is in use by another process: %w", dir, err)
	}
	w = &wal{dir: dir, lock: lock}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	applied, err = readApplied(dir)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("journal folder: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		w.segments = append(w.segments, segment{first: first, path: filepath.Join(dir, name)})
	}
	slices.SortFunc(w.segments, func(a, b segment) int { return cmpU64(a.first, b.first) })
	next = applied + 1
	for i, s := range w.segments {
		last := i == len(w.segments)-1
		ops, err := readSegment(s.path, last)
		if err != nil {
			return nil, nil, 0, 0, err
		}
		for _, o := range ops {
			if o.Seq >= next {
				next = o.Seq + 1
			}
			if o.Seq > applied {
				pending = append(pending, o)
			}
		}
	}
	if err := w.roll(next); err != nil {
		return nil, nil, 0, 0, err
	}
	return w, pending, applied, next, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readSegment decodes every whole record; in the last segment a damaged tail
// is cut off (it was never acknowledged: the fsync after it did not return).
func readSegment(path string, last bool) ([]*op, error) {
	return scanSegment(path, last, true)
}

// scanSegment decodes a segment's whole records. With repair, a damaged
// tail of the last segment is cut off (at open); without, reading stops
// there (a segment being written, read back while its records spilled out
// of memory).
func scanSegment(path string, last, repair bool) ([]*op, error) {
	flag := os.O_RDONLY
	if repair {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("journal segment: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var ops []*op
	var good int64
	for {
		buf, err := record.Read(r, nil, maxRecord)
		if errors.Is(err, io.EOF) {
			return ops, nil
		}
		if err != nil {
			break
		}
		o := new(op)
		if err := json.Unmarshal(buf, o); err != nil || !o.valid() {
			break
		}
		ops = append(ops, o)
		good += record.Header + int64(len(buf))
	}
	if !last {
		return nil, fmt.Errorf("journal segment %s is damaged after %d bytes", path, good)
	}
	if !repair {
		return ops, nil
	}
	if err := f.Truncate(good); err != nil {
		return nil, fmt.Errorf("journal segment: cut damaged tail: %w", err)
	}
	return ops, f.Sync()
}

func readApplied(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, appliedFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("journal: %s: %w", appliedFile, err)
	}
	return n, nil
}

// writeApplied records that the target holds every op up to seq. Written
// before segments are deleted, so a replay never starts past a gap.
func writeApplied(dir string, seq uint64) error {
	return record.ReplaceFile(filepath.Join(dir, appliedFile), []byte(strconv.FormatUint(seq, 10)+"\n"))
}

// roll starts a new segment whose first record will be seq first.
func (w *wal) roll(first uint64) error {
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			return fmt.Errorf("journal segment close: %w", err)
		}
		w.f = nil
	}
	path := segName(w.dir, first)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("journal segment: %w", err)
	}
	if err := record.SyncDir(w.dir); err != nil {
		f.Close()
		return fmt.Errorf("journal folder sync: %w", err)
	}
	w.f, w.size = f, st.Size()
	if n := len(w.segments); n == 0 || w.segments[n-1].path != path {
		w.segments = append(w.segments, segment{first: first, path: path})
	}
	return nil
}

// write appends one batch of framed records (sync makes them durable).
func (w *wal) write(batch []byte) error {
	if _, err := w.f.Write(batch); err != nil {
		return fmt.Errorf("journal write: %w", err)
	}
	w.size += int64(len(batch))
	return nil
}

// sync fsyncs what was written: the group commit.
func (w *wal) sync() error {
	if w.f == nil {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("journal fsync: %w", err)
	}
	return nil
}

// closeSegment closes the segment being written.
func (w *wal) closeSegment() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// close closes the segment and gives up the lock.
func (w *wal) close() error {
	err := w.closeSegment()
	if w.lock != nil {
		_ = w.lock.Close() // releases the flock
		w.lock = nil
	}
	return err
}

// readFrom reads back the durable records with from ≤ seq ≤ upto, at most
// max of them, from the segments (records that did not stay in memory).
func readFrom(segs []segment, from, upto uint64, max int) ([]*op, error) {
	var out []*op
	for i, s := range segs {
		if i+1 < len(segs) && segs[i+1].first <= from {
			continue // entirely before from
		}
		if s.first > upto {
			break
		}
		ops, err := scanSegment(s.path, i == len(segs)-1, false)
		if err != nil {
			return nil, err
		}
		for _, o := range ops {
			if o.Seq >= from && o.Seq <= upto {
				out = append(out, o)
				if len(out) == max {
					return out, nil
				}
			}
		}
	}
	return out, nil
}
