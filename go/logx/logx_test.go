package logx

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerForwardsAtFreeSWITCHLevels(t *testing.T) {
	type line struct {
		lvl int
		s   string
	}
	var got []line
	l := New(func(lvl int, s string) { got = append(got, line{lvl, s}) }, slog.LevelDebug)
	l.Debug("d")
	l.Info("started", "port", 8085)
	l.With("group", "110").Warn("queue full", "err", errors.New("x y"))
	l.WithGroup("db").Error("down", "dsn", "")
	want := []line{
		{FSDebug, "d"},
		{FSInfo, "started port=8085"},
		{FSWarning, `queue full group=110 err="x y"`},
		{FSError, `down db.dsn=""`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHandlerHonoursMinimumLevel(t *testing.T) {
	n := 0
	l := New(func(int, string) { n++ }, slog.LevelWarn)
	l.Info("dropped")
	l.Warn("kept")
	if n != 1 {
		t.Fatalf("%d lines forwarded, want 1", n)
	}
}

func TestWriterPrefixesLevel(t *testing.T) {
	var b strings.Builder
	Writer(&b, slog.LevelInfo).Error("boom", "n", 1)
	if b.String() != "ERR boom n=1\n" {
		t.Fatalf("got %q", b.String())
	}
}
