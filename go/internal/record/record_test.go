package record

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestReadBackAndDamage(t *testing.T) {
	var buf []byte
	buf = Append(buf, []byte("one"))
	buf = Append(buf, []byte("two"))
	read := func(b []byte) (got []string, err error) {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			p, err := Read(r, nil, 16)
			if err != nil {
				return got, err
			}
			got = append(got, string(p))
		}
	}
	if got, err := read(buf); err != io.EOF || len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Fatalf("whole file: %q, %v", got, err)
	}
	// A torn tail: the first record still reads, then damage, not EOF.
	if got, err := read(buf[:len(buf)-1]); !errors.Is(err, ErrDamaged) || len(got) != 1 {
		t.Fatalf("torn tail: %q, %v", got, err)
	}
	flipped := bytes.Clone(buf)
	flipped[len(flipped)-1] ^= 1
	if got, err := read(flipped); !errors.Is(err, ErrDamaged) || len(got) != 1 {
		t.Fatalf("bad checksum: %q, %v", got, err)
	}
	long := Append(nil, bytes.Repeat([]byte("x"), 17))
	if _, err := read(long); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a length over max: %v, want damaged", err)
	}
	if _, err := read(make([]byte, Header)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a zero length (a file extended with zeros): %v, want damaged", err)
	}
}

func TestReplaceFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, want := range []string{"first", "second"} {
		if err := ReplaceFile(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Fatalf("read %q, %v; want %q", b, err, want)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	if err := ReplaceFile(filepath.Join(t.TempDir(), "no", "such", "folder"), nil); err == nil {
		t.Fatal("ReplaceFile into a missing folder succeeded")
	}
}
