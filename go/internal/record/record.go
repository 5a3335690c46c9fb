// Package record is the record framing of the module's append-only files
// (the store's journal, the CDR spool): [length u32][crc32c u32][payload],
// little-endian. A record that does not check out ends the readable part of
// a file: a crash mid-write leaves at most a torn tail.
package record

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Header is the framing's size per record.
const Header = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrDamaged means the bytes at the reader's position are not a whole,
// intact record.
var ErrDamaged = errors.New("damaged record")

// Append frames payload onto buf.
func Append(buf, payload []byte) []byte {
	var hdr [Header]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(payload, crcTable))
	buf = append(buf, hdr[:]...)
	return append(buf, payload...)
}

// Read reads the next record's payload into buf[:0] (grown as needed). It
// returns io.EOF at a clean end, ErrDamaged for a torn or corrupt record, a
// zero or over-max length included.
func Read(r *bufio.Reader, buf []byte, max uint32) ([]byte, error) {
	var hdr [Header]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, ErrDamaged
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n == 0 || n > max {
		return nil, ErrDamaged
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, ErrDamaged
	}
	if crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
		return nil, ErrDamaged
	}
	return buf, nil
}

// ReplaceFile replaces path with data durably: a temporary file, fsynced,
// renamed over path, then the folder fsynced, so that a crash leaves the
// old content or the new, never a mix.
func ReplaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a folder, making the files created or renamed in it stay.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
