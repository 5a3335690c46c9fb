package service

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// BenchmarkCallerLeftJournaled: the FreeSWITCH path of a call's end with the
// node's journal (on disk, over the embedded store): the caller leaves, its
// CDR waits for the caller leg's hangup event (journaling the provisional
// CDR), the event writes the CDR. Per op: one call entering, leaving and
// hanging up; the journal's own goroutines are not on the caller's thread.
func BenchmarkCallerLeftJournaled(b *testing.B) {
	dir := b.TempDir()
	st, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	j, err := writeback.New(st, writeback.Options{Dir: filepath.Join(dir, "journal")})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close(context.Background())
	s := New(Options{Switch: &host{}, Journal: nodeJournal{j}, SyncHost: true, CDRGrace: time.Hour})
	if err := s.AddGroup("120", acd.ModeSequential); err != nil {
		b.Fatal(err)
	}
	t := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u := fmt.Sprintf("call-%d", i)
		s.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "13800000000", DestNumber: "120"})
		s.Leave(u)
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: u, CallerNumber: "13800000000", DestNumber: "120",
			StartUsec: t.UnixMicro(), EndUsec: t.Add(time.Second).UnixMicro(), SIPHangupDisposition: "recv_bye"})
	}
	b.StopTimer()
	if err := j.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// nodeJournal is the journal as a node hands it to the service: its
// pending CDRs name the node.
type nodeJournal struct{ *writeback.Journal }

func (j nodeJournal) PutPendingCDR(c event.CDR) { j.Journal.PutPendingCDR("bench", c) }
