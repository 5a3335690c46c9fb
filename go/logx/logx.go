// Package logx is the module's one logging shape: log/slog everywhere, with a
// handler that forwards each record to FreeSWITCH's log at the matching level
// (or to any other sink, such as stderr in the demo and tests).
package logx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// FreeSWITCH's SWITCH_LOG_* levels that slog levels map to.
const (
	FSDebug   = 7
	FSInfo    = 6
	FSNotice  = 5
	FSWarning = 4
	FSError   = 3
)

// FSLevel maps an slog level to FreeSWITCH's.
func FSLevel(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return FSError
	case l >= slog.LevelWarn:
		return FSWarning
	case l >= slog.LevelInfo:
		return FSInfo
	}
	return FSDebug
}

// Sink receives one rendered line at a FreeSWITCH level.
type Sink func(fsLevel int, line string)

// handler renders "msg k=v k=v" and hands it to a Sink. Time and level are the
// host's business: FreeSWITCH stamps both itself.
type handler struct {
	sink   Sink
	min    slog.Leveler
	prefix string // pre-rendered attrs from WithAttrs
	group  string // dotted group prefix for later keys
}

// NewHandler returns a slog.Handler writing to sink at min and above.
func NewHandler(sink Sink, min slog.Leveler) slog.Handler {
	if min == nil {
		min = slog.LevelInfo
	}
	return &handler{sink: sink, min: min}
}

// New returns a logger writing to sink.
func New(sink Sink, min slog.Leveler) *slog.Logger { return slog.New(NewHandler(sink, min)) }

// Discard is a logger that drops everything (the default where none is given).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard returns l, or Discard() when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return l
}

// Writer returns a logger that writes "LEVEL msg k=v" lines to w (stderr in the
// demo and tests), serialised so lines never interleave.
func Writer(w io.Writer, min slog.Leveler) *slog.Logger {
	var mu sync.Mutex
	return New(func(lvl int, line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s\n", levelName(lvl), line)
	}, min)
}

// Stderr is Writer(os.Stderr, min).
func Stderr(min slog.Leveler) *slog.Logger { return Writer(os.Stderr, min) }

func levelName(l int) string {
	switch l {
	case FSError:
		return "ERR"
	case FSWarning:
		return "WARNING"
	case FSInfo:
		return "INFO"
	}
	return "DEBUG"
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min.Level() }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	h.sink(FSLevel(r.Level), b.String())
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range as {
		appendAttr(&b, h.group, a)
	}
	c := *h
	c.prefix = b.String()
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s := a.Value.String()
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		fmt.Fprintf(b, "%q", s)
	} else {
		b.WriteString(s)
	}
}
