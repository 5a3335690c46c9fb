package publish

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

func spoolWorkers(names ...string) []*worker {
	ws := make([]*worker, len(names))
	for i, n := range names {
		ws[i] = &worker{name: n, key: Message.Channel, body: Message.AppendRedis}
	}
	return ws
}

func cdrs(from, to int) []Message {
	var ms []Message
	for i := from; i <= to; i++ {
		ms = append(ms, &testMsg{fam: event.FamilyCDR, ent: "1001", tok: "t", id: i})
	}
	return ms
}

func noBad(t *testing.T) func(*worker, Message, any) {
	return func(_ *worker, _ Message, p any) { t.Errorf("render panicked: %v", p) }
}

// headOf lists a bucket's undelivered entries as "seq:body".
func headOf(t *testing.T, s *spool, name string) []string {
	t.Helper()
	var out []string
	if err := s.head(name, 1<<20, func(seq uint64, key, body []byte) {
		if key == nil {
			t.Errorf("seq %d unreadable", seq)
			return
		}
		out = append(out, fmt.Sprintf("%d:%s", seq, body))
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustOpen(t *testing.T, path string, names ...string) (*spool, map[string]int) {
	t.Helper()
	s, counts, err := openSpool(path, names)
	if err != nil {
		t.Fatal(err)
	}
	return s, counts
}

func TestSpoolKeepsUndeliveredAcrossReopen(t *testing.T) {
	path := spoolPath(t)
	ws := spoolWorkers("redis", "amqp")
	s, _ := mustOpen(t, path, "redis", "amqp")
	id := s.id
	if err := s.appendAll(ws, cdrs(1, 5), noBad(t)); err != nil {
		t.Fatal(err)
	}
	// Out of order, as a CDR nacked alone is retried after later ones.
	if err := s.remove("redis", []uint64{2, 4}); err != nil {
		t.Fatal(err)
	}
	if err := s.remove("amqp", []uint64{1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s, counts := mustOpen(t, path, "redis", "amqp")
	defer s.close()
	if s.id != id {
		t.Fatalf("id %q after reopen, was %q", s.id, id)
	}
	if counts["redis"] != 3 || counts["amqp"] != 0 {
		t.Fatalf("counts %v, want redis 3, amqp 0", counts)
	}
	want := []string{"1:t,1", "3:t,3", "5:t,5"}
	if got := headOf(t, s, "redis"); !slices.Equal(got, want) {
		t.Fatalf("redis head %v, want %v", got, want)
	}
	// Sequence numbers go on where they were, in every bucket: a resent
	// CDR's message id must never name another CDR.
	if err := s.appendAll(ws, cdrs(6, 6), noBad(t)); err != nil {
		t.Fatal(err)
	}
	if got := headOf(t, s, "amqp"); !slices.Equal(got, []string{"6:t,6"}) {
		t.Fatalf("amqp head %v, want [6:t,6]", got)
	}
}

func TestSpoolCutsATornTail(t *testing.T) {
	path := spoolPath(t)
	ws := spoolWorkers("redis")
	s, _ := mustOpen(t, path, "redis")
	if err := s.appendAll(ws, cdrs(1, 3), noBad(t)); err != nil {
		t.Fatal(err)
	}
	s.close()
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-write: half of one more record, then nothing.
	s, _ = mustOpen(t, path, "redis")
	if err := s.appendAll(ws, cdrs(4, 4), noBad(t)); err != nil {
		t.Fatal(err)
	}
	s.close()
	full, _ := os.ReadFile(path)
	if err := os.WriteFile(path, full[:len(whole)+(len(full)-len(whole))/2], 0o600); err != nil {
		t.Fatal(err)
	}
	s, counts := mustOpen(t, path, "redis")
	if counts["redis"] != 3 {
		t.Fatalf("count %d after a torn tail, want 3", counts["redis"])
	}
	if err := s.appendAll(ws, cdrs(5, 5), noBad(t)); err != nil {
		t.Fatal(err)
	}
	s.close()
	s, _ = mustOpen(t, path, "redis")
	defer s.close()
	// The tail was cut, so the next append is readable after a reopen.
	if got, want := headOf(t, s, "redis"), []string{"1:t,1", "2:t,2", "3:t,3", "4:t,5"}; !slices.Equal(got, want) {
		t.Fatalf("head %v, want %v", got, want)
	}
}

func TestSpoolCompactsDeliveredAndKeepsTheRest(t *testing.T) {
	path := spoolPath(t)
	ws := spoolWorkers("redis")
	s, _ := mustOpen(t, path, "redis")
	big := strings.Repeat("x", 2000)
	var seq uint64
	for i := range 4000 { // ~8 MB appended: past compactAt at least once
		m := &testMsg{fam: event.FamilyCDR, ent: "1001", tok: big, id: i}
		if err := s.appendAll(ws, []Message{m}, noBad(t)); err != nil {
			t.Fatal(err)
		}
		seq++
		if i%1000 == 7 {
			continue // stays undelivered, across the rewrites
		}
		if err := s.remove("redis", []uint64{seq}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() >= compactAt {
		t.Fatalf("spool is %d bytes after delivering nearly all of ~8 MB; no rewrite happened", st.Size())
	}
	want := []string{"8", "1008", "2008", "3008"}
	check := func(s *spool) {
		t.Helper()
		var got []string
		if err := s.head("redis", 100, func(seq uint64, key, body []byte) {
			if !strings.HasSuffix(string(body), ","+strconv.FormatUint(seq-1, 10)) {
				t.Errorf("seq %d holds %q…", seq, body[len(body)-8:])
			}
			got = append(got, strconv.FormatUint(seq, 10))
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("undelivered %v, want %v", got, want)
		}
	}
	check(s)
	s.close()
	s, _ = mustOpen(t, path, "redis")
	defer s.close()
	check(s)
	if err := s.appendAll(ws, cdrs(1, 1), noBad(t)); err != nil {
		t.Fatal(err)
	}
	if got := headOf(t, s, "redis"); got[len(got)-1] != "4001:t,1" {
		t.Fatalf("after a rewrite the next seq is %v, want 4001", got[len(got)-1])
	}
}

// TestSpoolImportsTheOldFormat writes a spool as versions before the log
// did (bbolt) and opens it: the same id, undelivered CDRs and sequence.
func TestSpoolImportsTheOldFormat(t *testing.T) {
	path := spoolPath(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("_meta"))
		meta.Put([]byte("id"), []byte("0123456789abcdef"))
		b, _ := tx.CreateBucket([]byte("redis"))
		for i := 1; i <= 9; i++ {
			seq, _ := b.NextSequence()
			if i%3 != 0 {
				continue // delivered and deleted
			}
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], seq)
			v := binary.AppendUvarint(nil, 8)
			v = append(v, "cdr_1001"...)
			v = fmt.Appendf(v, "old,%d", seq)
			b.Put(k[:], v)
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, counts := mustOpen(t, path, "redis", "amqp")
	defer s.close()
	if s.id != "0123456789abcdef" || counts["redis"] != 3 || counts["amqp"] != 0 {
		t.Fatalf("id %q counts %v after import", s.id, counts)
	}
	if err := s.appendAll(spoolWorkers("redis"), cdrs(1, 1), noBad(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{"3:old,3", "6:old,6", "9:old,9", "10:t,1"}
	if got := headOf(t, s, "redis"); !slices.Equal(got, want) {
		t.Fatalf("head %v, want %v", got, want)
	}
	head := make([]byte, boltHead)
	n, _ := readHead(path, head)
	if isBolt(head[:n]) {
		t.Fatal("the file is still bbolt after the import")
	}
}

func TestSpoolRefusesAForeignFile(t *testing.T) {
	path := spoolPath(t)
	if err := os.WriteFile(path, []byte("something else entirely"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openSpool(path, []string{"redis"}); err == nil || !strings.Contains(err.Error(), "not a spool file") {
		t.Fatalf("err %v, want not a spool file", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "something else entirely" {
		t.Fatal("a foreign file was changed")
	}
}

// TestSpoolDeliveryMarkSurvivesKill9: a delivery mark is written without
// an fsync; a process killed right after writing it must not resend the
// CDR (the page cache outlives the process).
func TestSpoolDeliveryMarkSurvivesKill9(t *testing.T) {
	if path := os.Getenv("NWAYACD_SPOOL_CHILD"); path != "" {
		s, _, err := openSpool(path, []string{"redis"})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		ws := spoolWorkers("redis")
		for i := 1; i <= 200; i++ {
			if err := s.appendAll(ws, cdrs(i, i), func(*worker, Message, any) {}); err != nil {
				fmt.Println("append:", err)
				os.Exit(1)
			}
			if i%10 != 0 {
				if err := s.remove("redis", []uint64{uint64(i)}); err != nil {
					fmt.Println("remove:", err)
					os.Exit(1)
				}
			}
		}
		fmt.Println("ready")
		os.Stdout.Sync()
		select {} // killed here, never closed
	}
	path := filepath.Join(t.TempDir(), "spool.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolDeliveryMarkSurvivesKill9$")
	cmd.Env = append(os.Environ(), "NWAYACD_SPOOL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "ready") {
		cmd.Process.Kill()
		t.Fatalf("child said %q", buf[:n])
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	s, counts := mustOpen(t, path, "redis")
	defer s.close()
	if counts["redis"] != 20 {
		t.Fatalf("%d undelivered after kill -9, want the 20 never marked", counts["redis"])
	}
	for i, e := range headOf(t, s, "redis") {
		if want := fmt.Sprintf("%d:t,%d", (i+1)*10, (i+1)*10); e != want {
			t.Fatalf("entry %d is %q, want %q", i, e, want)
		}
	}
}

// On a broken spool (a failed write whose cut-back failed too) a delivered
// CDR leaves memory although its mark cannot be written: a worker would
// otherwise send it again on every round. The file still holds it, so a
// restart sends it again (at least once), never loses it.
func TestSpoolBrokenForgetsDeliveredButKeepsThemInTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s, _ := mustOpen(t, path, "redis")
	ws := spoolWorkers("redis")
	if err := s.appendAll(ws, cdrs(1, 3), noBad(t)); err != nil {
		t.Fatal(err)
	}
	s.broken = errSpoolBroken // as write leaves it when the truncate fails
	if err := s.remove("redis", []uint64{1}); !errors.Is(err, errSpoolBroken) {
		t.Fatalf("remove on a broken spool: %v, want errSpoolBroken", err)
	}
	if h := headOf(t, s, "redis"); len(h) != 2 || h[0] != "2:t,2" {
		t.Fatalf("head after delivering 1: %v, want 2 and 3", h)
	}
	s.close()
	s, counts := mustOpen(t, path, "redis")
	defer s.close()
	if counts["redis"] != 3 {
		t.Fatalf("%d undelivered after a restart, want 3 (the unmarked 1 goes again)", counts["redis"])
	}
}
