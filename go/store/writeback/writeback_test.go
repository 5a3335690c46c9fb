package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// fake records the writes that reach it; fail decides an attempt's error.
type fake struct {
	writeback.Target // only the methods below are used
	mu               sync.Mutex
	written          []string
	gate             chan struct{} // when set, each write waits for a token
	fail             func(what string, attempt int) error
	tries            map[string]int
}

func (f *fake) write(ctx context.Context, what string) error {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tries == nil {
		f.tries = map[string]int{}
	}
	f.tries[what]++
	if f.fail != nil {
		if err := f.fail(what, f.tries[what]); err != nil {
			return err
		}
	}
	f.written = append(f.written, what)
	return nil
}

func (f *fake) UpsertExtension(ctx context.Context, e store.Extension) error {
	return f.write(ctx, "ext "+e.Number+" "+e.JobNumber)
}

func (f *fake) InsertCDR(ctx context.Context, c event.CDR) error { return f.write(ctx, "cdr "+c.UUID) }

func (f *fake) PutPendingCDR(ctx context.Context, _ string, c event.CDR) error {
	return f.write(ctx, "pending "+c.UUID)
}

func (f *fake) DeletePendingCDR(ctx context.Context, uuid string) error {
	return f.write(ctx, "delete pending "+uuid)
}

func (f *fake) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.written...)
}

func open(t testing.TB, target writeback.Target, opt writeback.Options) *writeback.Journal {
	t.Helper()
	j, err := writeback.New(target, opt)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestOrderAndRetry(t *testing.T) {
	down := errors.New("connection refused")
	f := &fake{fail: func(what string, attempt int) error {
		if what == "cdr 3" && attempt < 4 { // down for three attempts
			return down
		}
		if what == "cdr 5" {
			return fmt.Errorf("value too long: %w", store.ErrRejected)
		}
		return nil
	}}
	j := open(t, f, writeback.Options{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	var want []string
	for i := range 8 {
		j.InsertCDR(event.CDR{UUID: fmt.Sprint(i)})
		if i != 5 {
			want = append(want, fmt.Sprintf("cdr %d", i))
		}
	}
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("written %v, want %v", got, want)
	}
	st := j.Stats()
	if st.Applied != 7 || st.Rejected != 1 || st.Retries != 3 || st.Backlog != 0 || st.Down || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	j.InsertCDR(event.CDR{UUID: "late"})
	if st := j.Stats(); st.Dropped != 1 || len(f.got()) != 7 {
		t.Fatalf("write after Close: stats %+v", st)
	}
}

// TestLimitRefusesNeverDrops: past the limit, Admit refuses operators'
// changes, while what the call path queues is still kept and written.
func TestLimitRefusesNeverDrops(t *testing.T) {
	f := &fake{gate: make(chan struct{})}
	j := open(t, f, writeback.Options{Limit: 10})
	for i := range 25 {
		if i == 9 {
			if err := j.Admit(); err != nil {
				t.Fatalf("Admit with 9 queued: %v", err)
			}
		}
		j.UpsertExtension(store.Extension{Number: "1000", JobNumber: fmt.Sprint(i)})
	}
	if err := j.Admit(); !errors.Is(err, writeback.ErrFull) {
		t.Fatalf("Admit past the limit: %v, want ErrFull", err)
	}
	if st := j.Stats(); st.Backlog != 25 || st.Dropped != 0 {
		t.Fatalf("stats %+v, want backlog 25 and nothing dropped", st)
	}
	close(f.gate)
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.got(); len(got) != 25 || got[24] != "ext 1000 24" {
		t.Fatalf("written %v", got)
	}
	if err := j.Admit(); !errors.Is(err, writeback.ErrClosed) {
		t.Fatalf("Admit after Close: %v", err)
	}
}

func TestCloseGivesUp(t *testing.T) {
	f := &fake{fail: func(string, int) error { return errors.New("down") }}
	j := open(t, f, writeback.Options{MinBackoff: time.Millisecond})
	j.InsertCDR(event.CDR{UUID: "a"})
	j.InsertCDR(event.CDR{UUID: "b"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := j.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || j.Backlog() != 2 {
		t.Fatalf("Close: %v, backlog %d; want deadline error and 2 unwritten", err, j.Backlog())
	}
	if st := j.Stats(); st.Retries == 0 || !st.Down || st.LastError != "down" {
		t.Fatalf("stats %+v", st)
	}
}

func TestFlush(t *testing.T) {
	f := &fake{gate: make(chan struct{})}
	j := open(t, f, writeback.Options{})
	defer func() { _ = j.Close(context.Background()) }()
	if err := j.Flush(context.Background()); err != nil {
		t.Fatalf("flush of an empty journal: %v", err)
	}
	for i := range 3 {
		j.InsertCDR(event.CDR{UUID: fmt.Sprint(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := j.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush while blocked: %v", err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- j.Flush(context.Background()) }()
	for range 3 {
		f.gate <- struct{}{}
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if got := f.got(); len(got) != 3 {
		t.Fatalf("flush returned with %d of 3 written", len(got))
	}
}

// BenchmarkEnqueue is the call path's cost of one write (the writer keeps up).
func BenchmarkEnqueue(b *testing.B) {
	f := &fake{}
	j := open(b, f, writeback.Options{})
	c := event.CDR{UUID: "x", NoAnswerAgents: []string{"1011"}}
	for b.Loop() {
		j.InsertCDR(c)
	}
	b.StopTimer()
	if err := j.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEnqueueJournaled is the call path's cost of one write with the
// journal file (encoding included; the fsync is the committer's, not the
// caller's).
func BenchmarkEnqueueJournaled(b *testing.B) {
	f := &fake{}
	j := open(b, f, writeback.Options{Dir: b.TempDir()})
	c := event.CDR{UUID: "x", NoAnswerAgents: []string{"1011"}, Group: "110", DestinationNumber: "1001"}
	for b.Loop() {
		j.InsertCDR(c)
	}
	b.StopTimer()
	if err := j.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
