package pg

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the channel the 0003 migration's trigger notifies on
// every change to ext_group or ext_group_map.
const NotifyChannel = "nwayacd_config"

// Watch LISTENs on NotifyChannel on a connection of its own and calls fn
// (from Watch's goroutine) whenever another writer — FSGUI, another node —
// changes ext_group or ext_group_map; this Store's own writes are skipped.
// fn is also called after every (re)connect, since changes made while not
// listening were missed: reload from Load then. Lost connections are
// re-established with backoff. Watch returns ctx.Err() when ctx ends.
func (s *Store) Watch(ctx context.Context, fn func()) error {
	backoff := 100 * time.Millisecond
	for {
		if s.listen(ctx, fn) {
			backoff = 100 * time.Millisecond // was listening: retry soon
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

// listen serves one connection until it fails; it reports whether LISTEN
// was established.
func (s *Store) listen(ctx context.Context, fn func()) bool {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(c)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false
	}
	fn()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		// Payload: "<table> <op> <origin>".
		if i := strings.LastIndexByte(n.Payload, ' '); i >= 0 && n.Payload[i+1:] == s.origin {
			continue
		}
		fn()
	}
}
