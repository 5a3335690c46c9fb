package service

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The service logs through Options.Logger, structured, at slog's levels.
func TestLogsThroughTheLogger(t *testing.T) {
	var buf lockedBuf
	s := New(Options{Logger: logx.Writer(&buf, slog.LevelDebug), Switch: &refusingSwitch{}, SyncHost: true})
	s.Load(store.Snapshot{Groups: []store.Group{{Number: "120", Mode: 99}}})
	s.exec.Run("uuid_kill", "gone NORMAL_CLEARING")
	s.exec.Run("uuid_hold", "chan-1")
	out := buf.String()
	for _, want := range []string{
		"WARNING load group: unknown mode, using the default group=120 mode=99",
		"DEBUG host command failed cmd=uuid_kill", // routine: a channel that just went
		"WARNING host command failed cmd=uuid_hold",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
